"""`flask demo` leaves sessions that really ran, and queues more that start over the next minutes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select

from webapp.demo import DEMO_ORG_ID
from webapp.extensions import db
from webapp.models import Session, StepRun
from webapp.runner import current_runner
from webapp.runner.engine import QUEUED


def test_demo_runs_sessions_and_queues_live_ones(app: Flask, runner: Any, tmp_path: Path) -> None:
    app.instance_path = str(tmp_path)

    result = runner.invoke(args=["demo", "--sessions", "2"])

    assert result.exit_code == 0, result.output
    assert "Runner: 18 sessions ran; 30 more start over the next minutes" in result.output
    db.session.rollback()
    ran = db.session.execute(
        select(Session).where(Session.org_id == DEMO_ORG_ID, Session.run.is_(True))
    ).scalars()
    by_status: dict[str, list[Session]] = {}
    for session in ran:
        by_status.setdefault(session.status, []).append(session)
    assert len(by_status["COMPLETED"]) == 15
    assert len(by_status["FAILED"]) == 3
    assert all("Undefined variable in step 'start'" in (s.error or "") for s in by_status["FAILED"])
    assert all(s.output for s in by_status["COMPLETED"])
    queued = by_status["NEW"]
    assert len(queued) == 30 and all(s.lease_owner == QUEUED for s in queued)
    assert current_runner().sweep() == []  # not started early by the sweeper
    assert db.session.execute(select(StepRun.id).where(StepRun.session_id == queued[0].id)).first() is None
    pending = current_runner().huey.pending()
    assert len(pending) == 30 and all(task.eta is not None for task in pending)
