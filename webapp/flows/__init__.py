"""Flows: the live flow list, versions and diagrams, as pages and as JSON."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("flows", __name__)

from webapp.flows import api, pages  # noqa: E402,F401
