"""Selects for flows, live flows and their newest sessions."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Select, func, select

from webapp.models import Flow, FlowVersion, Session


def live_flows(org_id: str, q: str | None = None) -> Select:
    """Select the organisation's live flows with their current version's JSON, newest first."""
    query = (
        select(Flow, FlowVersion.doc)
        .join(FlowVersion, FlowVersion.id == Flow.current_version_id)
        .where(Flow.org_id == org_id, Flow.archived_at.is_(None))
        .order_by(Flow.pk.desc())
    )
    if q:
        query = query.where(func.lower(Flow.name).contains(q.lower(), autoescape=True))
    return query


def flows(org_id: str, archived: bool) -> Select:
    """Select the organisation's flows (live and draft, or archived only) with their current JSON."""
    query = (
        select(Flow, FlowVersion.doc)
        .outerjoin(FlowVersion, FlowVersion.id == Flow.current_version_id)
        .where(Flow.org_id == org_id)
        .order_by(Flow.pk.desc())
    )
    archived_filter = Flow.archived_at.is_not(None) if archived else Flow.archived_at.is_(None)
    return query.where(archived_filter)


SESSION_COLUMNS = (
    Session.id,
    Session.flow_id,
    Session.flow_version_id,
    Session.steps_count,
    Session.inputs,
    Session.error,
    Session.status,
    Session.created_at,
    Session.updated_at,
)


def newest_sessions(flow_ids: Iterable[str], limit: int, statuses: list[str]) -> Select:
    """Select each flow's newest `limit` sessions (filtered first) in one statement."""
    ranked = select(
        *SESSION_COLUMNS,
        func.row_number().over(partition_by=Session.flow_id, order_by=Session.pk.desc()).label("rn"),
        Session.pk,
    ).where(Session.flow_id.in_(list(flow_ids)))
    if statuses:
        ranked = ranked.where(Session.status.in_(statuses))
    sub = ranked.subquery()
    return (
        select(*(sub.c[c.key] for c in SESSION_COLUMNS))
        .where(sub.c.rn <= limit)
        .order_by(sub.c.flow_id, sub.c.pk.desc())
    )


def version_docs(version_ids: Iterable[str]) -> Select:
    """Select the stored JSON of the given versions."""
    return select(FlowVersion.id, FlowVersion.doc).where(FlowVersion.id.in_(list(version_ids)))


def flow_versions(flow_id: str) -> Select:
    """Select a flow's versions, newest first."""
    return select(FlowVersion).where(FlowVersion.flow_id == flow_id).order_by(FlowVersion.pk.desc())


def flow_sessions(flow_id: str, statuses: list[str], limit: int, before_pk: int | None) -> Select:
    """Select a page of a flow's sessions, newest first, with their version's JSON."""
    query = (
        select(*SESSION_COLUMNS, FlowVersion.doc, Session.pk)
        .join(FlowVersion, FlowVersion.id == Session.flow_version_id)
        .where(Session.flow_id == flow_id)
        .order_by(Session.pk.desc())
        .limit(limit)
    )
    if statuses:
        query = query.where(Session.status.in_(statuses))
    if before_pk is not None:
        query = query.where(Session.pk < before_pk)
    return query


def flow_version_docs(flow_id: str) -> Select:
    """Select the stored JSON of a flow's versions, newest first."""
    return select(FlowVersion.doc).where(FlowVersion.flow_id == flow_id).order_by(FlowVersion.pk.desc())
