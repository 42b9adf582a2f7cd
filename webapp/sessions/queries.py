"""Selects for the session pages, the session poll and the exports."""

from __future__ import annotations

from sqlalchemy import Select, func, select

from webapp.models import Flow, FlowVersion, Session, StepRun


def session_page(org_id: str, session_id: str) -> Select:
    """Select a session of the organisation with its flow's name and its version's number and JSON."""
    return (
        select(Session, Flow.name.label("flow_name"), FlowVersion.number, FlowVersion.doc)
        .join(Flow, Flow.id == Session.flow_id)
        .join(FlowVersion, FlowVersion.id == Session.flow_version_id)
        .where(Session.id == session_id, Session.org_id == org_id)
    )


def session_stamp(org_id: str, session_id: str) -> Select:
    """Select what a session page's poll compares: revision, status, step runs (all and finished)."""
    runs = select(func.count()).where(StepRun.session_id == Session.id)
    finished = select(func.count(StepRun.finished_at)).where(StepRun.session_id == Session.id)
    return select(
        Session.revision,
        Session.status,
        runs.scalar_subquery().label("runs"),
        finished.scalar_subquery().label("finished"),
    ).where(Session.id == session_id, Session.org_id == org_id)


def previous_session(org_id: str, flow_id: str, pk: int) -> Select:
    """Select the id of the flow's session started just before the one with `pk`."""
    return (
        select(Session.id)
        .where(Session.org_id == org_id, Session.flow_id == flow_id, Session.pk < pk)
        .order_by(Session.pk.desc())
        .limit(1)
    )


EXPORT_COLUMNS = (
    Session.id,
    Session.status,
    Session.steps_count,
    Session.inputs,
    Session.error,
    Session.output,
    Session.flow_version_id,
    Session.created_at,
    Session.updated_at,
    Session.started_at,
    Session.finished_at,
)


def export_rows(org_id: str, flow_id: str, statuses: list[str], version_id: str | None) -> Select:
    """Select a flow's sessions for export, newest first, with their version's number and JSON."""
    query = (
        select(*EXPORT_COLUMNS, FlowVersion.number.label("version_number"), FlowVersion.doc)
        .join(FlowVersion, FlowVersion.id == Session.flow_version_id)
        .where(Session.org_id == org_id, Session.flow_id == flow_id)
        .order_by(Session.pk.desc())
    )
    if statuses:
        query = query.where(Session.status.in_(statuses))
    if version_id:
        query = query.where(Session.flow_version_id == version_id)
    return query


def export_flow(org_id: str, flow_id: str) -> Select:
    """Select the name of the organisation's flow (None when it is not theirs)."""
    return select(Flow.name).where(Flow.id == flow_id, Flow.org_id == org_id)
