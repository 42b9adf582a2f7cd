"""JSON API: /live_flows/ and /flows/."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from flask import Response, request, url_for
from sqlalchemy import select

from webapp.api.body import parse_body, query_bool, query_enum, query_int, query_str
from webapp.api.idempotency import idempotent
from webapp.api.responses import json_response, not_found, validation_error
from webapp.auth.resolver import api_auth, current_principal
from webapp.domain.ids import canonical_uuid
from webapp.domain.schemas import EmptyBody, FlowCreate, FlowUpdate, FlowVersionCreate, SessionCreate
from webapp.domain.serialize import flow_json, fragment, session_read
from webapp.domain.statuses import ALL_STATUSES
from webapp.extensions import db
from webapp.flows import bp, queries
from webapp.models import Flow, FlowVersion, Session
from webapp.services import flows as flow_service
from webapp.services import sessions as session_service
from webapp.sessions.api import session_response

NOT_LIVE = "Live flow not found"
NOT_FOUND = "Flow not found"


@bp.get("/live_flows/")
@api_auth
def live_flow_list() -> Response:
    """List the organisation's live flows, each with its newest sessions."""
    limit, statuses = _embed_params()
    q = query_str("q")
    rows = db.session.execute(queries.live_flows(current_principal().org_id, q)).all()
    return json_response(_live_flows(rows, limit, statuses))


@bp.get("/live_flows/<flow_id>")
@api_auth
def live_flow_detail(flow_id: str) -> Response:
    """Return one live flow with its newest sessions."""
    row = _live_flow_row(flow_id)
    limit, statuses = _embed_params()
    return json_response(_live_flows([row], limit, statuses)[0])


@bp.get("/live_flows/<flow_id>/sessions")
@api_auth
def live_flow_sessions(flow_id: str) -> Response:
    """Page through a live flow's sessions, newest first, with a Link to the next page."""
    flow, _ = _live_flow_row(flow_id)
    statuses = query_enum("status", ALL_STATUSES)
    limit = query_int("limit", 100, 1, 1000)
    before_pk = _before_pk(flow)
    rows = db.session.execute(queries.flow_sessions(flow.id, statuses, limit + 1, before_pk)).all()
    page = rows[:limit]
    headers = {}
    if len(rows) > limit:
        args = [(k, v) for k, v in request.args.items(multi=True) if k != "before"]
        args.append(("before", page[-1].id))
        headers["Link"] = f'<{url_for(".live_flow_sessions", flow_id=flow.id)}?{urlencode(args)}>; rel="next"'
    return json_response([session_read(r, r.doc) for r in page], headers=headers)


@bp.post("/live_flows/<flow_id>/sessions")
@api_auth
def live_flow_start_session(flow_id: str) -> Response:
    """Start a session of a live flow (201), optionally handing it to the runner."""
    flow = _flow_or_404(flow_id, NOT_LIVE)
    to_run: list[str] = []

    def create() -> Response:
        data = parse_body(SessionCreate)
        version_id = str(data.flow_version_id) if data.flow_version_id else None
        session = session_service.start_session(flow, version_id, data.inputs, run=data.run)
        if data.run:
            to_run.append(session.id)
        location = url_for("sessions.session_detail", session_id=session.id)
        return session_response(session, 201, {"Location": location})

    response = idempotent(create)
    if to_run:
        from webapp.runner import enqueue

        enqueue(to_run[0])  # after the commit, so the runner finds the session
    return response


@bp.post("/flows/")
@api_auth
def flow_create() -> Response:
    """Create a draft flow."""

    def create() -> Response:
        flow = flow_service.create_flow(current_principal().org_id, parse_body(FlowCreate))
        location = url_for(".flow_detail", flow_id=flow.id)
        return json_response(_flow(flow, None), 201, {"Location": location})

    return idempotent(create)


@bp.get("/flows/")
@api_auth
def flow_list() -> Response:
    """List the organisation's flows: live and draft, or with ?archived=true the archived ones."""
    archived = query_bool("archived")
    rows = db.session.execute(queries.flows(current_principal().org_id, archived)).all()
    return json_response([_flow(flow, doc) for flow, doc in rows])


@bp.get("/flows/<flow_id>")
@api_auth
def flow_detail(flow_id: str) -> Response:
    """Return a flow, archived or not."""
    flow = _flow_or_404(flow_id)
    return json_response(_flow(flow, _current_doc(flow)))


@bp.patch("/flows/<flow_id>")
@api_auth
def flow_update(flow_id: str) -> Response:
    """Rename a flow or change its description."""
    flow = _flow_or_404(flow_id, for_update=True)
    flow_service.update_flow(flow, parse_body(FlowUpdate))
    response = json_response(_flow(flow, _current_doc(flow)))
    db.session.commit()
    return response


@bp.delete("/flows/<flow_id>")
@api_auth
def flow_archive(flow_id: str) -> Response:
    """Archive a flow (idempotent)."""
    flow_service.archive_flow(_flow_or_404(flow_id, for_update=True))
    db.session.commit()
    return Response(status=204)


@bp.post("/flows/<flow_id>/versions")
@api_auth
def version_create(flow_id: str) -> Response:
    """Add an immutable version to a flow (published unless `publish` is false)."""
    flow = _flow_or_404(flow_id, for_update=True)
    version = flow_service.create_version(flow, parse_body(FlowVersionCreate))
    location = url_for(".version_detail", flow_id=flow.id, version_id=version.id)
    response = json_response(fragment(version.doc), 201, {"Location": location})
    db.session.commit()
    return response


@bp.get("/flows/<flow_id>/versions")
@api_auth
def version_list(flow_id: str) -> Response:
    """List a flow's versions, newest first."""
    flow = _flow_or_404(flow_id)
    docs = db.session.execute(queries.flow_version_docs(flow.id)).scalars()
    return json_response([fragment(doc) for doc in docs])


@bp.get("/flows/<flow_id>/versions/<version_id>")
@api_auth
def version_detail(flow_id: str, version_id: str) -> Response:
    """Return one version of a flow."""
    return json_response(fragment(_version_or_404(_flow_or_404(flow_id), version_id).doc))


@bp.post("/flows/<flow_id>/versions/<version_id>/publish")
@api_auth
def version_publish(flow_id: str, version_id: str) -> Response:
    """Make a version current (roll forward or back)."""
    flow = _flow_or_404(flow_id, for_update=True)
    version = _version_or_404(flow, version_id)
    parse_body(EmptyBody)
    flow_service.publish(flow, version)
    response = json_response(_flow(flow, version.doc))
    db.session.commit()
    return response


# ---- helpers ---------------------------------------------------------------------------------


def _embed_params() -> tuple[int, list[str]]:
    return query_int("sessions_limit", 100, 0, 1000), query_enum("session_status", ALL_STATUSES)


def _live_flows(rows: Sequence[Any], limit: int, statuses: list[str]) -> list[dict[str, Any]]:
    """Serialise live flows with their newest sessions: two more statements, whatever the counts."""
    by_flow: dict[str, list[dict[str, Any]]] = {flow.id: [] for flow, _ in rows}
    if limit and rows:
        sessions = db.session.execute(queries.newest_sessions(by_flow, limit, statuses)).all()
        docs = {flow.current_version_id: doc for flow, doc in rows}
        older = {s.flow_version_id for s in sessions} - docs.keys()
        # Always run, even for an empty set, so the statement count never depends on the data.
        docs.update(db.session.execute(queries.version_docs(older)).all())
        for s in sessions:
            by_flow[s.flow_id].append(session_read(s, docs[s.flow_version_id]))
    return [_flow(flow, doc, by_flow[flow.id]) for flow, doc in rows]


def _flow(flow: Flow, doc: str | None, sessions: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return flow_json(
        id=flow.id,
        org_id=flow.org_id,
        name=flow.name,
        description=flow.description,
        version_doc=doc,
        created_at=flow.created_at,
        updated_at=flow.updated_at,
        sessions=sessions,
        archived_at=flow.archived_at,
    )


def _flow_or_404(flow_id: str, detail: str = NOT_FOUND, *, for_update: bool = False) -> Flow:
    uid = canonical_uuid(flow_id)
    flow = flow_service.get_flow(current_principal().org_id, uid, for_update=for_update) if uid else None
    if flow is None:
        raise not_found(detail)
    return flow


def _version_or_404(flow: Flow, version_id: str) -> FlowVersion:
    uid = canonical_uuid(version_id)
    version = flow_service.get_version(flow, uid) if uid else None
    if version is None:
        raise not_found("Flow version not found")
    return version


def _current_doc(flow: Flow) -> str | None:
    if flow.current_version_id is None:
        return None
    return db.session.execute(
        select(FlowVersion.doc).where(FlowVersion.id == flow.current_version_id)
    ).scalar_one()


def _live_flow_row(flow_id: str) -> tuple[Flow, str]:
    uid = canonical_uuid(flow_id)
    row = None
    if uid:
        row = db.session.execute(
            queries.live_flows(current_principal().org_id).where(Flow.id == uid)
        ).one_or_none()
    if row is None:
        raise not_found(NOT_LIVE)
    return row[0], row[1]


def _before_pk(flow: Flow) -> int | None:
    before = request.args.get("before")
    if before is None:
        return None
    uid = canonical_uuid(before)
    pk = None
    if uid:
        pk = db.session.execute(
            select(Session.pk).where(Session.id == uid, Session.flow_id == flow.id)
        ).scalar_one_or_none()
    if pk is None:
        raise validation_error(
            [{"loc": ["query", "before"], "msg": "Not a session of this flow", "type": "value_error"}]
        )
    return pk
