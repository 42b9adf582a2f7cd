"""JSON API for the built-in runner: hand a session to it, and list what it executed."""

from __future__ import annotations

from flask import Response

from webapp.api.body import parse_body
from webapp.api.responses import json_response
from webapp.auth.resolver import api_auth
from webapp.domain.schemas import EmptyBody, StepRunRead
from webapp.extensions import db
from webapp.runner import enqueue, request_run
from webapp.runner.queries import session_step_runs
from webapp.sessions import bp
from webapp.sessions.api import check_if_match, session_or_404, session_response


@bp.post("/sessions/<session_id>/run")
@api_auth
def session_run(session_id: str) -> Response:
    """Hand a NEW session to the built-in runner (202); 409 if it is not NEW."""
    session = session_or_404(session_id, for_update=True)
    check_if_match(session)
    parse_body(EmptyBody)
    request_run(session)
    response = session_response(session, 202)
    db.session.commit()
    enqueue(session.id)
    return response


@bp.get("/sessions/<session_id>/steps")
@api_auth
def session_steps(session_id: str) -> Response:
    """List the session's step runs in execution order."""
    session = session_or_404(session_id)
    rows = db.session.execute(session_step_runs(session.id)).all()
    return json_response(
        [
            StepRunRead(
                id=run.id,
                step_id=run.step_id,
                step_name=step_name,
                step_type=step_type,
                transition_id=run.transition_id,
                attempt=run.attempt,
                status=run.status,
                started_at=run.started_at,
                finished_at=run.finished_at,
                rendered_prompt=run.rendered_prompt,
                output=run.output,
                error=run.error,
                usage=run.usage,
            ).model_dump(mode="json")
            for run, step_name, step_type in rows
        ]
    )
