"""Real-browser fixtures: one headless Chromium per test run, a live app per test on a free loopback port."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright
from werkzeug.serving import BaseWSGIServer, make_server

from tests import factories
from webapp import create_app
from webapp.extensions import db

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM} (make test installs it)")
    pw = sync_playwright().start()
    yield pw
    pw.stop()


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """One headless Chromium shared by every browser test of the run."""
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
    yield browser
    browser.close()


@dataclass
class LiveServer:
    """The app served over real HTTP on 127.0.0.1, with the data it was given."""

    app: Flask
    url: str
    org: Any
    user: Any
    api_key: str

    def sign_in(self, context: BrowserContext) -> None:
        """Sign the browser in as `user` in `org` with a signed cookie session (as after OIDC login)."""
        value = self.app.session_interface.get_signing_serializer(self.app).dumps(  # type: ignore[attr-defined]
            {"user_id": self.user.id, "org_id": self.org.id}
        )
        name = self.app.config.get("SESSION_COOKIE_NAME", "session")
        context.add_cookies([{"name": name, "value": value, "url": self.url}])


@pytest.fixture
def live(database_uri: str, tmp_path: Path) -> Iterator[LiveServer]:
    """Serve a fresh app (file database) from a thread; the test's own data goes through its context."""
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "e2e-secret",
            "SQLALCHEMY_DATABASE_URI": database_uri,
            "SERVER_NAME": None,
            "RUNNER_QUEUE": "memory",
            "RATELIMIT_ENABLED": False,
        }
    )
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-server", daemon=True)
    thread.start()
    with app.app_context():
        org = factories.make_org("Acme")
        user = factories.make_user("ada@example.com", (org,), role="admin")
        key = factories.make_api_key(org)
        yield LiveServer(app, f"http://127.0.0.1:{server.server_port}", org, user, key)
        db.session.remove()
        server.shutdown()
        server.server_close()
        thread.join(5)
        db.engine.dispose()


# Form answers that carry errors on purpose (422 bad input, 409 conflict) are logged by Chromium too.
EXPECTED = ("(UNPROCESSABLE ENTITY)", "(CONFLICT)")


def _unexpected(kind: str, text: str) -> bool:
    return kind == "error" and not (text.startswith("Failed to load resource") and text.endswith(EXPECTED))


@pytest.fixture
def page(browser: Browser, live: LiveServer, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A signed-in page; a screenshot of it is saved under tests/artifacts/ whatever the outcome."""
    context = browser.new_context(viewport={"width": 1360, "height": 900}, locale="en-GB")
    live.sign_in(context)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.on("console", lambda msg: errors.append(msg.text) if _unexpected(msg.type, msg.text) else None)
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    if not page.is_closed():
        page.evaluate("window.scrollTo(0, 0)")  # the sticky header belongs at the top of a full-page shot
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()
    assert errors == [], errors  # no script errors, no CSP violations, no failed loads
