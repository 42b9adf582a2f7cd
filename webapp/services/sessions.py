"""Starting, changing and cancelling sessions under the status rules."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from webapp.domain.errors import conflict, invalid
from webapp.domain.schemas import SessionPatch
from webapp.domain.statuses import can_move, is_final
from webapp.extensions import db
from webapp.models import Flow, FlowVersion, Session
from webapp.models.types import utcnow


def get_session(org_id: str, session_id: str, *, for_update: bool = False) -> Session | None:
    """Return the organisation's session, or None (another organisation's is None too)."""
    query = select(Session).where(Session.id == session_id, Session.org_id == org_id)
    if for_update:
        query = query.with_for_update()
    return db.session.execute(query).scalar_one_or_none()


def start_session(flow: Flow, version_id: str | None, inputs: dict[str, Any], run: bool = False) -> Session:
    """Create a NEW session of the flow's current version, or of the named one of its versions."""
    if version_id is None:
        if not flow.is_live:
            raise conflict("The flow is not live")
        version_id = flow.current_version_id
    else:
        found = db.session.execute(
            select(FlowVersion.id).where(FlowVersion.id == version_id, FlowVersion.flow_id == flow.id)
        ).scalar_one_or_none()
        if found is None:
            raise invalid(["body", "flow_version_id"], "Not a version of this flow")
        if not flow.is_live:
            raise conflict("The flow is not live")
    now = utcnow()
    session = Session(
        org_id=flow.org_id,
        flow_id=flow.id,
        flow_version_id=version_id,
        status="NEW",
        steps_count=0,
        inputs=inputs,
        run=run,
        created_at=now,
        updated_at=now,
    )
    db.session.add(session)
    db.session.flush()
    return session


def patch_session(session: Session, patch: SessionPatch) -> Session:
    """Apply an external runtime's report: 422 if steps_count decreases, 409 if the state forbids it."""
    fields = patch.model_fields_set
    status = patch.status if "status" in fields else None
    steps_count = patch.steps_count if "steps_count" in fields else None
    # A bad value is a 422 before any state rule (409), as the contract orders the checks.
    if steps_count is not None and steps_count < session.steps_count:
        raise invalid(["body", "steps_count"], "steps_count never decreases")
    if is_final(session.status):
        raise conflict(f"The session is {session.status}; a final session cannot change")
    if status is not None and not can_move(session.status, status):
        raise conflict(f"A session cannot go from {session.status} to {status}")
    if session.run:
        # Two writers would race: the built-in runner owns this session's progress.
        raise conflict("The built-in runner executes this session; only cancel (POST .../cancel) applies")
    changed = False
    if status is not None and status != session.status:
        set_status(session, status)
        changed = True
    if steps_count is not None and steps_count != session.steps_count:
        session.steps_count = steps_count
        changed = True
    if "error" in fields and patch.error != session.error:
        session.error = patch.error
        changed = True
    if changed:
        # A report that changes nothing keeps the ETag and updated_at.
        touch(session)
    return session


def cancel_session(session: Session) -> Session:
    """Cancel a session that is not final; a running step finishes, no further one starts."""
    if is_final(session.status):
        raise conflict(f"The session is already {session.status}")
    set_status(session, "CANCELLED")
    touch(session)
    return session


def set_status(session: Session, status: str) -> None:
    """Set a status and the start and finish times it implies."""
    now = utcnow()
    if status != "NEW" and session.started_at is None:
        session.started_at = now
    if is_final(status) and session.finished_at is None:
        session.finished_at = now
    session.status = status


def touch(session: Session) -> None:
    """Mark a session changed: new updated_at and a new ETag revision."""
    session.updated_at = utcnow()
    session.revision = (session.revision or 0) + 1
