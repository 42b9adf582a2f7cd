"""Browser pages for sessions: the session page (live until final), cancel, and two sessions compared."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, request, url_for

from webapp import pages
from webapp.auth.browser import page_auth, page_viewer
from webapp.domain.ids import is_uuid
from webapp.domain.statuses import FINAL
from webapp.extensions import db
from webapp.pages import render_fragment, render_page, see_other, unchanged
from webapp.services import sessions as session_service
from webapp.sessions import bp, exports  # noqa: F401 - exports registers its routes
from webapp.sessions import page_data as sd

pages.init_blueprint(bp)
STOP_POLLING = 286  # htmx stops polling on this status


def _org_id() -> str:
    return page_viewer().org_id


def _row_or_404(session_id: str) -> Any:
    row = sd.load_session_row(_org_id(), session_id) if is_uuid(session_id) else None
    if row is None:
        abort(404, "There is no such session in this organisation.")
    return row


@bp.get("/ui/sessions/<session_id>")
@page_auth
def session_page(session_id: str) -> Response:
    """Show a session: status, timings, inputs, error, its path on the diagram and its step runs."""
    view = sd.session_view(_org_id(), _row_or_404(session_id))
    return render_page("sessions/page.html", fragments={"session-live": "session_live"}, view=view)


@bp.get("/ui/sessions/<session_id>/changes")
@page_auth
def session_changes(session_id: str) -> Response:
    """Answer the session page's poll: 204 unchanged, the live part when changed, 286 once final."""
    stamp = sd.session_stamp(_org_id(), session_id) if is_uuid(session_id) else None
    if stamp is None:
        abort(404)
    final = stamp.rsplit(".", 1)[-1] in FINAL
    if stamp == request.args.get("stamp") and not final:
        return unchanged()
    view = sd.session_view(_org_id(), _row_or_404(session_id))
    return render_fragment(
        "sessions/page.html", "session_live", view=view, status=STOP_POLLING if final else 200
    )


@bp.post("/ui/sessions/<session_id>/cancel")
@page_auth
def cancel_session(session_id: str) -> Response:
    """Cancel a session that is not final (409 page otherwise), then show it."""
    session = (
        session_service.get_session(_org_id(), session_id, for_update=True) if is_uuid(session_id) else None
    )
    if session is None:
        abort(404, "There is no such session in this organisation.")
    session_service.cancel_session(session)
    db.session.commit()
    return see_other(url_for("sessions.session_page", session_id=session.id))


@bp.get("/ui/sessions/compare")
@page_auth
def compare_page() -> Response:
    """Compare two sessions step by step: ?a=&b= (or two ?s= from the sessions table)."""
    picked = request.args.getlist("s")
    if len(picked) == 2 and not request.args.get("a"):
        return see_other(url_for("sessions.compare_page", a=picked[0], b=picked[1]))
    a, b = request.args.get("a", ""), request.args.get("b", "")
    if not (is_uuid(a) and is_uuid(b)):
        abort(400, "Choose two sessions to compare (?a=<session id>&b=<session id>).")
    comparison = sd.compare(_org_id(), _row_or_404(a), _row_or_404(b))
    return render_page("sessions/compare.html", comparison=comparison)
