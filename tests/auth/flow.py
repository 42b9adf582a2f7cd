"""Helpers that drive the sign-in flow through the app's test client, as a browser would."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from flask.testing import FlaskClient

from tests.auth.idp import Provider

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
STATE_PREFIX = "_state_oidc_"


def csrf_token(client: FlaskClient, page: str = "/auth/login") -> str:
    """Return the CSRF token a page of this browser session carries."""
    html = client.get(page).get_data(as_text=True)
    found = CSRF_META.search(html)
    assert found, f"no CSRF token on {page}"
    return found.group(1)


def begin(client: FlaskClient, next_url: str | None = None) -> str:
    """Press "Continue" on the sign-in page; return the provider's authorization URL."""
    data = {"csrf_token": csrf_token(client)}
    if next_url is not None:
        data["next"] = next_url
    answer = client.post("/auth/login", data=data)
    assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
    return answer.headers["Location"]


def local(url: str) -> str:
    """Return the path and query of an absolute URL, for the test client."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def sign_in(client: FlaskClient, idp: Provider, sub: str, next_url: str | None = None) -> Any:
    """Sign in as `sub` all the way; return the callback's answer."""
    callback = idp.authorize(begin(client, next_url), sub)
    return client.get(local(callback))


def session_of(client: FlaskClient) -> dict[str, Any]:
    """Return a copy of the browser's session."""
    with client.session_transaction() as sess:
        return dict(sess)


def pending_states(client: FlaskClient) -> dict[str, Any]:
    """Return the unfinished sign-in states held in the browser's session."""
    return {k: v for k, v in session_of(client).items() if k.startswith(STATE_PREFIX)}


def cookie_value(client: FlaskClient) -> str | None:
    """Return the raw session cookie, or None."""
    cookie = client.get_cookie("session") or client.get_cookie("__Host-session")
    return cookie.value if cookie else None
