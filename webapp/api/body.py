"""Reading JSON request bodies and query parameters under the contract's rules."""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from flask import current_app, g, request
from pydantic import BaseModel, ValidationError

from webapp.api.responses import ApiError, from_pydantic, validation_error

M = TypeVar("M", bound=BaseModel)


def raw_json_body() -> tuple[bytes, Any]:
    """Return the body's bytes and decoded JSON; an empty body is `{}`."""
    if "json_body" not in g:
        g.json_body = _read_json_body()
    return g.json_body  # type: ignore[no-any-return]


def _read_json_body() -> tuple[bytes, Any]:
    limit = int(current_app.config["MAX_BODY_BYTES"])
    length = request.content_length
    if length is not None and length > limit:
        raise ApiError(413, f"Request body is larger than {limit} bytes")
    raw = request.stream.read(limit + 1)
    if len(raw) > limit:
        raise ApiError(413, f"Request body is larger than {limit} bytes")
    if not raw.strip():
        return b"{}", {}
    if request.mimetype != "application/json" and not request.mimetype.endswith("+json"):
        raise ApiError(415, "Request body must be application/json")
    try:
        return raw, orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, f"Malformed JSON: {exc}") from None


def parse_body(model: type[M]) -> M:
    """Read and validate the JSON body as `model` (413, 415, 400 or 422 when it is bad)."""
    return validate_body(model, raw_json_body()[1])


def validate_body(model: type[M], data: Any) -> M:
    """Validate decoded JSON as `model`, raising FastAPI's 422 on failure."""
    if not isinstance(data, dict):
        raise validation_error(
            [{"loc": ["body"], "msg": "Input should be a valid dictionary or object", "type": "dict_type"}]
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise from_pydantic(exc, ("body",)) from None


def query_int(name: str, default: int, low: int, high: int) -> int:
    """Read an integer query parameter within [low, high]; 422 otherwise."""
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise validation_error(
            [{"loc": ["query", name], "msg": "Input should be a valid integer", "type": "int_parsing"}]
        ) from None
    if not low <= value <= high:
        raise validation_error(
            [
                {
                    "loc": ["query", name],
                    "msg": f"Input should be between {low} and {high}",
                    "type": "less_than_equal" if value > high else "greater_than_equal",
                }
            ]
        )
    return value


def query_enum(name: str, allowed: tuple[str, ...]) -> list[str]:
    """Read a repeatable query parameter whose values must be in `allowed`."""
    values = request.args.getlist(name)
    for i, value in enumerate(values):
        if value not in allowed:
            raise validation_error(
                [
                    {
                        "loc": ["query", name, i],
                        "msg": "Input should be " + ", ".join(f"'{a}'" for a in allowed),
                        "type": "enum",
                    }
                ]
            )
    return values


def query_bool(name: str, default: bool = False) -> bool:
    """Read a boolean query parameter the way FastAPI does."""
    raw = request.args.get(name)
    if raw is None:
        return default
    lowered = raw.lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    raise validation_error(
        [{"loc": ["query", name], "msg": "Input should be a valid boolean", "type": "bool_parsing"}]
    )
