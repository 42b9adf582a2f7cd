"""Execute one session step by step under a lease: the runner's semantics live here.

One transaction per step: it finishes the step that ran (its StepRun and the session's new
state), picks the next step, and starts it (a RUNNING StepRun, the lease renewed). Model calls
happen between transactions, so no lock is held while a model thinks. A worker may only write
while it holds the session's lease; a worker that died leaves a RUNNING StepRun behind, which
the next one marks INTERRUPTED and starts again (attempt + 1).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import or_, select, update

from webapp.database import begin_write
from webapp.domain.statuses import ACTIVE, is_final
from webapp.extensions import db
from webapp.models import Session, Step, StepRun, StepTransition
from webapp.models.types import utcnow
from webapp.runner.providers import Provider, ProviderError
from webapp.runner.templates import Rendered, RenderError, render_template
from webapp.services.sessions import set_status, touch

log = logging.getLogger(__name__)

# lease_owner of a session the sweeper put back in the queue: any worker may take it.
QUEUED = "queued"


@dataclass(frozen=True)
class Settings:
    """The runner's limits, from FLASK_RUNNER_* and FLASK_MODEL_* configuration."""

    max_steps: int = 100
    step_timeout_s: float = 60.0
    lease_s: float = 90.0
    max_attempts: int = 3
    max_retries: int = 3
    backoff_s: float = 1.0
    backoff_max_s: float = 30.0

    @classmethod
    def from_config(cls, config: Any) -> Settings:
        """Read the settings from an app's config."""
        return cls(
            max_steps=int(config.get("RUNNER_MAX_STEPS", 100)),
            step_timeout_s=float(config.get("RUNNER_STEP_TIMEOUT_S", 60)),
            lease_s=float(config.get("RUNNER_LEASE_S", 90)),
            max_attempts=int(config.get("RUNNER_MAX_ATTEMPTS", 3)),
            max_retries=int(config.get("MODEL_MAX_RETRIES", 3)),
            backoff_s=float(config.get("MODEL_RETRY_BACKOFF_S", 1.0)),
            backoff_max_s=float(config.get("MODEL_RETRY_MAX_BACKOFF_S", 30.0)),
        )


# ---- the graph of a version (immutable, so cached per process) ------------------------------


@dataclass(frozen=True)
class StepDef:
    id: str
    name: str
    type: str
    template: dict[str, Any]


@dataclass(frozen=True)
class TransitionDef:
    id: str
    target_id: str
    label: str | None


@dataclass(frozen=True)
class Graph:
    steps: dict[str, StepDef]
    outgoing: dict[str, tuple[TransitionDef, ...]]
    start_id: str | None


@lru_cache(maxsize=256)
def _graph_cached(version_id: str, _bind: str) -> Graph:
    steps = db.session.execute(
        select(Step.id, Step.name, Step.step_type, Step.prompt_template)
        .where(Step.version_id == version_id)
        .order_by(Step.position)
    ).all()
    transitions = db.session.execute(
        select(
            StepTransition.id,
            StepTransition.source_step_id,
            StepTransition.target_step_id,
            StepTransition.label,
        )
        .where(StepTransition.version_id == version_id)
        .order_by(StepTransition.position)
    ).all()
    outgoing: dict[str, list[TransitionDef]] = {}
    for t in transitions:
        outgoing.setdefault(t.source_step_id, []).append(TransitionDef(t.id, t.target_step_id, t.label))
    return Graph(
        steps={s.id: StepDef(s.id, s.name, s.step_type, dict(s.prompt_template or {})) for s in steps},
        outgoing={k: tuple(v) for k, v in outgoing.items()},
        start_id=next((s.id for s in steps if s.step_type == "START"), None),
    )


def load_graph(version_id: str) -> Graph:
    """Return a version's steps and transitions (versions never change, so this is cached)."""
    return _graph_cached(version_id, str(db.engine.url))


class RoutingError(Exception):
    """No transition fits a step's output."""


def choose_transition(graph: Graph, step: StepDef, output: str) -> TransitionDef | None:
    """Pick the transition to follow after `step` answered `output`; None means the session completes.

    None or one outgoing transition: complete or follow it. Several: the one whose label equals
    the output (trimmed, case-insensitive), else the one labelled `default`, else RoutingError.
    """
    outgoing = graph.outgoing.get(step.id, ())
    if len(outgoing) <= 1:
        return outgoing[0] if outgoing else None
    answer = output.strip().casefold()
    for wanted in (answer, "default"):
        for transition in outgoing:
            if (transition.label or "").strip().casefold() == wanted:
                return transition
    labels = ", ".join(repr(t.label) if t.label else "(unlabelled)" for t in outgoing)
    shown = output.strip()
    shown = shown if len(shown) <= 200 else shown[:200] + "…"
    raise RoutingError(
        f"Step '{step.name}' answered {shown!r}, which matches none of the labels of its transitions: "
        f"{labels}. Labels are compared trimmed and case-insensitively; label one transition "
        "'default' to catch every other answer."
    )


# ---- what a running session knows -----------------------------------------------------------


@dataclass
class Context:
    """The template variables: inputs, earlier outputs by step name, and the last output."""

    inputs: dict[str, Any]
    steps: dict[str, str] = field(default_factory=dict)
    last: str = ""

    def record(self, step: StepDef, output: str) -> None:
        self.steps[step.name] = output
        self.last = output

    def variables(self) -> dict[str, Any]:
        return {"inputs": self.inputs, "steps": dict(self.steps), "last": self.last}


@dataclass
class Plan:
    """A step that has been started (its RUNNING StepRun is committed) and must now be performed."""

    session_id: str
    graph: Graph
    context: Context
    step: StepDef
    run_id: str
    rendered: Rendered
    started: float  # time.monotonic() when it started, for the step timeout


@dataclass(frozen=True)
class Outcome:
    output: str | None = None
    usage: dict[str, Any] | None = None
    error: str | None = None


class LeaseLost(Exception):
    """Another worker took the session over; this one must stop without writing."""


def new_owner() -> str:
    """Return a lease owner id naming this host, process and run."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


# ---- the loop ------------------------------------------------------------------------------


def execute(
    session_id: str,
    provider: Provider,
    settings: Settings,
    *,
    owner: str | None = None,
    stopping: threading.Event | None = None,
) -> str | None:
    """Run a session until it ends, is cancelled or is handed back; return the lease owner used.

    Returns None when the session was not runnable (not asked to run, final, or leased by
    another live worker): duplicates of a task are harmless.
    """
    owner = owner or new_owner()
    plan = _acquire_and_start(session_id, owner, settings)
    if plan is None:
        return None
    try:
        while plan is not None:
            outcome = _perform(plan, provider, settings, owner)
            plan = _finish(plan, outcome, owner, settings, stopping)
    except LeaseLost:
        db.session.rollback()
        log.warning("session %s: lease lost by %s; another worker carries on", session_id, owner)
    else:
        log.info("session %s: run ended by %s", session_id, owner)
    return owner


def _lock(session_id: str, owner: str) -> Session:
    """Start a write transaction and return the session if this worker still holds its lease."""
    begin_write()
    session = db.session.execute(
        select(Session).where(Session.id == session_id).with_for_update()
    ).scalar_one_or_none()
    if session is None or session.lease_owner not in (owner, QUEUED):
        db.session.rollback()
        raise LeaseLost(session_id)
    session.lease_owner = owner
    return session


def _release(session: Session) -> None:
    session.lease_owner = None
    session.lease_expires_at = None


def _fail(session: Session, message: str) -> None:
    """Fail a session unless it already ended (a cancel is never overwritten)."""
    if not is_final(session.status):
        session.error = message
        set_status(session, "FAILED")
    _release(session)
    touch(session)


def _acquire_and_start(session_id: str, owner: str, settings: Settings) -> Plan | None:
    now = utcnow()
    begin_write()
    acquired = db.session.execute(
        update(Session)
        .where(
            Session.id == session_id,
            Session.run.is_(True),
            Session.status.in_(ACTIVE),
            or_(
                Session.lease_owner.is_(None),
                Session.lease_owner == QUEUED,
                Session.lease_expires_at.is_(None),
                Session.lease_expires_at < now,
            ),
        )
        .values(
            lease_owner=owner,
            lease_expires_at=now + timedelta(seconds=settings.lease_s),
            run_attempts=Session.run_attempts + 1,
        )
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if acquired != 1:
        db.session.rollback()
        return None
    session = db.session.execute(
        select(Session).where(Session.id == session_id).execution_options(populate_existing=True)
    ).scalar_one()
    graph = load_graph(session.flow_version_id)
    runs = list(
        db.session.execute(
            select(StepRun).where(StepRun.session_id == session_id).order_by(StepRun.position)
        ).scalars()
    )
    # A RUNNING or WAITING step run at the end was left by a worker that stopped mid-step.
    interrupted: StepRun | None = None
    if runs and runs[-1].status in ("RUNNING", "WAITING"):
        interrupted = runs[-1]
        interrupted.status = "INTERRUPTED"
        interrupted.finished_at = now
        interrupted.error = "The worker running this step stopped (its lease expired)."
    if session.run_attempts > settings.max_attempts:
        where = graph.steps.get(interrupted.step_id) if interrupted else None
        _fail(
            session,
            f"Gave up after {settings.max_attempts} attempt{'' if settings.max_attempts == 1 else 's'} "
            "(FLASK_RUNNER_MAX_ATTEMPTS): the worker "
            "running this session stopped each time"
            + (f", the last time during step '{where.name}'" if where else "")
            + ". Check the workers' logs (memory, crashes) before running it again.",
        )
        db.session.commit()
        return None
    if interrupted is not None:
        interrupted.error = f"{interrupted.error} It started again as attempt {interrupted.attempt + 1}."
    if session.status in ("NEW", "WAITING"):
        set_status(session, "RUNNING")
    context = Context(inputs=dict(session.inputs or {}))
    for run in runs:
        if run.status == "COMPLETED" and run.step_id in graph.steps:
            context.record(graph.steps[run.step_id], run.output or "")
    position = (runs[-1].position + 1) if runs else 1
    plan: Plan | None
    if interrupted is not None or (runs and runs[-1].status == "INTERRUPTED"):
        last = interrupted or runs[-1]
        plan = _start_step(
            session,
            graph,
            context,
            graph.steps[last.step_id],
            last.transition_id,
            last.attempt + 1,
            position,
            settings,
        )
    elif not runs:
        if graph.start_id is None:
            _fail(session, "The flow version has no START step, so there is nothing to run")
            plan = None
        else:
            plan = _start_step(
                session, graph, context, graph.steps[graph.start_id], None, 1, position, settings
            )
    elif runs[-1].status == "COMPLETED":
        plan = _advance(session, graph, context, runs[-1], graph.steps[runs[-1].step_id], position, settings)
    else:  # a FAILED last step run: the session should have failed with it
        _fail(session, runs[-1].error or "The last step failed")
        plan = None
    db.session.commit()
    return plan


def _start_step(
    session: Session,
    graph: Graph,
    context: Context,
    step: StepDef,
    transition_id: str | None,
    attempt: int,
    position: int,
    settings: Settings,
) -> Plan | None:
    """Inside a write transaction: start `step` (or fail the session); the caller commits."""
    now = utcnow()
    if session.steps_count >= settings.max_steps:
        _fail(
            session,
            f"Stopped after {settings.max_steps} steps (FLASK_RUNNER_MAX_STEPS) before step '{step.name}': "
            "the flow seems to loop. Check the labels that lead back, or raise the limit.",
        )
        return None
    run = StepRun(
        session_id=session.id,
        step_id=step.id,
        position=position,
        attempt=attempt,
        status="RUNNING",
        started_at=now,
        transition_id=transition_id,
    )
    try:
        rendered = render_template(step.template, context.variables(), step.name)
    except RenderError as exc:
        run.status = "FAILED"
        run.finished_at = now
        run.error = str(exc)
        db.session.add(run)
        session.steps_count += 1
        _fail(session, str(exc))
        return None
    run.rendered_prompt = rendered.prompt
    db.session.add(run)
    session.lease_expires_at = now + timedelta(seconds=settings.lease_s)
    touch(session)
    db.session.flush()
    return Plan(session.id, graph, context, step, run.id, rendered, time.monotonic())


def _advance(
    session: Session,
    graph: Graph,
    context: Context,
    run: StepRun,
    step: StepDef,
    position: int,
    settings: Settings,
) -> Plan | None:
    """Inside a write transaction: after a completed step, complete the session or start the next step."""
    output = run.output or ""
    if step.type == "END":
        session.output = output
        set_status(session, "COMPLETED")
        _release(session)
        touch(session)
        return None
    try:
        transition = choose_transition(graph, step, output)
    except RoutingError as exc:
        run.status = "FAILED"
        run.error = str(exc)
        _fail(session, str(exc))
        return None
    if transition is None:
        session.output = output
        set_status(session, "COMPLETED")
        _release(session)
        touch(session)
        return None
    target = graph.steps[transition.target_id]
    return _start_step(session, graph, context, target, transition.id, 1, position, settings)


def _perform(plan: Plan, provider: Provider, settings: Settings, owner: str) -> Outcome:
    """Produce the step's output: PROMPT asks the model (retrying transient errors), others render."""
    step = plan.step
    if step.type != "PROMPT":
        if step.type == "END" and step.template.get("type") == "text" and "template" not in step.template:
            return Outcome(output=plan.context.last)
        return Outcome(output=plan.rendered.text)
    deadline = plan.started + settings.step_timeout_s
    retries = 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return Outcome(error=_timed_out(step, settings))
        try:
            completion = provider.complete(plan.rendered, remaining)
            return Outcome(output=completion.text, usage=completion.usage)
        except ProviderError as exc:
            if not exc.transient:
                return Outcome(error=f"The model provider failed at step '{step.name}': {exc.message}")
            if retries >= settings.max_retries:
                return Outcome(
                    error=f"The model provider failed at step '{step.name}' {retries + 1} times "
                    f"(FLASK_MODEL_MAX_RETRIES={settings.max_retries}); last error: {exc.message}"
                )
            delay = exc.retry_after if exc.retry_after is not None else settings.backoff_s * 2**retries
            delay = min(delay, settings.backoff_max_s)
            if time.monotonic() + delay >= deadline:
                return Outcome(error=_timed_out(step, settings) + f"; last error: {exc.message}")
            retries += 1
            _wait(plan, owner, settings, f"{exc.message}; retry {retries} of {settings.max_retries}", delay)
        except Exception as exc:  # a provider bug must fail the step, not kill the worker
            log.exception("provider %s failed", getattr(provider, "name", "?"))
            return Outcome(
                error=f"The model provider failed at step '{step.name}': {type(exc).__name__}: {exc}"
            )


def _timed_out(step: StepDef, settings: Settings) -> str:
    return (
        f"Step '{step.name}' took longer than {settings.step_timeout_s:g} s "
        "(FLASK_RUNNER_STEP_TIMEOUT_S) and was stopped"
    )


def _wait(plan: Plan, owner: str, settings: Settings, message: str, delay: float) -> None:
    """Show WAITING (step run and session) while backing off before a retry, then RUNNING again."""
    session = _lock(plan.session_id, owner)
    run = db.session.get(StepRun, plan.run_id)
    assert run is not None
    run.status = "WAITING"
    run.error = f"{message} in {delay:.1f} s"
    if session.status == "RUNNING":
        set_status(session, "WAITING")
    session.lease_expires_at = utcnow() + timedelta(seconds=delay + settings.lease_s)
    touch(session)
    db.session.commit()
    time.sleep(delay)
    session = _lock(plan.session_id, owner)
    run = db.session.get(StepRun, plan.run_id)
    assert run is not None
    run.status = "RUNNING"
    run.error = None
    if session.status == "WAITING":
        set_status(session, "RUNNING")
    session.lease_expires_at = utcnow() + timedelta(seconds=settings.lease_s)
    touch(session)
    db.session.commit()


def _finish(
    plan: Plan, outcome: Outcome, owner: str, settings: Settings, stopping: threading.Event | None
) -> Plan | None:
    """One transaction: record the step's result and the session's new state, then start the next step."""
    session = _lock(plan.session_id, owner)
    run = db.session.get(StepRun, plan.run_id)
    assert run is not None
    now = utcnow()
    run.finished_at = now
    session.steps_count += 1
    if session.status == "WAITING":
        set_status(session, "RUNNING")
    if outcome.error is not None:
        run.status = "FAILED"
        run.error = outcome.error
        _fail(session, outcome.error)
        db.session.commit()
        return None
    run.status = "COMPLETED"
    run.error = None
    run.output = outcome.output or ""
    run.usage = outcome.usage
    plan.context.record(plan.step, run.output)
    next_plan: Plan | None
    if is_final(session.status):
        # Cancelled while the step ran: the step's result is kept, no further step starts.
        _release(session)
        touch(session)
        next_plan = None
    elif stopping is not None and stopping.is_set() and plan.step.type != "END":
        # This worker is shutting down: hand the session back without using up an attempt.
        _release(session)
        session.run_attempts = max(0, session.run_attempts - 1)
        touch(session)
        next_plan = None
    else:
        next_plan = _advance(session, plan.graph, plan.context, run, plan.step, run.position + 1, settings)
    db.session.commit()
    return next_plan


# ---- recovery --------------------------------------------------------------------------------


def sweep(settings: Settings, requeue_new_after_s: float, limit: int = 200) -> list[str]:
    """Claim run=True sessions nobody is executing (expired or no lease); return their ids to enqueue.

    RUNNING and WAITING sessions whose lease expired were left by a worker that died; NEW ones
    older than `requeue_new_after_s` lost their task (e.g. the queue was down). Each claim sets
    the lease to `queued` for one lease period, so it is not enqueued again meanwhile; a
    duplicate task is harmless, as only one worker can take the lease.
    """
    now = utcnow()
    stale = or_(Session.lease_expires_at.is_(None), Session.lease_expires_at < now)
    old_enough = or_(
        Session.status != "NEW", Session.created_at < now - timedelta(seconds=requeue_new_after_s)
    )
    # Look first in a read transaction: an idle sweep never takes SQLite's write lock.
    candidates = list(
        db.session.execute(
            select(Session.id)
            .where(Session.run.is_(True), Session.status.in_(ACTIVE), stale, old_enough)
            .order_by(Session.pk)
            .limit(limit)
        ).scalars()
    )
    db.session.rollback()
    if not candidates:
        return []
    begin_write()
    claimed = list(
        db.session.execute(
            update(Session)
            .where(Session.id.in_(candidates), Session.status.in_(ACTIVE), stale)
            .values(lease_owner=QUEUED, lease_expires_at=now + timedelta(seconds=settings.lease_s))
            .returning(Session.id)
            .execution_options(synchronize_session=False)
        ).scalars()
    )
    db.session.commit()
    return claimed
