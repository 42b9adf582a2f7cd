"""Demo sessions that really ran (history for timelines and heat overlays) and ones queued to run live."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from webapp.database import begin_write
from webapp.extensions import db
from webapp.models import Flow
from webapp.models.types import utcnow
from webapp.runner import current_runner, engine
from webapp.runner.providers import EchoProvider
from webapp.services import sessions as session_service

# Seconds between two live demo sessions: the demo keeps moving for a few minutes after `make run`.
LIVE_SPACING_S = 15.0


def run_demo_sessions(
    org_id: str,
    samples: dict[str, list[dict[str, Any]]],
    *,
    history_per_flow: int = 6,
    live_per_flow: int = 10,
    seed: int = 11,
) -> tuple[int, int]:
    """Execute some sessions now (echo, no delay) and queue others to start over the next minutes.

    One history session in six gets inputs its flow does not expect, so it fails at START with
    an undefined variable, as real traffic sometimes does. Returns (ran, queued).
    """
    rng = random.Random(seed)
    flows = list(
        db.session.execute(
            select(Flow)
            .where(Flow.org_id == org_id, Flow.name.in_(samples), Flow.archived_at.is_(None))
            .where(Flow.current_version_id.is_not(None))
            .order_by(Flow.pk)
        ).scalars()
    )
    settings = engine.Settings.from_config(current_runner().app.config)
    echo = EchoProvider(0)
    ran = 0
    for flow in flows:
        for i in range(history_per_flow):
            inputs = {"text": "unexpected input"} if i % 6 == 5 else dict(rng.choice(samples[flow.name]))
            session_id = _start(flow, inputs)
            engine.execute(session_id, echo, settings)
            ran += 1
    queued: list[tuple[str, float]] = []
    for i in range(live_per_flow):
        for j, flow in enumerate(flows):
            delay = 2.0 + (i * len(flows) + j) * LIVE_SPACING_S
            session_id = _start(
                flow, dict(rng.choice(samples[flow.name])), delay_s=delay, lease_s=settings.lease_s
            )
            queued.append((session_id, delay))
    for session_id, delay in queued:
        current_runner().enqueue(session_id, delay_s=delay)
    return ran, len(queued)


def _start(flow: Flow, inputs: dict[str, Any], delay_s: float = 0.0, lease_s: float = 0.0) -> str:
    db.session.commit()
    begin_write()
    session = session_service.start_session(flow, None, inputs, run=True)
    if delay_s:
        # Claimed by the queue until its start time, so the sweeper does not start it early.
        session.lease_owner = engine.QUEUED
        session.lease_expires_at = utcnow() + timedelta(seconds=delay_s + lease_s)
    session_id = session.id
    db.session.commit()
    return session_id
