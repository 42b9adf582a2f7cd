"""Browser-like test clients: signed in with a cookie session and carrying its CSRF token like htmx does."""

from __future__ import annotations

import re
import secrets
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer

HX = {"HX-Request": "true"}


def signed_in(app: Flask, user: Any, org: Any | None = None, *, csrf: bool = True) -> FlaskClient:
    """Return a new client whose session is `user`'s (in `org`), sending X-CSRFToken unless csrf=False."""
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["user_id"] = user.id
        if org is not None:
            sess["org_id"] = org.id
        sess["csrf_token"] = raw = secrets.token_hex(20)
    if csrf:
        client.environ_base["HTTP_X_CSRFTOKEN"] = URLSafeTimedSerializer(
            app.secret_key, salt="wtf-csrf-token"
        ).dumps(raw)
    return client


def new_secret(html: str) -> str | None:
    """Return the secret a settings page shows once, or None."""
    found = re.search(r'<code id="new-secret" class="secret-value">([^<]+)</code>', html)
    return found.group(1) if found else None
