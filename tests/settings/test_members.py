"""The members page: admins add people by email, change roles and remove them; one admin always stays."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests import factories
from tests.browser import HX, signed_in
from webapp.extensions import db
from webapp.models import Membership, User

PAGE = "/ui/settings/members"


def roles(org: Any) -> dict[str, str]:
    db.session.expire_all()
    rows = db.session.execute(
        select(User.email, Membership.role).join(Membership).where(Membership.org_id == org.id)
    ).all()
    return dict(rows)  # type: ignore[arg-type]


def membership_id(org: Any, email: str) -> int:
    return db.session.execute(
        select(Membership.id).join(User).where(Membership.org_id == org.id, User.email == email)
    ).scalar_one()


def test_an_admin_adds_someone_by_email_who_gets_in_at_first_sign_in(
    browser_client: FlaskClient, org: Any
) -> None:
    answer = browser_client.post(PAGE, data={"email": " Grace@Example.com ", "role": "member"}, headers=HX)

    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert "grace@example.com" in html and "Invited" in html
    assert roles(org)["grace@example.com"] == "member"
    invited = db.session.execute(select(User).where(User.email == "grace@example.com")).scalar_one()
    assert (invited.issuer, invited.sub) == (None, None)


def test_adding_an_existing_user_links_that_user(browser_client: FlaskClient, org: Any) -> None:
    other = factories.make_org("Other")
    grace = factories.make_user("grace@example.com", (other,))

    browser_client.post(PAGE, data={"email": "grace@example.com", "role": "admin"})

    assert roles(org)["grace@example.com"] == "admin"
    assert membership_id(org, "grace@example.com") in {
        m.id for m in db.session.get(User, grace.id).memberships
    }


def test_a_bad_email_is_refused_and_nothing_changes(browser_client: FlaskClient, org: Any) -> None:
    before = roles(org)

    answer = browser_client.post(PAGE, data={"email": "not an email", "role": "member"})

    assert answer.status_code == 422
    assert "Enter an email address" in answer.get_data(as_text=True)
    assert roles(org) == before


def test_an_admin_changes_a_role_and_removes_a_member(browser_client: FlaskClient, org: Any) -> None:
    factories.make_user("bob@example.com", (org,), role="member")
    bob = membership_id(org, "bob@example.com")

    browser_client.post(f"{PAGE}/{bob}/role", data={"role": "admin"}, headers=HX)
    assert roles(org)["bob@example.com"] == "admin"

    answer = browser_client.post(f"{PAGE}/{bob}/remove", headers=HX)
    assert answer.status_code == 200
    assert "bob@example.com" not in roles(org)


def test_the_last_admin_can_be_neither_demoted_nor_removed(browser_client: FlaskClient, org: Any) -> None:
    factories.make_user("bob@example.com", (org,), role="member")
    ada = membership_id(org, "ada@example.com")

    demote = browser_client.post(f"{PAGE}/{ada}/role", data={"role": "member"}, headers=HX)
    remove = browser_client.post(f"{PAGE}/{ada}/remove")

    assert demote.status_code == 409 and "last admin" in demote.get_data(as_text=True)
    assert remove.status_code == 409
    assert roles(org) == {"ada@example.com": "admin", "bob@example.com": "member"}


def test_an_admin_who_steps_down_sees_the_page_redrawn_as_a_member(
    browser_client: FlaskClient, org: Any
) -> None:
    factories.make_user("bob@example.com", (org,), role="admin")
    ada = membership_id(org, "ada@example.com")

    answer = browser_client.post(f"{PAGE}/{ada}/role", data={"role": "member"}, headers=HX)

    assert answer.headers["HX-Redirect"] == PAGE
    assert "Add member" not in browser_client.get(PAGE).get_data(as_text=True)


def test_a_member_cannot_manage_members(member_client: FlaskClient, member: Any, org: Any) -> None:
    ada = membership_id(org, "ada@example.com")
    before = roles(org)

    page = member_client.get(PAGE).get_data(as_text=True)
    assert "ada@example.com" in page and "Add member" not in page and "Remove" not in page
    assert member_client.post(PAGE, data={"email": "x@example.com", "role": "admin"}).status_code == 403
    assert member_client.post(f"{PAGE}/{ada}/role", data={"role": "member"}).status_code == 403
    assert member_client.post(f"{PAGE}/{ada}/remove").status_code == 403
    assert roles(org) == before


def test_members_of_another_organisation_are_out_of_reach(browser_client: FlaskClient, org: Any) -> None:
    other = factories.make_org("Other")
    factories.make_user("zed@example.com", (other,), role="admin")
    zed = membership_id(other, "zed@example.com")

    assert "zed@example.com" not in browser_client.get(PAGE).get_data(as_text=True)
    assert browser_client.post(f"{PAGE}/{zed}/remove").status_code == 404
    assert browser_client.post(f"{PAGE}/{zed}/role", data={"role": "member"}).status_code == 404
    assert roles(other) == {"zed@example.com": "admin"}


def test_an_admin_of_one_organisation_is_only_a_member_elsewhere(app: Flask, org: Any) -> None:
    other = factories.make_org("Other")
    ada = factories.make_user("ada2@example.com", (org,), role="admin")
    db.session.add(Membership(user_id=ada.id, org_id=other.id, role="member"))
    db.session.commit()
    browser = signed_in(app, ada, other)

    assert browser.post(PAGE, data={"email": "x@example.com", "role": "member"}).status_code == 403


def test_the_add_form_offers_the_member_role_by_default(browser_client: FlaskClient) -> None:
    html = browser_client.get(PAGE).get_data(as_text=True)
    form = html.split('id="member-role"')[1].split("</select>")[0]

    assert '<option value="member" selected>' in form
    assert '<option value="admin">' in form


def test_an_admin_who_leaves_the_organisation_is_sent_on_to_the_no_membership_page(
    browser_client: FlaskClient, org: Any
) -> None:
    factories.make_user("bob@example.com", (org,), role="admin")
    ada = membership_id(org, "ada@example.com")

    answer = browser_client.post(f"{PAGE}/{ada}/remove")

    assert answer.status_code == 303 and answer.headers["Location"] == PAGE
    assert browser_client.get(PAGE).headers["Location"] == "/auth/no-membership"
    assert roles(org) == {"bob@example.com": "admin"}
