"""Security headers: a strict CSP on every HTML response, nosniff, a Referrer-Policy, HSTS in production."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from flask import Flask

from tests.browser import HX, signed_in
from tests.security.conftest import World

REQUIRED_CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
}


def directives(csp: str) -> dict[str, str]:
    return {part.split()[0]: " ".join(part.split()[1:]) for part in csp.split(";") if part.strip()}


def assert_strict_csp(csp: str | None) -> None:
    assert csp is not None
    found = directives(csp)
    for name, value in REQUIRED_CSP.items():
        assert found.get(name) == value, (name, csp)
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert found["form-action"].startswith("'self'")


def html_pages(app: Flask, world: World) -> list[str]:
    pages = []
    for rule in app.url_map.iter_rules():
        if "GET" in (rule.methods or set()) and rule.rule.startswith(("/ui", "/auth")):
            pages.append(rule.build(world.ids, append_unknown=False)[1])  # type: ignore[index]
    return [*pages, "/ui/no-such-page", "/ui/flows/00000000-0000-4000-8000-000000000000"]


def test_every_html_response_carries_the_strict_csp_and_the_other_headers(app: Flask, world: World) -> None:
    browser = signed_in(app, world.admin, world.org)
    seen_html = 0
    for url in html_pages(app, world):
        for client, headers in [(app.test_client(), {}), (browser, {}), (browser, HX)]:
            answer = client.get(url, headers=headers)
            answer.get_data()  # finish streamed answers before the next request
            assert_strict_csp(answer.headers.get("Content-Security-Policy"))
            assert answer.headers["X-Content-Type-Options"] == "nosniff"
            assert answer.headers["Referrer-Policy"] == "same-origin"
            assert answer.headers["X-Frame-Options"] == "DENY"
            assert "Strict-Transport-Security" not in answer.headers  # plain http in development
            seen_html += answer.mimetype == "text/html"
    assert seen_html >= 40


def test_pages_use_no_inline_script_style_or_event_handler(app: Flask, world: World) -> None:
    browser = signed_in(app, world.admin, world.org)
    for url in ["/auth/login", "/ui/settings/api-keys", "/ui/settings/tokens", "/ui/settings/members"]:
        html = (browser if url.startswith("/ui") else app.test_client()).get(url).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), url
        assert not re.search(r"<style[\s>]", html) and " style=" not in html, url
        assert not re.search(r"\son[a-z]+=", html) and "hx-on" not in html, url


def test_the_json_api_gets_the_headers_too(app: Flask) -> None:
    answer = app.test_client().get("/healthz")

    assert_strict_csp(answer.headers.get("Content-Security-Policy"))
    assert answer.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("config", [{"SECURE_COOKIES": True}, {"PREFERRED_URL_SCHEME": "https"}])
def test_hsts_is_sent_when_served_over_https(
    database_uri: str, tmp_path: Any, config: dict[str, Any]
) -> None:
    from webapp import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "k", "SQLALCHEMY_DATABASE_URI": database_uri, **config})

    answer = app.test_client().get("/auth/login", base_url="https://localhost")

    assert answer.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_the_sign_in_provider_is_the_only_other_form_target(app: Flask) -> None:
    app.config.update(OIDC_ISSUER="https://login.example.com/tenant", OIDC_CLIENT_ID="c")
    from webapp.auth import oidc

    oidc.init_app(app)

    csp = directives(app.test_client().get("/auth/login").headers["Content-Security-Policy"])

    assert csp["form-action"] == "'self' https://login.example.com"


def test_every_full_page_configures_htmx_for_the_strict_csp(app: Flask, world: World) -> None:
    browser = signed_in(app, world.admin, world.org)
    for url in ["/auth/login", "/ui/flows", "/ui/settings/api-keys", "/ui/no-such-page"]:
        html = (browser if url.startswith("/ui") else app.test_client()).get(url).get_data(as_text=True)
        meta = re.search(r"<meta name=\"htmx-config\" content='([^']+)'>", html)
        assert meta, url
        config = json.loads(meta.group(1))
        assert (config["includeIndicatorStyles"], config["allowEval"], config["selfRequestsOnly"]) == (
            False,
            False,
            True,
        )
        assert re.search(r"<body[^>]* hx-headers='\{\"X-CSRFToken\": \"[^\"]+\"\}'", html), url
