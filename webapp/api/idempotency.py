"""Idempotency-Key for creating POSTs: replay the first answer, never create twice."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar

import orjson
from flask import Response, current_app, request
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from webapp.api.body import raw_json_body
from webapp.api.responses import ApiError
from webapp.auth.resolver import current_principal
from webapp.database import begin_write
from webapp.extensions import db
from webapp.models import IdempotencyRecord
from webapp.models.types import utcnow

F = TypeVar("F", bound=Callable[..., Any])
# A claim left 'processing' this long belongs to a process that died; it may be retaken.
STALE_CLAIM = timedelta(minutes=2)


def idempotent(view: F) -> F:
    """Honour an Idempotency-Key header, scoped to organisation, method and path."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return view(*args, **kwargs)
        principal = current_principal()
        if not key.strip() or len(key) > 255:
            raise ApiError(
                422,
                [
                    {
                        "loc": ["header", "Idempotency-Key"],
                        "msg": "1 to 255 characters",
                        "type": "string_too_long" if key.strip() else "string_too_short",
                    }
                ],
            )
        _, data = raw_json_body()
        body_hash = hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).hexdigest()
        record = _claim(principal.org_id, key, body_hash)
        if isinstance(record, Response):
            return record
        try:
            response = current_app.make_response(view(*args, **kwargs))
        except Exception:
            _settle(record, None)
            raise
        _settle(record, response)
        return response

    return wrapper  # type: ignore[return-value]


def _scope(org_id: str, key: str) -> Any:
    return (
        IdempotencyRecord.org_id == org_id,
        IdempotencyRecord.method == request.method,
        IdempotencyRecord.path == request.path,
        IdempotencyRecord.key == key,
    )


def _claim(org_id: str, key: str, body_hash: str) -> int | Response:
    now = utcnow()
    ttl = timedelta(hours=int(current_app.config["IDEMPOTENCY_TTL_HOURS"]))
    db.session.commit()
    begin_write()
    existing = db.session.execute(select(IdempotencyRecord).where(*_scope(org_id, key))).scalar_one_or_none()
    if existing is not None:
        expired = now - existing.created_at > ttl
        stale = existing.state == "processing" and now - existing.created_at > STALE_CLAIM
        if not (expired or stale):
            return _answer_existing(existing, body_hash)
        db.session.delete(existing)
        db.session.flush()
    record = IdempotencyRecord(
        org_id=org_id, method=request.method, path=request.path, key=key, body_hash=body_hash, created_at=now
    )
    db.session.add(record)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise ApiError(409, "A request with this Idempotency-Key is still being processed") from None
    return record.id


def _answer_existing(existing: IdempotencyRecord, body_hash: str) -> Response:
    db.session.rollback()
    if existing.body_hash != body_hash:
        raise ApiError(
            422,
            [
                {
                    "loc": ["header", "Idempotency-Key"],
                    "msg": "This key was used with another body",
                    "type": "idempotency_key_reused",
                }
            ],
        )
    if existing.state != "done":
        raise ApiError(409, "A request with this Idempotency-Key is still being processed")
    headers = {"Idempotent-Replayed": "true"}
    if existing.location:
        headers["Location"] = existing.location
    return Response(existing.body, status=existing.status_code, headers=headers, mimetype="application/json")


def _settle(record_id: int, response: Response | None) -> None:
    db.session.rollback()
    begin_write()
    if response is not None and 200 <= response.status_code < 300:
        record = db.session.get(IdempotencyRecord, record_id)
        if record is not None:
            record.state = "done"
            record.status_code = response.status_code
            record.body = response.get_data()
            record.location = response.headers.get("Location")
    else:
        # A refused request leaves no claim behind, so the client may retry with the same key.
        db.session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id == record_id))
    db.session.commit()
