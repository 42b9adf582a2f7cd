"""Reading JSON request bodies and query parameters under the contract's rules."""

from __future__ import annotations

import re
from typing import Any, TypeVar

import orjson
from flask import current_app, g, request
from pydantic import BaseModel, ValidationError

from webapp.api.responses import ApiError, from_pydantic, validation_error

M = TypeVar("M", bound=BaseModel)
_INT = re.compile(r"^[+-]?[0-9]+$")
NUL_MSG = "NUL characters (\\u0000) are not allowed"
MAX_DEPTH = 64


def raw_json_body() -> tuple[bytes, Any]:
    """Return the body's bytes and decoded JSON; an empty body is `{}`."""
    if "json_body" not in g:
        try:
            g.json_body = _read_json_body()
        except ApiError as err:
            # The stream is consumed: keep the error so a later reader raises it again.
            g.json_body = err
    if isinstance(g.json_body, ApiError):
        raise g.json_body
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
    nul, too_deep = _inspect(data)
    if too_deep is not None:
        # Answers embed what was sent a few levels down; keep it well inside orjson's nesting limit.
        msg = f"JSON nested deeper than {MAX_DEPTH} levels"
        raise validation_error([{"loc": too_deep, "msg": msg, "type": "value_error"}])
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        raise from_pydantic(exc, ("body",)) from None
    # PostgreSQL text and JSONB cannot hold NUL; refuse it everywhere so both databases agree.
    if nul:
        raise validation_error([{"loc": loc, "msg": NUL_MSG, "type": "value_error"} for loc in nul[:20]])
    return parsed


def _inspect(data: Any) -> tuple[list[list[str | int]], list[str | int] | None]:
    """Return where strings hold NUL, and the first place nested deeper than MAX_DEPTH (or None)."""
    nul: list[list[str | int]] = []
    stack: list[tuple[Any, list[str | int]]] = [(data, ["body"])]
    while stack:
        value, loc = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                nul.append(loc)
            continue
        if not isinstance(value, dict | list):
            continue
        if len(loc) > MAX_DEPTH:
            return nul, loc
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if isinstance(key, str) and "\x00" in key:
                nul.append([*loc, key])
            stack.append((item, [*loc, key]))
    nul.sort(key=str)
    return nul, None


def _query_error(name: str | list[str | int], msg: str, type_: str) -> ApiError:
    loc = ["query", *name] if isinstance(name, list) else ["query", name]
    return validation_error([{"loc": loc, "msg": msg, "type": type_}])


def query_int(name: str, default: int, low: int, high: int) -> int:
    """Read an integer query parameter within [low, high]; 422 otherwise."""
    raw = request.args.get(name)
    if raw is None:
        return default
    if not _INT.match(raw.strip()):
        raise _query_error(name, "Input should be a valid integer", "int_parsing")
    value = int(raw)
    if value > high:
        raise _query_error(name, f"Input should be less than or equal to {high}", "less_than_equal")
    if value < low:
        raise _query_error(name, f"Input should be greater than or equal to {low}", "greater_than_equal")
    return value


def query_enum(name: str, allowed: tuple[str, ...]) -> list[str]:
    """Read a repeatable query parameter whose values must be in `allowed`."""
    values = request.args.getlist(name)
    for i, value in enumerate(values):
        if value not in allowed:
            msg = "Input should be " + ", ".join(f"'{a}'" for a in allowed)
            raise _query_error([name, i], msg, "enum")
    return values


def query_str(name: str, max_length: int = 200) -> str | None:
    """Read a free-text query parameter (no NUL, at most `max_length` characters)."""
    raw = request.args.get(name)
    if raw is None:
        return None
    if "\x00" in raw:
        raise _query_error(name, NUL_MSG, "value_error")
    if len(raw) > max_length:
        raise _query_error(name, f"String should have at most {max_length} characters", "string_too_long")
    return raw


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
    raise _query_error(name, "Input should be a valid boolean", "bool_parsing")
