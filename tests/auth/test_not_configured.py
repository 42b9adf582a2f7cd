"""With no OpenID provider configured the app still serves the API, and the sign-in page says so."""

from __future__ import annotations

from typing import Any

from flask import Flask

from tests.auth.flow import csrf_token
from tests.conftest import ApiClient


def test_the_sign_in_page_says_sign_in_is_not_configured(app: Flask) -> None:
    assert not app.config.get("OIDC_ISSUER")
    page = app.test_client().get("/auth/login")

    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Sign-in is not configured" in html and "FLASK_OIDC_ISSUER" in html
    assert "Continue with" not in html


def test_starting_a_sign_in_or_a_callback_is_not_found(app: Flask) -> None:
    client = app.test_client()

    assert client.post("/auth/login", data={"csrf_token": csrf_token(client)}).status_code == 404
    assert client.get("/auth/callback?code=x&state=y").status_code == 404


def test_the_api_works_with_keys_all_the_same(api: ApiClient, org: Any) -> None:
    assert api.get("/live_flows/").status_code == 200
    assert api.post("/flows/", json={"name": "still works"}).status_code == 201
