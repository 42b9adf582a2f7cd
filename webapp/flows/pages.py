"""Browser pages for flows: the flow list, the flow page, and the live polls that keep them fresh."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, current_app, request, url_for

from webapp import pages, runner
from webapp.auth.browser import current_viewer, page_auth, page_viewer
from webapp.domain.ids import is_uuid
from webapp.extensions import db
from webapp.flows import bp
from webapp.flows import flow_page as fp
from webapp.flows import page_queries as pq
from webapp.flows.page_data import FlowArgs, FlowList, ListFilters, flow_list, flow_rows, parse_ids
from webapp.models import Flow
from webapp.pages import (
    Stamp,
    changed_since,
    render_fragment,
    render_page,
    see_other,
    unchanged,
    wants_fragment,
)
from webapp.services import flows as flow_service
from webapp.services import sessions as session_service

pages.init_blueprint(bp)


def _org_id() -> str:
    return page_viewer().org_id


@bp.get("/ui/flows")
@page_auth
def flow_list_page() -> Response:
    """Show the organisation's flows, live first, with live session counts."""
    data = flow_list(_org_id(), ListFilters.from_request(request))
    return render_page(
        "flows/list.html", fragments={"flow-list": "flow_list"}, data=data, viewer=current_viewer()
    )


@bp.get("/ui/flows/changes")
@page_auth
def flow_list_changes() -> Response:
    """Answer the flow list's poll: 204 when nothing changed, else the changed rows out of band."""
    org_id, held = _org_id(), Stamp.parse(request.args.get("stamp"))
    ids = parse_ids(request.args.get("flows"))
    stamp = changed_since(pq.flow_list_window(org_id, ids), held)
    if stamp is None:
        return unchanged()
    filters = ListFilters.from_request(request)
    if stamp.extra != held.extra:  # a flow itself changed (added, published, archived): redraw the list
        return render_fragment("flows/list.html", "flow_list", data=flow_list(org_id, filters), oob=True)
    changed = db.session.execute(pq.changed_flow_ids(org_id, ids, held.cutoff)).scalars().all()
    rows = flow_rows(org_id, db.session.execute(pq.flows_by_id(org_id, changed)).all()) if changed else []
    data = FlowList(filters, rows, {}, 0, 1, stamp, watched=ids)
    return render_fragment("flows/list.html", "flow_changes", rows=rows, data=data)


FLOW_FRAGMENTS = {
    "diagram-panel": "diagram_panel",
    "sessions-panel": "sessions_panel",
}


def _flow_or_404(flow_id: str) -> Flow:
    flow = (
        db.session.execute(pq.page_flow(_org_id(), flow_id)).scalar_one_or_none()
        if is_uuid(flow_id)
        else None
    )
    if flow is None:
        abort(404, "There is no such flow in this organisation.")
    return flow


@bp.get("/ui/flows/<flow_id>")
@page_auth
def flow_page(flow_id: str) -> Response:
    """Show a flow: the selected version's diagram, its versions, and its live sessions table."""
    flow, args = _flow_or_404(flow_id), FlowArgs.from_request(request)
    part = FLOW_FRAGMENTS.get(request.headers.get("HX-Target", "")) if wants_fragment() else None
    return render_page("flows/page.html", fragments=FLOW_FRAGMENTS, **_flow_context(flow, args, part))


def _flow_context(
    flow: Flow, args: FlowArgs, part: str | None, form: fp.StartForm | None = None
) -> dict[str, Any]:
    # A fragment request loads only what its block shows.
    ctx: dict[str, Any] = {
        "flow": flow,
        "state": fp.flow_state(flow),
        "args": args,
        "viewer": current_viewer(),
    }
    if part in (None, "diagram_panel"):
        ctx["diagram"] = fp.diagram_panel(flow, args)
        ctx["versions"] = ctx["diagram"].versions
    else:
        ctx["versions"] = db.session.execute(pq.versions_with_counts(flow.id)).all()
    if part in (None, "sessions_panel"):
        ctx["sessions"] = fp.sessions_panel(_org_id(), flow.id, args, ctx["versions"])
    if part in (None, "start_form"):
        ctx["form"] = form or fp.start_form_defaults(_org_id(), flow.id)
    return ctx


@bp.get("/ui/flows/<flow_id>/sessions/changes")
@page_auth
def flow_session_changes(flow_id: str) -> Response:
    """Answer the sessions table's poll: 204 when nothing changed, else only the changed rows, out of band."""
    org_id, held = _org_id(), Stamp.parse(request.args.get("stamp"))
    stamp = changed_since(pq.flow_sessions_window(org_id, flow_id), held)
    if stamp is None:
        return unchanged()
    _flow_or_404(flow_id)
    args, window = FlowArgs.from_request(request), _table_window()
    changes = fp.session_changes(org_id, flow_id, args, held, stamp, window)
    return render_fragment("flows/page.html", "session_changes", changes=changes, flow_id=flow_id)


def _table_window() -> tuple[str, str, list[str]]:
    """Read which rows the polling table shows: its top and bottom rows, and all of them."""
    top, floor = request.args.get("top", ""), request.args.get("floor", "")
    return top if is_uuid(top) else "", floor if is_uuid(floor) else "", parse_ids(request.args.get("ids"))


@bp.get("/ui/flows/<flow_id>/start")
@page_auth
def start_session_page(flow_id: str) -> Response:
    """Show the start-a-session form on its own page (the flow page embeds it too)."""
    flow = _flow_or_404(flow_id)
    return render_page(
        "flows/start.html",
        fragments={"start-form": "start_form"},
        **_flow_context(flow, FlowArgs(), "start_form"),
    )


@bp.post("/ui/flows/<flow_id>/sessions")
@page_auth
def start_session(flow_id: str) -> Response:
    """Start a session from the form; on bad input show the form again with the errors, create nothing."""
    flow = _flow_or_404(flow_id)
    version_ids = [v.id for v in db.session.execute(pq.versions_with_counts(flow.id)).all()]
    form, inputs = fp.parse_start_form(request.form, version_ids, int(current_app.config["MAX_BODY_BYTES"]))
    if not flow.is_live:
        form.errors["form"] = "This flow is not live: publish a version first."
    if form.errors:
        status = 409 if "form" in form.errors else 422
        return render_page(
            "flows/start.html",
            fragments={"start-form": "start_form"},
            status=status,
            **_flow_context(flow, FlowArgs(), "start_form", form),
        )
    session = session_service.start_session(flow, form.version or None, inputs, run=form.run)
    db.session.commit()
    if form.run:
        runner.enqueue(session.id)
    return see_other(url_for("sessions.session_page", session_id=session.id))


@bp.post("/ui/flows/<flow_id>/versions/<version_id>/publish")
@page_auth
def publish_version(flow_id: str, version_id: str) -> Response:
    """Publish a version (roll forward or back), then show it."""
    flow = _flow_or_404(flow_id)
    version = flow_service.get_version(flow, version_id) if is_uuid(version_id) else None
    if version is None:
        abort(404, "This flow has no such version.")
    flow_service.publish(flow, version)
    db.session.commit()
    return see_other(url_for("flows.flow_page", flow_id=flow.id, version=version.id))


@bp.post("/ui/flows/<flow_id>/archive")
@page_auth
def archive_flow(flow_id: str) -> Response:
    """Archive the flow: no new sessions; its history stays."""
    flow = _flow_or_404(flow_id)
    flow_service.archive_flow(flow)
    db.session.commit()
    return see_other(url_for("flows.flow_page", flow_id=flow.id))
