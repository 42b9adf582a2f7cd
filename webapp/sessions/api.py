"""JSON API: /sessions/{id}."""

from __future__ import annotations

from flask import Response, request
from sqlalchemy import select

from webapp.api.body import parse_body
from webapp.api.responses import json_response, not_found
from webapp.auth.resolver import api_auth, current_principal
from webapp.domain.errors import ApiError
from webapp.domain.ids import canonical_uuid
from webapp.domain.schemas import EmptyBody, SessionPatch
from webapp.domain.serialize import etag, session_read
from webapp.extensions import db
from webapp.models import FlowVersion, Session
from webapp.services import sessions as session_service
from webapp.sessions import bp


@bp.get("/sessions/<session_id>")
@api_auth
def session_detail(session_id: str) -> Response:
    """Return a session with its strong ETag."""
    return session_response(session_or_404(session_id))


@bp.patch("/sessions/<session_id>")
@api_auth
def session_update(session_id: str) -> Response:
    """Apply an external runtime's report (If-Match checked first)."""
    session = session_or_404(session_id, for_update=True)
    check_if_match(session)
    session_service.patch_session(session, parse_body(SessionPatch))
    response = session_response(session)
    db.session.commit()
    return response


@bp.post("/sessions/<session_id>/cancel")
@api_auth
def session_cancel(session_id: str) -> Response:
    """Cancel a session that is not final."""
    session = session_or_404(session_id, for_update=True)
    check_if_match(session)
    parse_body(EmptyBody)
    session_service.cancel_session(session)
    response = session_response(session)
    db.session.commit()
    return response


def session_response(session: Session, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Answer with a SessionRead and its ETag (after any other `headers`)."""
    doc = db.session.execute(
        select(FlowVersion.doc).where(FlowVersion.id == session.flow_version_id)
    ).scalar_one()
    headers = {**(headers or {}), "ETag": etag(session.id, session.revision)}
    return json_response(session_read(session, doc), status, headers)


def session_or_404(session_id: str, *, for_update: bool = False) -> Session:
    """Return the organisation's session, or raise the one 404 (another organisation's too)."""
    uid = canonical_uuid(session_id)
    session = (
        session_service.get_session(current_principal().org_id, uid, for_update=for_update) if uid else None
    )
    if session is None:
        raise not_found("Session not found")
    return session


def check_if_match(session: Session) -> None:
    """Refuse (412) a request whose If-Match names no current ETag of the session."""
    header = request.headers.get("If-Match")
    if header is None:
        return
    current = etag(session.id, session.revision)
    candidates = [c.strip() for c in header.split(",")]
    if "*" not in candidates and current not in candidates:
        raise ApiError(412, "The session has changed since that ETag (If-Match failed)")
