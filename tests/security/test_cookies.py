"""The session cookie: HttpOnly, SameSite=Lax; Secure and __Host- prefixed over https; it expires."""

from __future__ import annotations

import time
from typing import Any

from flask import Flask
from werkzeug.http import parse_cookie

from tests.browser import signed_in
from tests.security.conftest import World
from webapp import create_app


def set_cookie(answer: Any) -> tuple[str, dict[str, str]]:
    header = answer.headers["Set-Cookie"]
    name = header.split("=", 1)[0]
    attributes = {}
    for part in header.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        attributes[key.lower()] = value
    return name, attributes


def test_the_session_cookie_is_httponly_and_samesite_lax(app: Flask) -> None:
    name, attributes = set_cookie(app.test_client().get("/auth/login"))

    assert name == "session"
    assert "httponly" in attributes
    assert attributes["samesite"] == "Lax"
    assert attributes["path"] == "/"


def test_over_https_the_cookie_is_secure_and_host_prefixed(database_uri: str) -> None:
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "k", "SQLALCHEMY_DATABASE_URI": database_uri, "SECURE_COOKIES": "1"}
    )

    name, attributes = set_cookie(app.test_client().get("/auth/login", base_url="https://localhost"))

    assert name == "__Host-session"
    assert {"secure", "httponly"} <= set(attributes)
    assert attributes["path"] == "/" and "domain" not in attributes
    assert attributes["samesite"] == "Lax"


def test_a_session_older_than_the_absolute_limit_is_dropped(app: Flask, world: World) -> None:
    browser = signed_in(app, world.admin, world.org)
    assert browser.get("/ui/settings/tokens").status_code == 200
    with browser.session_transaction() as sess:
        sess["login_at"] = int(time.time()) - app.config["SESSION_MAX_HOURS"] * 3600 - 1

    answer = browser.get("/ui/settings/tokens")

    assert answer.status_code == 302 and answer.headers["Location"].startswith("/auth/login")
    assert "user_id" not in parse_cookie(answer.headers.get("Set-Cookie", ""))


def test_an_idle_session_cookie_stops_being_accepted(app: Flask, world: World) -> None:
    app.config["SESSION_IDLE_MINUTES"] = 0
    from webapp import security

    security._configure_cookies(app)  # PERMANENT_SESSION_LIFETIME = 0: any permanent cookie is stale
    browser = signed_in(app, world.admin, world.org)
    with browser.session_transaction() as sess:
        sess.permanent = True
    time.sleep(1.1)

    assert browser.get("/ui/settings/tokens").headers["Location"].startswith("/auth/login")
