"""One error handler per kind: JSON for the API, templates/errors/<code>.html for pages."""

from __future__ import annotations

import logging

from flask import Flask, Response, render_template, request
from jinja2 import TemplateNotFound
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

from webapp.api.responses import ApiError, error_response
from webapp.extensions import db

log = logging.getLogger(__name__)
PAGE_PREFIXES = ("/ui", "/auth", "/static")


def is_page_request() -> bool:
    """Tell whether the request is for a browser page rather than the JSON API."""
    return request.path == "/" or request.path.startswith(PAGE_PREFIXES)


def init_app(app: Flask) -> None:
    """Register the error handlers."""
    app.register_error_handler(ApiError, _api_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(OperationalError, _database_unavailable)
    app.register_error_handler(DBAPIError, _database_error)


def _api_error(err: ApiError) -> Response:
    db.session.rollback()
    if is_page_request():
        return _page(err.status, str(err.detail))
    return error_response(err)


def _http_error(err: HTTPException) -> Response:
    code = err.code or 500
    if is_page_request():
        return _page(code, err.description or "")
    detail = {404: "Not Found", 405: "Method Not Allowed"}.get(code, err.description or err.name)
    if code == 429:
        # Rate limited (webapp/security.py adds Retry-After); the description names the limit.
        detail = f"Too many requests ({err.description}); retry after the delay in Retry-After"
    response = error_response(ApiError(code, detail))
    if code == 405 and err.get_response().headers.get("Allow"):
        response.headers["Allow"] = err.get_response().headers["Allow"]
    return response


def _database_unavailable(err: OperationalError) -> Response:
    # Locked or unreachable: the transaction is rolled back, nothing half-written.
    db.session.rollback()
    log.warning("database unavailable: %s", err)
    detail = "The database is busy or unavailable; retry shortly"
    response = _page(503, detail) if is_page_request() else error_response(ApiError(503, detail))
    response.headers["Retry-After"] = "1"
    return response


def _database_error(err: DBAPIError) -> Response:
    if err.connection_invalidated:
        return _database_unavailable(err)  # type: ignore[arg-type]
    raise err


def _page(code: int, message: str) -> Response:
    try:
        html = render_template(f"errors/{code}.html", message=message, code=code)
    except TemplateNotFound:
        html = render_template("errors/error.html", message=message, code=code)
    return Response(html, status=code, mimetype="text/html")
