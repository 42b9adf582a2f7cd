"""Creating flows and versions, publishing and archiving."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from webapp.domain.errors import ApiError, conflict
from webapp.domain.schemas import FlowCreate, FlowUpdate, FlowVersionCreate
from webapp.domain.serialize import version_doc
from webapp.domain.versions import graph_errors
from webapp.extensions import db
from webapp.models import Flow, FlowVersion, Step, StepTransition
from webapp.models.types import utcnow


def get_flow(org_id: str, flow_id: str, *, for_update: bool = False) -> Flow | None:
    """Return the organisation's flow, or None (another organisation's flow is None too).

    `for_update` locks the row on PostgreSQL so that concurrent writes to one flow (version
    numbers, publishing) take turns; SQLite writers are serialised by BEGIN IMMEDIATE already.
    """
    query = select(Flow).where(Flow.id == flow_id, Flow.org_id == org_id)
    if for_update:
        query = query.with_for_update()
    return db.session.execute(query).scalar_one_or_none()


def get_version(flow: Flow, version_id: str) -> FlowVersion | None:
    """Return one of the flow's versions, or None."""
    return db.session.execute(
        select(FlowVersion).where(FlowVersion.id == version_id, FlowVersion.flow_id == flow.id)
    ).scalar_one_or_none()


def create_flow(org_id: str, data: FlowCreate) -> Flow:
    """Add a draft flow (no version yet)."""
    now = utcnow()
    flow = Flow(org_id=org_id, name=data.name, description=data.description, created_at=now, updated_at=now)
    db.session.add(flow)
    db.session.flush()
    return flow


def update_flow(flow: Flow, data: FlowUpdate) -> Flow:
    """Change a flow's name or description."""
    for field in data.model_fields_set:
        setattr(flow, field, getattr(data, field))
    flow.updated_at = utcnow()
    return flow


def archive_flow(flow: Flow) -> None:
    """Archive a flow (idempotent): it stops being live, its sessions stay."""
    if flow.archived_at is None:
        now = utcnow()
        flow.archived_at = now
        flow.updated_at = now


def create_version(flow: Flow, data: FlowVersionCreate) -> FlowVersion:
    """Add an immutable version to a flow, publishing it unless asked not to."""
    # The body is judged (422) before the flow's state (409), as the contract orders the checks.
    errors = graph_errors(data)
    if errors:
        raise ApiError(422, errors)
    _refuse_taken_ids(data)
    if flow.archived_at is not None:
        raise conflict("The flow is archived")
    now = utcnow()
    number = (
        db.session.execute(
            select(func.max(FlowVersion.number)).where(FlowVersion.flow_id == flow.id)
        ).scalar()
        or 0
    ) + 1
    version = FlowVersion(id=str(uuid.uuid4()), flow_id=flow.id, number=number, created_at=now)
    steps = [
        {
            "id": str(s.id or uuid.uuid4()),
            "name": s.name,
            "step_type": s.step_type,
            "prompt_template": s.prompt_template.model_dump(),
        }
        for s in data.steps
    ]
    transitions = [
        {
            "source_step_id": str(t.source_step_id),
            "target_step_id": str(t.target_step_id),
            "label": t.label,
            "id": str(t.id or uuid.uuid4()),
        }
        for t in data.step_transitions
    ]
    version.doc = version_doc(version.id, flow.id, now, steps, transitions)
    db.session.add(version)
    db.session.flush()
    db.session.add_all(
        Step(version_id=version.id, position=i, created_at=now, **s) for i, s in enumerate(steps)
    )
    db.session.flush()
    db.session.add_all(
        StepTransition(version_id=version.id, position=i, **t) for i, t in enumerate(transitions)
    )
    if data.publish:
        publish(flow, version)
    db.session.flush()
    return version


def publish(flow: Flow, version: FlowVersion) -> None:
    """Make a version the flow's current one (roll forward or back)."""
    if flow.archived_at is not None:
        raise conflict("The flow is archived")
    now = utcnow()
    flow.current_version_id = version.id
    flow.updated_at = now
    version.published_at = now


def _refuse_taken_ids(data: FlowVersionCreate) -> None:
    """Refuse client-chosen ids that any step or transition of the service already has."""
    locs: dict[str, list[str | int]] = {}
    for i, step in enumerate(data.steps):
        if step.id is not None:
            locs[str(step.id)] = ["body", "steps", i, "id"]
    for i, tr in enumerate(data.step_transitions):
        if tr.id is not None:
            locs[str(tr.id)] = ["body", "step_transitions", i, "id"]
    if not locs:
        return
    taken = set(
        db.session.execute(
            select(Step.id)
            .where(Step.id.in_(locs))
            .union_all(select(StepTransition.id).where(StepTransition.id.in_(locs)))
        ).scalars()
    )
    errors = [_taken(loc) for value, loc in locs.items() if value in taken]
    if errors:
        raise ApiError(422, errors)


def _taken(loc: list[str | int]) -> dict[str, object]:
    return {"loc": loc, "msg": "This id is already used; a new version needs new ids", "type": "value_error"}
