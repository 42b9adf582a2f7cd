"""The personal access tokens page: create with an expiry (shown once), list, revoke."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests import factories
from tests.browser import HX, new_secret
from tests.conftest import ApiClient
from webapp.extensions import db
from webapp.models import PersonalAccessToken
from webapp.models.types import utcnow

PAGE = "/ui/settings/tokens"


def tokens() -> list[PersonalAccessToken]:
    db.session.expire_all()
    return list(db.session.execute(select(PersonalAccessToken)).scalars())


def bearer(app: Flask, secret: str, org: Any) -> ApiClient:
    api = ApiClient(app.test_client(), None, org)
    api.client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    return api


def test_a_token_is_created_with_its_expiry_shown_once_and_acts_as_the_user(
    app: Flask, browser_client: FlaskClient, member: Any, org: Any
) -> None:
    answer = browser_client.post(PAGE, data={"name": "laptop", "days": "7"})
    assert answer.status_code == 303

    secret = new_secret(browser_client.get(PAGE).get_data(as_text=True))
    assert secret is not None and secret.startswith("lfp_")
    assert new_secret(browser_client.get(PAGE).get_data(as_text=True)) is None

    (token,) = tokens()
    assert (token.name, token.user_id) == ("laptop", member.id)
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert abs(token.expires_at - (utcnow() + timedelta(days=7))) < timedelta(minutes=1)
    assert bearer(app, secret, org).get("/live_flows/").status_code == 200


def test_only_the_offered_lifetimes_are_accepted(browser_client: FlaskClient) -> None:
    for days in ("0", "100000", "", "seven"):
        answer = browser_client.post(PAGE, data={"name": "forever", "days": days}, headers=HX)
        assert answer.status_code == 422
        assert "offered lifetimes" in answer.get_data(as_text=True)
    assert tokens() == []


def test_revoking_a_token_makes_the_api_answer_401(app: Flask, browser_client: FlaskClient, org: Any) -> None:
    browser_client.post(PAGE, data={"name": "ci", "days": "30"})
    secret = new_secret(browser_client.get(PAGE).get_data(as_text=True))
    assert secret is not None
    (token,) = tokens()

    answer = browser_client.post(f"{PAGE}/{token.id}/revoke", headers=HX)

    assert answer.status_code == 200 and "Revoked" in answer.get_data(as_text=True)
    assert bearer(app, secret, org).get("/live_flows/").status_code == 401


def test_the_list_shows_only_the_users_own_tokens_and_marks_expired_ones(
    browser_client: FlaskClient, member: Any, org: Any
) -> None:
    someone = factories.make_user("eve@example.com", (org,))
    factories.make_token(someone)
    factories.make_token(member, expires_in=timedelta(seconds=-1))
    (theirs,) = [t for t in tokens() if t.user_id == someone.id]

    html = browser_client.get(PAGE).get_data(as_text=True)

    assert html.count('<tr id="token-') == 1
    assert "Expired" in html
    assert browser_client.post(f"{PAGE}/{theirs.id}/revoke").status_code == 404
    assert [t.revoked_at for t in tokens() if t.user_id == someone.id] == [None]
