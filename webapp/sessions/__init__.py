"""Sessions: one run of a flow version, as pages and as JSON."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("sessions", __name__)

from webapp.sessions import api, pages, runs  # noqa: E402,F401
