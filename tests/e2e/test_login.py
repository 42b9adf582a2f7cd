"""In Chromium: sign in through the development provider's form, land on the flow list, create an API key
in the settings page and use it over HTTP, then sign out through the provider."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from playwright.sync_api import Browser, Page, expect
from werkzeug.serving import make_server

from tests import factories
from tests.auth.idp import CLIENT_ID, CLIENT_SECRET, Provider, running_provider, s256
from tests.e2e.conftest import ARTIFACTS
from webapp import create_app
from webapp.cli import add_member
from webapp.extensions import db


@dataclass
class Site:
    app: Flask
    url: str
    idp: Provider
    org: Any


@pytest.fixture
def site(database_uri: str, tmp_path: Path) -> Iterator[Site]:
    """The app over real HTTP on 127.0.0.1, signing in with a real provider on localhost (its own cookies)."""
    with running_provider() as idp:
        issuer = f"http://localhost:{idp.server.server_port}"
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "e2e-login-secret",
                "SQLALCHEMY_DATABASE_URI": database_uri,
                "RUNNER_QUEUE": "memory",
                "OIDC_ISSUER": issuer,
                "OIDC_CLIENT_ID": CLIENT_ID,
                "OIDC_CLIENT_SECRET": CLIENT_SECRET,
                "OIDC_DEV_PROVIDER": True,
            }
        )
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        with app.app_context():
            org = factories.make_org("Acme Support")
            add_member("ada@example.com", org.id, "admin")
            factories.make_flow(org, "Support triage", steps=("classify", "answer"))
            yield Site(app, f"http://127.0.0.1:{server.server_port}", idp, org)
            db.session.remove()
            server.shutdown()
            server.server_close()
            thread.join(5)
            db.engine.dispose()


@pytest.fixture
def tab(browser: Browser, site: Site, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1360, "height": 900}, locale="en-GB")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site.url)
    page = context.new_page()
    ours: list[str] = []

    def on_console(msg: Any) -> None:
        if msg.type == "error" and page.url.startswith(site.url):
            ours.append(msg.text)

    page.on("console", on_console)
    page.on("pageerror", lambda err: ours.append(str(err)))
    yield page
    context.close()
    assert ours == [], ours  # no script errors and no CSP violations on the app's pages


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"login-{name}.png"), full_page=True)


def test_sign_in_through_the_provider_create_an_api_key_and_use_it(tab: Page, site: Site) -> None:
    tab.goto(f"{site.url}/ui/flows")
    expect(tab).to_have_url(f"{site.url}/auth/login?next=/ui/flows")
    expect(tab.locator(".dev-provider")).to_contain_text("Not for production")
    shot(tab, "1-sign-in-page")

    tab.get_by_role("button", name="Continue with the development provider").click()
    expect(tab.get_by_role("heading", name="Authorize Client")).to_be_visible()
    tab.locator('input[name="sub"]').fill("ada@example.com")
    shot(tab, "2-provider-form")
    tab.get_by_role("button", name="Authorize", exact=True).click()

    expect(tab).to_have_url(f"{site.url}/ui/flows")
    expect(tab.get_by_text("Support triage")).to_be_visible()
    expect(tab.locator(".account-org")).to_have_text("Acme Support")
    shot(tab, "3-flow-list")
    authorize = site.idp.requests_to("/oauth2/authorize")[0].args
    token = site.idp.requests_to("/oauth2/token")[0].form
    assert authorize["code_challenge_method"] == "S256"
    assert s256(token["code_verifier"]) == authorize["code_challenge"]

    tab.locator(".account-summary").click()
    tab.get_by_role("link", name="API keys").click()
    expect(tab).to_have_url(f"{site.url}/ui/settings/api-keys")
    tab.get_by_label("New key’s name").fill("curl from my laptop")
    tab.get_by_role("button", name="Create key").click()
    secret_box = tab.locator("#new-secret")
    expect(secret_box).to_be_visible()
    secret = secret_box.inner_text()
    assert tab.url == f"{site.url}/ui/settings/api-keys"  # htmx swapped the panel in place
    tab.get_by_role("button", name="Copy").click()
    assert tab.evaluate("navigator.clipboard.readText()") == secret
    shot(tab, "4-api-key-created")

    answer = requests.get(f"{site.url}/live_flows/", headers={"Api-key": secret}, timeout=10)
    assert answer.status_code == 200
    assert [flow["name"] for flow in answer.json()] == ["Support triage"]

    tab.reload()
    expect(tab.locator("#new-secret")).to_have_count(0)  # shown once
    expect(tab.get_by_role("cell", name="curl from my laptop", exact=True)).to_be_visible()
    shot(tab, "5-api-keys")

    tab.goto(f"{site.url}/ui/settings/tokens")
    tab.get_by_label("New token’s name").fill("scripts")
    tab.get_by_label("Expires after").select_option("90")
    tab.get_by_role("button", name="Create token").click()
    expect(tab.locator("#new-secret")).to_be_visible()
    shot(tab, "6-tokens")

    tab.goto(f"{site.url}/ui/settings/members")
    tab.get_by_label("Email address").fill("grace@example.com")
    tab.get_by_role("button", name="Add member").click()
    expect(tab.get_by_role("cell", name="grace@example.com", exact=True)).to_be_visible()
    shot(tab, "7-members")

    tab.locator(".account-summary").click()
    shot(tab, "8-account-menu")
    tab.get_by_role("button", name="Sign out").click()
    expect(tab.get_by_role("heading", name="End Session")).to_be_visible()
    tab.get_by_role("button", name="End session").click()
    expect(tab).to_have_url(re.compile(re.escape(f"{site.url}/auth/login?signed_out=1")))
    expect(tab.get_by_text("You are signed out")).to_be_visible()
    tab.goto(f"{site.url}/ui/flows")
    expect(tab).to_have_url(f"{site.url}/auth/login?next=/ui/flows")
