"""The API keys page: admins create a key (shown once, hash stored), everyone lists, admins revoke."""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests import factories
from tests.browser import HX, new_secret
from tests.conftest import ApiClient
from webapp.extensions import db
from webapp.models import ApiKey

PAGE = "/ui/settings/api-keys"


def keys() -> list[ApiKey]:
    db.session.expire_all()
    return list(db.session.execute(select(ApiKey).order_by(ApiKey.created_at)).scalars())


def test_an_admin_creates_a_key_that_is_shown_once_and_works_on_the_api(
    app: Flask, browser_client: FlaskClient, org: Any, member: Any
) -> None:
    answer = browser_client.post(PAGE, data={"name": "CI pipeline"})
    assert answer.status_code == 303 and answer.headers["Location"] == PAGE

    page = browser_client.get(PAGE)
    secret = new_secret(page.get_data(as_text=True))
    assert secret is not None and secret.startswith("lfk_") and len(secret) >= 36
    assert page.headers["Cache-Control"] == "no-store"
    assert new_secret(browser_client.get(PAGE).get_data(as_text=True)) is None  # once only

    (key,) = keys()
    assert (key.name, key.org_id, key.created_by_id) == ("CI pipeline", org.id, member.id)
    assert key.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert (key.prefix, key.last4) == (secret[:8], secret[-4:])
    assert secret not in [str(getattr(key, c.key)) for c in ApiKey.__table__.columns]
    assert ApiClient(app.test_client(), secret, org).get("/live_flows/").status_code == 200


def test_with_htmx_the_panel_comes_back_with_the_new_key_and_no_page_around_it(
    browser_client: FlaskClient,
) -> None:
    answer = browser_client.post(PAGE, data={"name": "script"}, headers=HX)

    html = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert "<html" not in html and 'id="settings-panel"' in html
    assert new_secret(html) is not None
    assert "data-copy=" in html  # the copy button
    assert "HX-Request" in answer.headers["Vary"]
    assert answer.headers["Cache-Control"] == "no-store"


def test_the_list_shows_name_prefix_last4_creator_and_use(
    app: Flask, browser_client: FlaskClient, org: Any
) -> None:
    browser_client.post(PAGE, data={"name": "used one"})
    secret = new_secret(browser_client.get(PAGE).get_data(as_text=True))
    assert secret is not None
    ApiClient(app.test_client(), secret, org).get("/live_flows/")

    html = browser_client.get(PAGE).get_data(as_text=True)

    assert "used one" in html
    assert f"{secret[:8]}…{secret[-4:]}" in html
    assert secret not in html
    assert "Ada" in html  # created by
    assert "Never" not in html.split("used one")[1].split("</tr>")[0]  # last used is set


def test_a_key_without_a_name_is_refused_and_nothing_is_created(browser_client: FlaskClient) -> None:
    answer = browser_client.post(PAGE, data={"name": "   "}, headers=HX)

    assert answer.status_code == 422
    assert "Give the key a name" in answer.get_data(as_text=True)
    assert keys() == []


def test_revoking_a_key_makes_the_api_answer_401(app: Flask, browser_client: FlaskClient, org: Any) -> None:
    secret = factories.make_api_key(org, "doomed")
    api = ApiClient(app.test_client(), secret, org)
    assert api.get("/live_flows/").status_code == 200
    (key,) = keys()

    answer = browser_client.post(f"{PAGE}/{key.id}/revoke", headers=HX)

    assert answer.status_code == 200 and "Revoked" in answer.get_data(as_text=True)
    assert keys()[0].revoked_at is not None
    refused = api.get("/live_flows/")
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"] == "Bearer"


def test_a_member_sees_the_keys_but_cannot_create_or_revoke(
    app: Flask, member_client: FlaskClient, org: Any
) -> None:
    factories.make_api_key(org, "shared")
    (key,) = keys()

    page = member_client.get(PAGE).get_data(as_text=True)
    assert "shared" in page and "Create key" not in page and "Revoke" not in page
    assert member_client.post(PAGE, data={"name": "mine"}).status_code == 403
    assert member_client.post(f"{PAGE}/{key.id}/revoke").status_code == 403

    assert [(k.name, k.revoked_at) for k in keys()] == [("shared", None)]


def test_a_key_of_another_organisation_cannot_be_revoked_or_seen(browser_client: FlaskClient) -> None:
    other = factories.make_org("Other")
    factories.make_api_key(other, "theirs")
    (theirs,) = keys()

    assert "theirs" not in browser_client.get(PAGE).get_data(as_text=True)
    assert browser_client.post(f"{PAGE}/{theirs.id}/revoke").status_code == 404
    assert keys()[0].revoked_at is None
    assert db.session.scalar(select(func.count()).select_from(ApiKey)) == 1
