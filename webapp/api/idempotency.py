"""Idempotency-Key for creating POSTs: replay the first answer, never create twice."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import timedelta

import orjson
from flask import Response, current_app, request
from sqlalchemy import ColumnElement, delete, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from webapp.api.body import raw_json_body
from webapp.api.responses import ApiError, validation_error
from webapp.auth.resolver import current_principal
from webapp.database import begin_write
from webapp.extensions import db
from webapp.models import IdempotencyRecord
from webapp.models.types import utcnow

# A claim left 'processing' this long belongs to a request that failed without releasing it (say,
# the database was locked); it may be retaken. If its request was only slow, that request finds its
# claim gone when it stores its answer and rolls back, so nothing is ever created twice.
STALE_CLAIM = timedelta(seconds=30)
KEY_RE = re.compile(r"^[\x21-\x7e]{1,255}$")
IN_PROGRESS = "A request with this Idempotency-Key is still being processed"


def idempotent(create: Callable[[], Response]) -> Response:
    """Run `create` (which flushes, never commits) once per Idempotency-Key, and commit.

    Call it after the resource checks (401, 400/403, 404) so the contract's order holds. The answer
    to a key is written in the same transaction as what the request created: a replay never finds
    a half-finished creation, and a failed request leaves no claim behind.
    """
    key = request.headers.get("Idempotency-Key")
    if key is None:
        response = create()
        db.session.commit()
        return response
    if not KEY_RE.fullmatch(key):
        raise validation_error(
            [
                {
                    "loc": ["header", "Idempotency-Key"],
                    "msg": "Idempotency-Key must be 1 to 255 visible ASCII characters",
                    "type": "value_error",
                }
            ]
        )
    _, data = raw_json_body()
    body_hash = hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).hexdigest()
    claim = _claim(current_principal().org_id, key, body_hash)
    if isinstance(claim, Response):
        return claim
    try:
        response = create()
        if 200 <= response.status_code < 300:
            stored = db.session.execute(
                update(IdempotencyRecord)
                .where(IdempotencyRecord.id == claim, IdempotencyRecord.state == "processing")
                .values(
                    state="done",
                    status_code=response.status_code,
                    body=response.get_data(),
                    location=response.headers.get("Location"),
                )
            )
            if stored.rowcount != 1:  # type: ignore[attr-defined]
                raise ApiError(409, IN_PROGRESS)
        else:
            db.session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id == claim))
        db.session.commit()
    except Exception:
        db.session.rollback()
        _release(claim)
        raise
    return response


def _path() -> str:
    # Ids in paths are UUIDs, accepted in either case: one resource, one scope.
    return request.path.lower()


def _scope(org_id: str, key: str) -> tuple[ColumnElement[bool], ...]:
    return (
        IdempotencyRecord.org_id == org_id,
        IdempotencyRecord.method == request.method,
        IdempotencyRecord.path == _path(),
        IdempotencyRecord.key == key,
    )


def _claim(org_id: str, key: str, body_hash: str) -> int | Response:
    """Commit a 'processing' claim for the key, or answer from an earlier request with it."""
    now = utcnow()
    ttl = timedelta(hours=int(current_app.config["IDEMPOTENCY_TTL_HOURS"]))
    db.session.commit()
    begin_write()
    # Expired answers are dropped as new keys arrive, so the table stays small.
    db.session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < now - ttl))
    existing = db.session.execute(select(IdempotencyRecord).where(*_scope(org_id, key))).scalar_one_or_none()
    if existing is not None:
        if not (existing.state == "processing" and now - existing.created_at > STALE_CLAIM):
            return _answer_existing(existing, body_hash)
        db.session.delete(existing)
        db.session.flush()
    record = IdempotencyRecord(
        org_id=org_id, method=request.method, path=_path(), key=key, body_hash=body_hash, created_at=now
    )
    db.session.add(record)
    try:
        db.session.flush()
        claim = record.id  # read before the commit: reading it after would open a write transaction
        db.session.commit()
    except IntegrityError:
        # Another request claimed the same key between our read and our insert.
        db.session.rollback()
        raise ApiError(409, IN_PROGRESS) from None
    return claim


def _answer_existing(existing: IdempotencyRecord, body_hash: str) -> Response:
    state, stored_hash = existing.state, existing.body_hash
    status, body, location = existing.status_code, existing.body, existing.location
    db.session.rollback()
    if stored_hash != body_hash:
        raise validation_error(
            [
                {
                    "loc": ["header", "Idempotency-Key"],
                    "msg": "This Idempotency-Key was already used with another body",
                    "type": "idempotency_key_reused",
                }
            ]
        )
    if state != "done":
        raise ApiError(409, IN_PROGRESS)
    headers = {"Idempotent-Replayed": "true"}
    if location:
        headers["Location"] = location
    return Response(body, status=status, headers=headers, mimetype="application/json")


def _release(claim: int) -> None:
    """Drop a claim whose request failed, so the client may retry with the same key."""
    try:
        begin_write()
        db.session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id == claim))
        db.session.commit()
    except OperationalError:
        # The database is busy or down: the claim goes stale and is retaken after STALE_CLAIM.
        db.session.rollback()
