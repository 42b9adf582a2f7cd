"""Settings: the organisation's API keys, the user's personal access tokens, and members."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("settings", __name__, url_prefix="/ui/settings")

from webapp.settings import pages  # noqa: E402,F401
