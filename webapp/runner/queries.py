"""Selects over step runs: a session's timeline and per-flow totals for heat overlays.

Step run statuses (StepRun.status), written by the runner:
RUNNING (a step is executing), WAITING (waiting for a retry after a transient model error),
COMPLETED, FAILED (the step's error is in StepRun.error; the session failed with it) and
INTERRUPTED (the worker running it stopped; the step was started again as the next step run,
with attempt + 1). StepRun.transition_id is the transition that led INTO the step (null for START).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, case, func, select

from webapp.extensions import db
from webapp.models import Session, Step, StepRun

RUN_STATUSES: tuple[str, ...] = ("RUNNING", "WAITING", "COMPLETED", "FAILED", "INTERRUPTED")
FINISHED_RUN_STATUSES: tuple[str, ...] = ("COMPLETED", "FAILED")


def session_step_runs(session_id: str) -> Select:
    """Select a session's step runs in execution order, each with its step's name and type.

    Rows: (StepRun, step_name, step_type). The caller scopes the session to its organisation.
    """
    return (
        select(StepRun, Step.name.label("step_name"), Step.step_type.label("step_type"))
        .join(Step, Step.id == StepRun.step_id)
        .where(StepRun.session_id == session_id)
        .order_by(StepRun.position)
    )


def step_totals(flow_id: str, version_id: str | None = None) -> Select:
    """Select per-step totals over a flow's sessions: (step_id, executions, failures).

    executions counts every step run (an interrupted and restarted step counts twice);
    failures counts step runs with status FAILED. Step ids are unique per version, so the
    rows of one version's steps are those whose step_id belongs to it; `version_id` narrows
    the sessions to that version's.
    """
    query = (
        select(
            StepRun.step_id,
            func.count().label("executions"),
            func.sum(case((StepRun.status == "FAILED", 1), else_=0)).label("failures"),
        )
        .join(Session, Session.id == StepRun.session_id)
        .where(Session.flow_id == flow_id)
        .group_by(StepRun.step_id)
    )
    if version_id is not None:
        query = query.where(Session.flow_version_id == version_id)
    return query


def transition_totals(flow_id: str, version_id: str | None = None) -> Select:
    """Select per-transition totals over a flow's sessions: (transition_id, executions, failures).

    executions counts how often the transition was followed (step runs entered through it);
    failures counts those step runs that FAILED, so failures / executions is the share of
    traversals that ended in a failed step right after it.
    """
    query = (
        select(
            StepRun.transition_id,
            func.count().label("executions"),
            func.sum(case((StepRun.status == "FAILED", 1), else_=0)).label("failures"),
        )
        .join(Session, Session.id == StepRun.session_id)
        .where(Session.flow_id == flow_id, StepRun.transition_id.is_not(None))
        .group_by(StepRun.transition_id)
    )
    if version_id is not None:
        query = query.where(Session.flow_version_id == version_id)
    return query


@dataclass(frozen=True)
class Heat:
    """Totals for a flow's diagram: {id: (executions, failures)} for steps and transitions."""

    steps: dict[str, tuple[int, int]]
    transitions: dict[str, tuple[int, int]]

    def failure_rate(self, item_id: str) -> float | None:
        """Return failures / executions for a step or transition id, or None if never executed."""
        runs, failures = self.steps.get(item_id) or self.transitions.get(item_id) or (0, 0)
        return failures / runs if runs else None


def flow_heat(flow_id: str, version_id: str | None = None) -> Heat:
    """Return executions and failures per step and per transition over a flow's sessions."""
    steps = {
        r.step_id: (int(r.executions), int(r.failures or 0))
        for r in db.session.execute(step_totals(flow_id, version_id))
    }
    transitions = {
        r.transition_id: (int(r.executions), int(r.failures or 0))
        for r in db.session.execute(transition_totals(flow_id, version_id))
    }
    return Heat(steps=steps, transitions=transitions)
