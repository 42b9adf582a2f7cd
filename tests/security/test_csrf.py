"""CSRF: every state-changing browser request needs the session's token; refusals change nothing."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.browser import HX, signed_in
from tests.conftest import ApiClient
from tests.security.conftest import World, snapshot

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"OIDC_ISSUER": "http://127.0.0.1:9", "OIDC_CLIENT_ID": "live-flows"}


def browser_routes(app: Flask, ids: dict[str, str]) -> list[tuple[str, str]]:
    """Return (method, url) for every state-changing page route."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(("/ui", "/auth")):
            url = rule.build(ids, append_unknown=False)[1]  # type: ignore[index]
            found += [(method, url) for method in sorted((rule.methods or set()) & UNSAFE)]
    return found


def test_every_state_changing_page_route_refuses_a_request_without_the_token(
    app: Flask, world: World
) -> None:
    routes = browser_routes(app, world.ids)
    assert len(routes) >= 12
    before = snapshot()
    browser = signed_in(app, world.admin, world.org, csrf=False)
    form = {"name": "x", "days": "30", "email": "x@example.com", "role": "member", "org_id": world.org.id}

    for method, url in routes:
        for headers in ({}, HX):
            answer = browser.open(url, method=method, data=form, headers=headers)
            assert answer.status_code == 400, (method, url, answer.status_code)
            assert "CSRF" in answer.get_data(as_text=True)

    assert snapshot() == before
    assert browser.get("/ui/settings/api-keys").status_code == 200  # still signed in: logout was refused too


def test_a_token_from_another_browser_session_is_refused(app: Flask, world: World) -> None:
    victim = signed_in(app, world.admin, world.org, csrf=False)
    attacker = signed_in(app, world.admin, world.org)  # its own session, its own valid token
    victim.environ_base["HTTP_X_CSRFTOKEN"] = attacker.environ_base["HTTP_X_CSRFTOKEN"]
    before = snapshot()

    answer = victim.post("/ui/settings/api-keys", data={"name": "planted"}, headers=HX)

    assert answer.status_code == 400
    assert snapshot() == before


def test_the_token_in_the_htmx_header_or_the_form_field_is_accepted(app: Flask, world: World) -> None:
    browser = signed_in(app, world.admin, world.org)
    assert browser.post("/ui/settings/api-keys", data={"name": "by header"}, headers=HX).status_code == 200

    token = browser.environ_base.pop("HTTP_X_CSRFTOKEN")
    answer = browser.post("/ui/settings/api-keys", data={"name": "by field", "csrf_token": token})
    assert answer.status_code == 303


def test_the_json_api_with_a_cookie_session_needs_the_token_too(app: Flask, world: World) -> None:
    before = snapshot()
    browser = signed_in(app, world.admin, world.org, csrf=False)

    refused = browser.post("/flows/", json={"name": "via cookie"})

    assert refused.status_code == 400
    assert refused.is_json and "CSRF" in refused.get_json()["detail"]
    assert snapshot() == before
    assert (
        signed_in(app, world.admin, world.org).post("/flows/", json={"name": "via cookie"}).status_code == 201
    )


def test_the_json_api_with_an_api_key_or_bearer_header_needs_no_token(app: Flask, world: World) -> None:
    api = ApiClient(app.test_client(), world.api_key, world.org)
    assert api.post("/flows/", json={"name": "by key"}).status_code == 201

    bearer = app.test_client()
    answer = bearer.post(
        "/flows/", json={"name": "by token"}, headers={"Authorization": f"Bearer {world.token}"}
    )
    assert answer.status_code == 201


def test_an_api_call_with_no_credential_at_all_is_still_a_401(app: Flask) -> None:
    answer = app.test_client().post("/flows/", json={"name": "anonymous"})

    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == "Bearer"
