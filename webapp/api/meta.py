"""Endpoints that need no credential: /healthz and /openapi.json."""

from __future__ import annotations

from flask import Blueprint, Response
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from webapp.api.openapi import document
from webapp.api.responses import json_response
from webapp.extensions import db

bp = Blueprint("meta", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """Answer 200 when the app and its database answer, else 503."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        return json_response({"detail": "database unavailable"}, 503, {"Retry-After": "5"})
    return json_response({"status": "ok"})


@bp.get("/openapi.json")
def openapi() -> Response:
    """Return the OpenAPI 3.1 description of the API."""
    return json_response(document())
