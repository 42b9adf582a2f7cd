"""Build flows from compact step and edge lists, run their sessions, read back what happened."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from webapp.database import begin_write
from webapp.domain.schemas import FlowCreate, FlowVersionCreate
from webapp.extensions import db
from webapp.models import Flow, Organisation, Session, Step, StepRun
from webapp.runner import current_runner
from webapp.services import flows as flow_service
from webapp.services import sessions as session_service

Template = str | dict[str, Any] | None
StepSpec = tuple[str, str, Template]
EdgeSpec = tuple[str, str, str | None]


def template(value: Template) -> dict[str, Any]:
    """Turn a string into a text template; pass dicts through; None is a text template with no body."""
    if value is None:
        return {"type": "text"}
    if isinstance(value, str):
        return {"type": "text", "template": value}
    return value


def build_flow(org: Organisation, steps: list[StepSpec], edges: list[EdgeSpec], name: str = "Flow") -> Flow:
    """Create a live flow whose only version has these steps and transitions."""
    ids = {step_name: str(uuid.uuid4()) for step_name, _, _ in steps}
    body = {
        "steps": [
            {"id": ids[n], "name": n, "step_type": t, "prompt_template": template(p)} for n, t, p in steps
        ],
        "step_transitions": [
            {"source_step_id": ids[a], "target_step_id": ids[b], "label": label} for a, b, label in edges
        ],
    }
    db.session.commit()
    begin_write()  # workers may be writing: take SQLite's lock up front, as requests do
    flow = flow_service.create_flow(org.id, FlowCreate(name=name))
    flow_service.create_version(flow, FlowVersionCreate.model_validate(body))
    db.session.commit()
    return flow


def linear(*prompts: str, end: Template = "{{ last }}") -> tuple[list[StepSpec], list[EdgeSpec]]:
    """Return START -> PROMPT steps (templates `prompts`, named p1, p2, ...) -> END."""
    steps: list[StepSpec] = [("start", "START", None)]
    steps += [(f"p{i}", "PROMPT", text) for i, text in enumerate(prompts, 1)]
    steps.append(("end", "END", end))
    names = [s[0] for s in steps]
    return steps, [(a, b, None) for a, b in zip(names, names[1:], strict=False)]


def start(flow: Flow, inputs: dict[str, Any] | None = None, run: bool = True) -> str:
    """Start a session of the flow (run=True by default) and return its id."""
    db.session.commit()
    begin_write()
    session = session_service.start_session(flow, None, inputs or {}, run=run)
    db.session.commit()
    return session.id


def run_now(flow: Flow, inputs: dict[str, Any] | None = None) -> Session:
    """Start a session, execute it synchronously through the queue, and return it fresh."""
    session_id = start(flow, inputs)
    current_runner().enqueue(session_id)
    current_runner().drain()
    return fresh(session_id)


def fresh(session_id: str) -> Session:
    """Return the session as the database has it now (ends this thread's read snapshot)."""
    db.session.rollback()
    db.session.expire_all()
    return db.session.execute(select(Session).where(Session.id == session_id)).scalar_one()


def runs(session_id: str) -> list[tuple[str, StepRun]]:
    """Return (step name, step run) pairs of a session in execution order."""
    db.session.rollback()
    db.session.expire_all()
    rows = db.session.execute(
        select(Step.name, StepRun)
        .join(Step, Step.id == StepRun.step_id)
        .where(StepRun.session_id == session_id)
        .order_by(StepRun.position)
    ).all()
    return [(name, run) for name, run in rows]


def path(session_id: str) -> list[str]:
    """Return the names of the steps a session executed, in order."""
    return [name for name, _ in runs(session_id)]
