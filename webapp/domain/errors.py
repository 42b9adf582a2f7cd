"""The one error type services and views raise: a status code and a `detail`."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error answered with `{"detail": ...}` (JSON) or an error page, with a status code."""

    def __init__(self, status: int, detail: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}


def invalid(loc: list[str | int], msg: str, type_: str = "value_error") -> ApiError:
    """Return a 422 for one location, in FastAPI's shape."""
    return ApiError(422, [{"loc": loc, "msg": msg, "type": type_}])


def conflict(detail: str) -> ApiError:
    """Return a 409: the request is valid but the resource's state forbids it."""
    return ApiError(409, detail)
