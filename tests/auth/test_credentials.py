"""API keys and personal access tokens: where they are sent, how they are stored, Current-Org-Id."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.api.contract import snapshot
from tests.conftest import ApiClient
from tests.factories import make_flow, make_org, make_token, make_user
from webapp.auth.credentials import API_KEY_PREFIX, TOKEN_PREFIX, digest, make_secret, matches
from webapp.extensions import db
from webapp.models import ApiKey, PersonalAccessToken
from webapp.models.types import utcnow

SECRET_RE = r"[A-Za-z0-9_-]{32,}"


@pytest.fixture
def anon(client, org):
    """A client that sends no credential unless told to."""
    return ApiClient(client, None, org)


def flow_names(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [f["name"] for f in response.get_json()]


def assert_401(response) -> None:
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert isinstance(response.get_json()["detail"], str) and response.get_json()["detail"]


# ---- the secrets themselves --------------------------------------------------------------------


@pytest.mark.parametrize("prefix", [API_KEY_PREFIX, TOKEN_PREFIX])
def test_new_secrets_have_the_contract_format_and_only_a_digest_is_kept(prefix):
    made = {make_secret(prefix).secret for _ in range(20)}

    assert len(made) == 20
    for secret in made:
        assert re.fullmatch(re.escape(prefix) + SECRET_RE, secret)
        assert digest(secret) == hashlib.sha256(secret.encode()).hexdigest()
        assert matches(secret, digest(secret))
        assert not matches(secret + "x", digest(secret))


# ---- API keys -----------------------------------------------------------------------------------


def test_an_api_key_works_in_the_api_key_header_and_as_a_bearer_token(anon, org, api_key):
    make_flow(org, "mine")

    assert flow_names(anon.get("/live_flows/", headers={"Api-key": api_key})) == ["mine"]
    assert flow_names(anon.get("/live_flows/", headers={"Authorization": f"Bearer {api_key}"})) == ["mine"]
    assert flow_names(anon.get("/live_flows/", headers={"Authorization": f"bearer {api_key}"})) == ["mine"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Api-key": ""},
        {"Api-key": "lfk_" + "a" * 43},
        {"Api-key": "not-a-key"},
        {"Authorization": "Bearer lfk_" + "b" * 43},
        {"Authorization": "Bearer lfp_" + "c" * 43},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "lfk_" + "d" * 43},
    ],
    ids=[
        "none",
        "empty",
        "unknown key",
        "garbage",
        "unknown bearer key",
        "unknown token",
        "empty bearer",
        "basic",
        "no scheme",
    ],
)
def test_a_missing_or_unknown_credential_is_401_with_www_authenticate(anon, headers):
    for method, path in (("GET", "/live_flows/"), ("POST", "/flows/"), ("GET", "/flows/")):
        assert_401(anon.open(method, path, headers=headers, json={"name": "x"}))


def test_a_revoked_api_key_is_401_and_is_not_marked_used(anon, org, api_key):
    key = db.session.execute(select(ApiKey)).scalar_one()
    key.revoked_at = utcnow()
    db.session.commit()

    assert_401(anon.get("/live_flows/", headers={"Api-key": api_key}))
    assert_401(anon.get("/live_flows/", headers={"Authorization": f"Bearer {api_key}"}))
    db.session.refresh(key)
    assert key.last_used_at is None


def test_using_an_api_key_records_last_used_at(anon, org, api_key):
    before = utcnow()

    anon.get("/flows/", headers={"Api-key": api_key})

    used = db.session.execute(select(ApiKey.last_used_at)).scalar_one()
    assert used is not None and used >= before - timedelta(seconds=1)


def test_keys_and_tokens_are_stored_only_as_hashes(app, anon, runner, org):
    key = runner.invoke(args=["api-keys", "create", "--org", org.id, "--name", "ci"]).output.strip()
    user = make_user("grace@example.com", (org,))
    token = make_token(user)
    anon.get("/flows/", headers={"Api-key": key})
    anon.get("/flows/", headers={"Authorization": f"Bearer {token}"})

    stored = repr(snapshot())
    for secret in (key, token):
        assert secret.startswith(("lfk_", "lfp_"))
        assert secret not in stored
        assert secret[8:] not in stored  # not even without the shown prefix
        assert digest(secret) in stored
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite:///"):
        db.session.commit()
        raw = b"".join(p.read_bytes() for p in Path(uri.removeprefix("sqlite:///")).parent.glob("test.db*"))
        assert key.encode() not in raw and token.encode() not in raw


# ---- personal access tokens ---------------------------------------------------------------------


@pytest.fixture
def two_orgs(org):
    """`org` (the user's default), a second org the user belongs to, and one they do not."""
    second, foreign = make_org("Second"), make_org("Foreign")
    for o, name in ((org, "acme flow"), (second, "second flow"), (foreign, "foreign flow")):
        make_flow(o, name)
    user = make_user("grace@example.com", (org, second))
    return {"user": user, "token": make_token(user), "second": second, "foreign": foreign}


def test_a_token_works_as_a_bearer_in_the_users_default_organisation(anon, two_orgs):
    response = anon.get("/live_flows/", headers={"Authorization": f"Bearer {two_orgs['token']}"})

    assert flow_names(response) == ["acme flow"]
    token = db.session.execute(select(PersonalAccessToken)).scalar_one()
    assert token.last_used_at is not None


def test_a_token_is_not_accepted_in_the_api_key_header(anon, two_orgs):
    assert_401(anon.get("/live_flows/", headers={"Api-key": two_orgs["token"]}))


def test_current_org_id_picks_one_of_the_users_organisations(anon, two_orgs):
    headers = {"Authorization": f"Bearer {two_orgs['token']}", "Current-Org-Id": two_orgs["second"].id}

    assert flow_names(anon.get("/live_flows/", headers=headers)) == ["second flow"]


def test_current_org_id_of_an_organisation_the_user_is_not_in_is_403(anon, two_orgs):
    for org_id in (two_orgs["foreign"].id, "org_u13TesTDumMyEe5P"):
        headers = {"Authorization": f"Bearer {two_orgs['token']}", "Current-Org-Id": org_id}
        response = anon.get("/live_flows/", headers=headers)
        assert response.status_code == 403
        assert isinstance(response.get_json()["detail"], str)


def test_a_user_with_no_membership_is_403(anon, org):
    token = make_token(make_user("nobody@example.com"))

    assert anon.get("/flows/", headers={"Authorization": f"Bearer {token}"}).status_code == 403


@pytest.mark.parametrize(
    ("expires_in", "revoked"),
    [(timedelta(seconds=-1), False), (timedelta(days=1), True)],
    ids=["expired", "revoked"],
)
def test_an_expired_or_revoked_token_is_401(anon, org, expires_in, revoked):
    user = make_user("grace@example.com", (org,))
    token = make_token(user, expires_in=expires_in)
    if revoked:
        db.session.execute(select(PersonalAccessToken)).scalar_one().revoked_at = utcnow()
        db.session.commit()

    assert_401(anon.get("/flows/", headers={"Authorization": f"Bearer {token}"}))


def test_a_token_without_expiry_works(anon, org):
    token = make_token(make_user("grace@example.com", (org,)), expires_in=None)

    assert anon.get("/flows/", headers={"Authorization": f"Bearer {token}"}).status_code == 200


# ---- Current-Org-Id with an API key, and malformed values ---------------------------------------


def test_an_api_key_accepts_its_own_organisation_and_refuses_another(anon, org, api_key):
    other = make_org("Other")

    own = anon.get("/flows/", headers={"Api-key": api_key, "Current-Org-Id": org.id})
    foreign = anon.get("/flows/", headers={"Api-key": api_key, "Current-Org-Id": other.id})
    unknown = anon.get("/flows/", headers={"Api-key": api_key, "Current-Org-Id": "org_u13TesTDumMyEe5P"})

    assert (own.status_code, foreign.status_code, unknown.status_code) == (200, 403, 403)


@pytest.mark.parametrize(
    "value", ["", "acme", "org_", "org_short", "org_u13TesTDumMyEe5!", "ORG_u13TesTDumMyEe5P"]
)
def test_a_malformed_current_org_id_is_400_once_the_credential_is_accepted(anon, org, api_key, value):
    token = make_token(make_user("grace@example.com", (org,)))

    for headers in ({"Api-key": api_key}, {"Authorization": f"Bearer {token}"}):
        response = anon.get("/flows/", headers={**headers, "Current-Org-Id": value})
        assert response.status_code == 400
        assert isinstance(response.get_json()["detail"], str)
    for headers in ({}, {"Api-key": "lfk_" + "x" * 43}, {"Authorization": "Bearer lfp_" + "y" * 43}):
        assert_401(anon.get("/flows/", headers={**headers, "Current-Org-Id": value}))


def test_healthz_and_openapi_need_no_credential(anon):
    assert anon.get("/healthz").status_code == 200
    assert anon.get("/openapi.json").status_code == 200
