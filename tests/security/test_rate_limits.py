"""Rate limits: the API and sign-in answer 429 with Retry-After past their limit (memory, or Redis)."""

from __future__ import annotations

import os
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests import factories
from tests.auth.flow import csrf_token
from tests.browser import signed_in
from tests.conftest import ApiClient
from tests.security.conftest import World

TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL")


@pytest.fixture(params=["memory", "redis"])
def app_config(request: pytest.FixtureRequest) -> dict[str, Any]:
    config = {
        "RATELIMIT_API": "3 per minute",
        "RATELIMIT_LOGIN": "2 per minute",
        "OIDC_ISSUER": "http://127.0.0.1:9",
        "OIDC_CLIENT_ID": "live-flows",
    }
    if request.param == "redis":
        if not TEST_REDIS_URL:
            pytest.skip("TEST_REDIS_URL is not set")
        config["RATELIMIT_STORAGE_URI"] = TEST_REDIS_URL
        config["RATELIMIT_SWALLOW_ERRORS"] = False  # a broken Redis must fail the test, not pass it
    return config


def test_the_api_answers_429_json_with_retry_after_past_the_limit(app: Flask, world: World) -> None:
    api = ApiClient(app.test_client(), world.api_key, world.org)
    assert [api.get("/live_flows/").status_code for _ in range(3)] == [200, 200, 200]

    answer = api.get("/flows/")

    assert answer.status_code == 429
    assert answer.is_json and "Too many requests" in answer.get_json()["detail"]
    assert 1 <= int(answer.headers["Retry-After"]) <= 61


def test_each_credential_has_its_own_budget(app: Flask, world: World) -> None:
    first = ApiClient(app.test_client(), world.api_key, world.org)
    second = ApiClient(app.test_client(), factories.make_api_key(world.org, "second"), world.org)
    for _ in range(3):
        first.get("/live_flows/")

    assert first.get("/live_flows/").status_code == 429
    assert second.get("/live_flows/").status_code == 200


def test_pages_share_the_signed_in_users_budget(app: Flask, world: World) -> None:
    browser = signed_in(app, world.admin, world.org)
    statuses = [browser.get("/ui/settings/tokens").status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]


def test_sign_in_attempts_are_limited_per_address(app: Flask) -> None:
    app.config["RATELIMIT_API"] = "100 per minute"  # only the sign-in limit is in play here
    client = app.test_client()
    token = csrf_token(client)

    def attempt(browser: FlaskClient, address: str) -> Any:
        return browser.post("/auth/login", data={"csrf_token": token}, environ_base={"REMOTE_ADDR": address})

    # The provider here is unreachable (502), but every attempt counts.
    statuses = [attempt(client, "10.0.0.1").status_code for _ in range(3)]

    assert statuses == [502, 502, 429]
    assert attempt(client, "10.0.0.2").status_code == 502
    page = attempt(client, "10.0.0.1")
    assert "Too many sign-in attempts" in page.get_data(as_text=True)
    assert int(page.headers["Retry-After"]) >= 1


def test_health_checks_are_not_limited(app: Flask) -> None:
    client = app.test_client()

    assert {client.get("/healthz").status_code for _ in range(6)} == {200}
