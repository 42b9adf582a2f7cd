"""Selects for the flow pages: the flow list, the flow page's versions and its live session table."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Select, String, case, func, null, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from webapp.models import Flow, FlowVersion, Session, Step

FLOW_STATES: tuple[str, ...] = ("live", "draft", "archived")


def flow_state_rank() -> Any:
    """Return 0 for live flows, 1 for drafts, 2 for archived ones (the flow list's order)."""
    return case(
        (Flow.archived_at.is_not(None), 2),
        (Flow.current_version_id.is_(None), 1),
        else_=0,
    )


def _flow_filters(query: Select, org_id: str, q: str | None, state: str | None) -> Select:
    query = query.where(Flow.org_id == org_id)
    if q:
        query = query.where(func.lower(Flow.name).contains(q.lower(), autoescape=True))
    if state in FLOW_STATES:
        query = query.where(flow_state_rank() == FLOW_STATES.index(state))
    return query


def flow_list_rows(org_id: str, q: str | None, state: str | None) -> Select:
    """Select the flows of the flow list: live first, then drafts, then archived; by name."""
    query = select(
        Flow.id,
        Flow.name,
        Flow.description,
        Flow.archived_at,
        Flow.current_version_id,
        FlowVersion.number.label("version_number"),
        FlowVersion.published_at,
        flow_state_rank().label("rank"),
    ).outerjoin(FlowVersion, FlowVersion.id == Flow.current_version_id)
    query = _flow_filters(query, org_id, q, state)
    return query.order_by(flow_state_rank(), func.lower(Flow.name), Flow.pk)


def flow_state_counts(org_id: str, q: str | None) -> Select:
    """Select (rank, count) of the organisation's flows matching the search, per state."""
    rank = flow_state_rank()
    return _flow_filters(select(rank.label("rank"), func.count().label("n")), org_id, q, None).group_by(rank)


def flows_by_id(org_id: str, flow_ids: Iterable[str]) -> Select:
    """Select flow list rows for the given flows of the organisation."""
    query = flow_list_rows(org_id, None, None)
    return query.where(Flow.id.in_(list(flow_ids)))


def session_status_counts(org_id: str, flow_ids: Iterable[str], version_id: str | None = None) -> Select:
    """Select (flow_id, status, n) over the given flows' sessions (of one version when named)."""
    query = (
        select(Session.flow_id, Session.status, func.count().label("n"))
        .where(Session.org_id == org_id, Session.flow_id.in_(list(flow_ids)))
        .group_by(Session.flow_id, Session.status)
    )
    if version_id:
        query = query.where(Session.flow_version_id == version_id)
    return query


def last_session_times(org_id: str, flow_ids: Iterable[str]) -> Select:
    """Select (flow_id, created_at) of each given flow's newest session."""
    newest = (
        select(func.max(Session.pk))
        .where(Session.org_id == org_id, Session.flow_id.in_(list(flow_ids)))
        .group_by(Session.flow_id)
    )
    return select(Session.flow_id, Session.created_at).where(Session.pk.in_(newest))


class hour_bucket(FunctionElement[str]):  # noqa: N801 - used like a SQL function
    """The UTC hour of a timestamp as text "YYYY-MM-DD HH" (SQLite stores UTC text; PostgreSQL converts)."""

    type = String()
    inherit_cache = True


@compiles(hour_bucket)
def _hour_bucket_pg(element: hour_bucket, compiler: Any, **kw: Any) -> str:
    return f"to_char({compiler.process(element.clauses, **kw)} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24')"


@compiles(hour_bucket, "sqlite")
def _hour_bucket_sqlite(element: hour_bucket, compiler: Any, **kw: Any) -> str:
    return f"substr({compiler.process(element.clauses, **kw)}, 1, 13)"


def sessions_per_hour(org_id: str, flow_ids: Iterable[str], since: datetime) -> Select:
    """Select (flow_id, hour, n): sessions started per UTC hour since `since`."""
    bucket = hour_bucket(Session.created_at)
    # updated_at >= created_at: the bound lets the (flow_id, updated_at) index skip older sessions.
    return (
        select(Session.flow_id, bucket.label("hour"), func.count().label("n"))
        .where(
            Session.org_id == org_id,
            Session.flow_id.in_(list(flow_ids)),
            Session.updated_at >= since,
            Session.created_at >= since,
        )
        .group_by(Session.flow_id, bucket)
    )


def version_step_counts(version_ids: Iterable[str]) -> Select:
    """Select (version_id, n) steps per version."""
    return (
        select(Step.version_id, func.count().label("n"))
        .where(Step.version_id.in_(list(version_ids)))
        .group_by(Step.version_id)
    )


def flow_list_window(org_id: str, flow_ids: list[str]) -> Callable[[datetime], Select]:
    """Return the flow list's poll check: its flows' sessions changed after a cutoff, and flow changes."""
    flows_changed = select(func.max(Flow.updated_at)).where(Flow.org_id == org_id).scalar_subquery()

    def window(cutoff: datetime) -> Select:
        return select(
            func.count().label("rows"),
            func.sum(Session.revision).label("revs"),
            func.max(Session.updated_at).label("newest"),
            flows_changed.label("extra"),
        ).where(Session.org_id == org_id, Session.flow_id.in_(flow_ids), Session.updated_at > cutoff)

    return window


def changed_flow_ids(org_id: str, flow_ids: list[str], cutoff: datetime) -> Select:
    """Select the ids of the given flows whose sessions changed after `cutoff`."""
    return (
        select(Session.flow_id)
        .where(Session.org_id == org_id, Session.flow_id.in_(flow_ids), Session.updated_at > cutoff)
        .distinct()
    )


def newest_session_change(org_id: str, flow_ids: list[str]) -> Select:
    """Select the newest updated_at among the given flows' sessions."""
    return select(func.max(Session.updated_at)).where(Session.org_id == org_id, Session.flow_id.in_(flow_ids))


# The flow page --------------------------------------------------------------------------------------


def page_flow(org_id: str, flow_id: str) -> Select:
    """Select the organisation's flow (None when another organisation's)."""
    return select(Flow).where(Flow.id == flow_id, Flow.org_id == org_id)


def versions_with_counts(flow_id: str) -> Select:
    """Select a flow's versions newest first with their session count and step count."""
    sessions = (
        select(func.count())
        .where(Session.flow_id == flow_id, Session.flow_version_id == FlowVersion.id)
        .scalar_subquery()
    )
    steps = select(func.count()).where(Step.version_id == FlowVersion.id).scalar_subquery()
    return (
        select(
            FlowVersion.id,
            FlowVersion.number,
            FlowVersion.created_at,
            FlowVersion.published_at,
            sessions.label("sessions"),
            steps.label("steps"),
        )
        .where(FlowVersion.flow_id == flow_id)
        .order_by(FlowVersion.number.desc())
    )


def version_doc_of(flow_id: str, version_id: str) -> Select:
    """Select one of the flow's versions with its JSON."""
    return select(FlowVersion.id, FlowVersion.number, FlowVersion.doc).where(
        FlowVersion.flow_id == flow_id, FlowVersion.id == version_id
    )


def previous_version(flow_id: str, number: int) -> Select:
    """Select the flow's version just before version `number`, with its JSON."""
    return (
        select(FlowVersion.id, FlowVersion.number, FlowVersion.doc)
        .where(FlowVersion.flow_id == flow_id, FlowVersion.number < number)
        .order_by(FlowVersion.number.desc())
        .limit(1)
    )


SESSION_ROW_COLUMNS = (
    Session.id,
    Session.status,
    Session.steps_count,
    Session.error,
    Session.revision,
    Session.created_at,
    Session.updated_at,
    Session.started_at,
    Session.finished_at,
    Session.flow_version_id,
    Session.run,
)


def _session_filters(query: Select, statuses: list[str], version_id: str | None) -> Select:
    if statuses:
        query = query.where(Session.status.in_(statuses))
    if version_id:
        query = query.where(Session.flow_version_id == version_id)
    return query


def session_rows(org_id: str, flow_id: str) -> Select:
    """Select the flow page's session table rows (with version numbers), newest first."""
    return (
        select(*SESSION_ROW_COLUMNS, FlowVersion.number.label("version_number"))
        .join(FlowVersion, FlowVersion.id == Session.flow_version_id)
        .where(Session.org_id == org_id, Session.flow_id == flow_id)
        .order_by(Session.pk.desc())
    )


def session_table(
    org_id: str, flow_id: str, statuses: list[str], version_id: str | None, limit: int, offset: int
) -> Select:
    """Select one page of the flow's sessions, filtered by status and version, newest first."""
    query = _session_filters(session_rows(org_id, flow_id), statuses, version_id)
    return query.limit(limit).offset(offset)


def flow_sessions_window(org_id: str, flow_id: str) -> Callable[[datetime], Select]:
    """Return the flow page's poll check: the flow's sessions changed after a cutoff."""

    def window(cutoff: datetime) -> Select:
        return select(
            func.count().label("rows"),
            func.sum(Session.revision).label("revs"),
            func.max(Session.updated_at).label("newest"),
            null().label("extra"),
        ).where(Session.org_id == org_id, Session.flow_id == flow_id, Session.updated_at > cutoff)

    return window


def _pk_of(session_id: str) -> Any:
    return select(Session.pk).where(Session.id == session_id).scalar_subquery()


def new_session_rows(
    org_id: str, flow_id: str, statuses: list[str], version_id: str | None, top: str | None, limit: int
) -> Select:
    """Select sessions newer than the table's top row that match its filters (newest first)."""
    query = _session_filters(session_rows(org_id, flow_id), statuses, version_id)
    if top:
        query = query.where(Session.pk > _pk_of(top))
    return query.limit(limit)


def changed_session_rows(
    org_id: str, flow_id: str, version_id: str | None, top: str, floor: str | None, cutoff: datetime
) -> Select:
    """Select sessions at or below the table's top row (and not below its floor) changed after `cutoff`."""
    query = session_rows(org_id, flow_id).where(Session.updated_at > cutoff, Session.pk <= _pk_of(top))
    if floor:
        query = query.where(Session.pk >= _pk_of(floor))
    return _session_filters(query, [], version_id)


def latest_inputs(org_id: str, flow_id: str) -> Select:
    """Select the inputs of the flow's newest session."""
    return (
        select(Session.inputs)
        .where(Session.org_id == org_id, Session.flow_id == flow_id)
        .order_by(Session.pk.desc())
        .limit(1)
    )
