"""JSON responses and the API's error type."""

from __future__ import annotations

from typing import Any

import orjson
from flask import Response
from pydantic import ValidationError

from webapp.domain.errors import ApiError

__all__ = ["ApiError", "error_response", "from_pydantic", "json_response", "not_found", "validation_error"]


def not_found(what: str = "Not found") -> ApiError:
    """Return the one 404 every missing or foreign resource gets."""
    return ApiError(404, what)


def validation_error(errors: list[dict[str, Any]]) -> ApiError:
    """Return a 422 with FastAPI's body."""
    return ApiError(422, errors)


def from_pydantic(exc: ValidationError, prefix: tuple[str | int, ...]) -> ApiError:
    """Convert a pydantic error to FastAPI's 422 body, with locations under `prefix`."""
    return validation_error(
        [
            {"loc": [*prefix, *err["loc"]], "msg": err["msg"], "type": err["type"]}
            for err in exc.errors(include_url=False, include_input=False)
        ]
    )


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Serialise `data` with orjson (pre-serialised Fragments are spliced in as they are)."""
    body = data if isinstance(data, bytes) else orjson.dumps(data)
    return Response(body, status=status, headers=headers, mimetype="application/json")


def error_response(err: ApiError) -> Response:
    """Render an ApiError as JSON."""
    return json_response({"detail": err.detail}, err.status, err.headers)
