"""The built-in runner: executes sessions that were asked to run (run=True), step by step.

engine.py holds the semantics, templates.py the Jinja sandbox, providers.py the model providers,
queue.py the Huey queue and consumers, worker.py the `flask worker` command, queries.py the
Selects the pages use (timelines, paths, heat overlays).
"""

from __future__ import annotations

import logging

from flask import Flask, current_app

from webapp.domain.errors import conflict
from webapp.models import Session
from webapp.runner.queue import Runner
from webapp.services.sessions import touch

log = logging.getLogger(__name__)

__all__ = ["Runner", "current_runner", "enqueue", "init_app", "provider_label", "request_run"]


def init_app(app: Flask) -> None:
    """Give the app its runner; with FLASK_RUNNER_EMBEDDED, start a consumer in this process."""
    runner = Runner(app)
    app.extensions["runner"] = runner
    if app.config.get("RUNNER_EMBEDDED"):
        runner.start_embedded()


def current_runner() -> Runner:
    """Return the current app's runner."""
    runner: Runner = current_app.extensions["runner"]
    return runner


def enqueue(session_id: str) -> None:
    """Hand a session to the runner (call after the session's transaction committed).

    A queue that is down does not fail the request: the session is stored with run=True, and
    the sweeper enqueues it again after FLASK_RUNNER_REQUEUE_NEW_AFTER_S.
    """
    try:
        current_runner().enqueue(session_id)
    except Exception:
        log.exception("could not enqueue session %s; the sweeper will retry", session_id)


def request_run(session: Session) -> None:
    """Mark a NEW session for the runner (409 otherwise); commit, then enqueue(session.id)."""
    if session.status != "NEW":
        raise conflict(f"The session is {session.status}; only a NEW session can be handed to the runner")
    if not session.run:
        session.run = True
        touch(session)


def provider_label() -> str:
    """Describe the configured model provider for people (the UI shows it next to runs)."""
    return current_runner().provider().label
