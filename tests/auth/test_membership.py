"""Who may enter: members see their organisations only, the switcher picks one, others get a clear page."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import delete

from tests import factories
from tests.auth.flow import session_of
from tests.browser import HX, signed_in
from webapp.extensions import db
from webapp.models import Membership, User


def test_the_account_menu_lists_exactly_the_users_organisations(app: Flask, org: Any) -> None:
    other = factories.make_org("Globex")
    factories.make_org("Initech")
    ada = factories.make_user("ada@example.com", (org, other), role="admin")

    html = signed_in(app, ada, org).get("/ui/settings/members").get_data(as_text=True)

    assert 'value="' + org.id + '"' in html and 'value="' + other.id + '"' in html
    assert "Initech" not in html


def test_switching_organisation_scopes_pages_and_the_cookie_api_alike(app: Flask, org: Any) -> None:
    other = factories.make_org("Globex")
    ada = factories.make_user("ada@example.com", (org, other), role="admin")
    factories.make_flow(org, "Acme flow")
    factories.make_flow(other, "Globex flow")
    browser = signed_in(app, ada, org)
    assert [f["name"] for f in browser.get("/live_flows/").get_json()] == ["Acme flow"]

    answer = browser.post("/auth/org", data={"org_id": other.id, "next": "/ui/settings/members"})

    assert answer.status_code == 302 and answer.headers["Location"] == "/ui/settings/members"
    assert session_of(browser)["org_id"] == other.id
    assert "Globex · you are" in browser.get("/ui/settings/members").get_data(as_text=True)
    assert [f["name"] for f in browser.get("/live_flows/").get_json()] == ["Globex flow"]


def test_switching_to_an_organisation_one_is_not_a_member_of_is_refused(app: Flask, org: Any) -> None:
    foreign = factories.make_org("Foreign")
    ada = factories.make_user("ada@example.com", (org,), role="admin")
    browser = signed_in(app, ada, org)

    answer = browser.post("/auth/org", data={"org_id": foreign.id})

    assert answer.status_code == 403
    assert session_of(browser)["org_id"] == org.id


def test_the_switcher_only_returns_to_pages_that_exist_in_every_organisation(app: Flask, org: Any) -> None:
    ada = factories.make_user("ada@example.com", (org,), role="admin")
    flow = factories.make_flow(org)
    browser = signed_in(app, ada, org)

    for next_url in [f"/ui/flows/{flow.id}", "//evil.example", "https://evil.example/"]:
        answer = browser.post("/auth/org", data={"org_id": org.id, "next": next_url})
        assert answer.headers["Location"] == "/ui/flows"


def test_a_signed_in_user_without_membership_sees_a_clear_page_and_nothing_else(app: Flask, org: Any) -> None:
    factories.make_flow(org, "Secret flow")
    loner = factories.make_user("loner@example.com")
    browser = signed_in(app, loner)

    for page in ["/ui/flows", "/ui/settings/api-keys", "/ui/settings/members"]:
        assert browser.get(page).headers["Location"] == "/auth/no-membership"
    answer = browser.get("/auth/no-membership")
    html = answer.get_data(as_text=True)

    assert answer.status_code == 403
    assert "not in any organisation" in html and "loner@example.com" in html
    assert "Secret flow" not in html and "Acme" not in html
    assert browser.get("/live_flows/").status_code == 403


def test_a_member_who_is_removed_is_shown_the_no_membership_page_at_the_next_request(
    app: Flask, org: Any
) -> None:
    bob = factories.make_user("bob@example.com", (org,))
    browser = signed_in(app, bob, org)
    assert browser.get("/ui/settings/members").status_code == 200

    db.session.query(Membership).filter_by(user_id=bob.id).delete()
    db.session.commit()

    assert browser.get("/ui/settings/members").headers["Location"] == "/auth/no-membership"


def test_an_htmx_request_without_a_session_asks_htmx_to_navigate_to_sign_in(app: Flask) -> None:
    answer = app.test_client().get(
        "/ui/settings/tokens", headers={**HX, "HX-Current-URL": "http://localhost/ui/settings/tokens"}
    )

    assert answer.status_code == 401
    assert answer.headers["HX-Redirect"] == "/auth/login?next=/ui/settings/tokens"
    assert answer.get_data() == b""


def test_a_session_whose_user_was_deleted_is_cleared(app: Flask, org: Any) -> None:
    ghost = factories.make_user("ghost@example.com", (org,))
    browser = signed_in(app, ghost, org)
    db.session.execute(delete(User).where(User.id == ghost.id))
    db.session.commit()

    answer = browser.get("/ui/settings/tokens")

    assert answer.headers["Location"].startswith("/auth/login")
    assert "user_id" not in session_of(browser)
