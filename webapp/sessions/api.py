"""JSON API: /sessions/{id}."""

from __future__ import annotations

from flask import Response, request
from sqlalchemy import select

from webapp.api.body import parse_body
from webapp.api.responses import json_response, not_found
from webapp.auth.resolver import api_auth, current_principal
from webapp.domain.errors import ApiError
from webapp.domain.ids import is_uuid
from webapp.domain.schemas import SessionPatch, Strict
from webapp.domain.serialize import etag, session_json
from webapp.extensions import db
from webapp.models import FlowVersion, Session
from webapp.services import sessions as session_service
from webapp.sessions import bp


@bp.get("/sessions/<session_id>")
@api_auth
def session_detail(session_id: str) -> Response:
    """Return a session with its strong ETag."""
    return session_response(_session_or_404(session_id))


@bp.patch("/sessions/<session_id>")
@api_auth
def session_update(session_id: str) -> Response:
    """Apply an external runtime's report (If-Match checked first)."""
    session = _session_or_404(session_id, for_update=True)
    _check_if_match(session)
    patch = parse_body(SessionPatch)
    session_service.patch_session(session, patch)
    db.session.commit()
    return session_response(session)


@bp.post("/sessions/<session_id>/cancel")
@api_auth
def session_cancel(session_id: str) -> Response:
    """Cancel a session that is not final."""
    session = _session_or_404(session_id, for_update=True)
    _check_if_match(session)
    parse_body(Strict)
    session_service.cancel_session(session)
    db.session.commit()
    return session_response(session)


def session_response(session: Session, status: int = 200) -> Response:
    """Answer with a SessionRead and its ETag."""
    doc = db.session.execute(
        select(FlowVersion.doc).where(FlowVersion.id == session.flow_version_id)
    ).scalar_one()
    body = session_json(
        id=session.id,
        steps_count=session.steps_count,
        inputs=session.inputs,
        error=session.error,
        status=session.status,
        version_doc=doc,
        created_at=session.created_at,
        updated_at=session.updated_at,
    )
    return json_response(body, status, {"ETag": etag(session.id, session.revision)})


def _session_or_404(session_id: str, *, for_update: bool = False) -> Session:
    org_id = current_principal().org_id
    session = (
        session_service.get_session(org_id, session_id, for_update=for_update)
        if is_uuid(session_id)
        else None
    )
    if session is None:
        raise not_found("Session not found")
    return session


def _check_if_match(session: Session) -> None:
    header = request.headers.get("If-Match")
    if header is None:
        return
    current = etag(session.id, session.revision)
    candidates = [c.strip() for c in header.split(",")]
    if "*" not in candidates and current not in candidates:
        raise ApiError(412, "The session has changed since that ETag (If-Match failed)")
