"""What the session pages show: the session, its step-run timeline, the path on the diagram, comparisons."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from markupsafe import Markup

from webapp.diagrams import render_svg
from webapp.domain.statuses import FINAL
from webapp.extensions import db
from webapp.models import Session
from webapp.runner.queries import session_step_runs
from webapp.sessions import queries as sq

BAR_STEPS = 20  # duration bars come in 5 % width classes (app.css .w-0 … .w-20)


@dataclass
class RunView:
    """One step run, as the timeline and the compare page show it."""

    id: str
    step_id: str
    step_name: str
    step_type: str
    position: int
    attempt: int
    status: str
    started_at: datetime | None
    finished_at: datetime | None
    rendered_prompt: Any
    output: str | None
    error: str | None
    usage: dict[str, Any] | None
    transition_id: str | None
    bar: int = 0

    @property
    def duration_ms(self) -> float | None:
        if self.started_at is None:
            return None
        end = self.finished_at or datetime.now(UTC)
        return max((end - self.started_at).total_seconds() * 1000, 0.0)

    @property
    def prompt_text(self) -> str:
        """The rendered prompt as one comparable string."""
        value = self.rendered_prompt
        return (
            value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False, default=str)
        )


def load_runs(session_id: str) -> list[RunView]:
    """Load a session's step runs in order, with duration bars scaled to the longest run."""
    runs = [
        RunView(
            id=r.id,
            step_id=r.step_id,
            step_name=name,
            step_type=step_type,
            position=r.position,
            attempt=r.attempt,
            status=r.status,
            started_at=r.started_at,
            finished_at=r.finished_at,
            rendered_prompt=r.rendered_prompt,
            output=r.output,
            error=r.error,
            usage=r.usage,
            transition_id=r.transition_id,
        )
        for r, name, step_type in db.session.execute(session_step_runs(session_id)).all()
    ]
    longest = max((r.duration_ms or 0 for r in runs), default=0)
    for run in runs:
        run.bar = round((run.duration_ms or 0) / longest * BAR_STEPS) if longest else 0
    return runs


def highlight(runs: list[RunView]) -> dict[str, Any]:
    """Return the diagram highlight for the path the runs took: per step status, time and count."""
    steps: dict[str, dict[str, Any]] = {}
    for run in runs:
        entry = steps.setdefault(run.step_id, {"status": run.status, "duration_ms": 0.0, "count": 0})
        entry["status"] = run.status  # the latest attempt tells the step's state
        entry["duration_ms"] += run.duration_ms or 0
        entry["count"] += 1
    return {"steps": steps, "transitions": [r.transition_id for r in runs if r.transition_id]}


@dataclass
class SessionView:
    """Everything the session page shows."""

    session: Session
    flow_name: str
    version_number: int
    steps: list[dict[str, Any]]
    transitions: list[dict[str, Any]]
    runs: list[RunView] = field(default_factory=list)
    svg: Markup = Markup("")
    stamp: str = ""
    previous_id: str | None = None

    @property
    def final(self) -> bool:
        return self.session.status in FINAL

    @property
    def total_ms(self) -> float:
        return sum(r.duration_ms or 0 for r in self.runs)


def load_session_row(org_id: str, session_id: str) -> Any:
    """Return the session row (with flow name, version number and JSON), or None."""
    return db.session.execute(sq.session_page(org_id, session_id)).first()


def session_view(org_id: str, row: Any) -> SessionView:
    """Build the session page: timeline, highlighted diagram and poll stamp."""
    session: Session = row.Session
    doc = json.loads(row.doc)
    view = SessionView(
        session, row.flow_name, int(row.number), doc.get("steps") or [], doc.get("step_transitions") or []
    )
    view.runs = load_runs(session.id)
    view.svg = render_svg(
        view.steps,
        view.transitions,
        highlight=highlight(view.runs) if view.runs else None,
        title=f"{row.flow_name}, version {row.number}: the path of this session",
    )
    view.stamp = session_stamp(org_id, session.id) or ""
    view.previous_id = db.session.execute(sq.previous_session(org_id, session.flow_id, session.pk)).scalar()
    return view


def session_stamp(org_id: str, session_id: str) -> str | None:
    """Return the session page's stamp (revision and step-run progress), or None when not found."""
    row = db.session.execute(sq.session_stamp(org_id, session_id)).first()
    return None if row is None else f"{row.revision}.{row.runs}.{row.finished}.{row.status}"


# Compare two sessions ------------------------------------------------------------------------------


@dataclass
class ComparedStep:
    """One line of the side-by-side comparison: a step run of each session (None where one has none)."""

    a: RunView | None
    b: RunView | None

    @property
    def name(self) -> str:
        return (self.a or self.b).step_name if (self.a or self.b) else ""  # type: ignore[union-attr]

    def differs(self, attr: str) -> bool:
        """Tell whether the two runs differ in `attr` (prompt_text, output, error, status)."""
        if self.a is None or self.b is None:
            return True
        return bool(getattr(self.a, attr) != getattr(self.b, attr))


def align(a: list[RunView], b: list[RunView]) -> list[ComparedStep]:
    """Line up two timelines by step name, so a branch taken by only one shows as a gap on the other side."""
    matcher = difflib.SequenceMatcher(a=[r.step_name for r in a], b=[r.step_name for r in b], autojunk=False)
    out: list[ComparedStep] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            out += [ComparedStep(a[i], b[j]) for i, j in zip(range(i1, i2), range(j1, j2), strict=True)]
            continue
        # Different steps at the same place (another branch): each side on its own line, not paired.
        left, right = a[i1:i2], b[j1:j2]
        out += [ComparedStep(r, None) for r in left]
        out += [ComparedStep(None, r) for r in right]
    return out


@dataclass
class Comparison:
    """Two sessions side by side."""

    a: SessionView
    b: SessionView
    steps: list[ComparedStep]

    @property
    def same_inputs(self) -> bool:
        return bool(self.a.session.inputs == self.b.session.inputs)


def compare(org_id: str, row_a: Any, row_b: Any) -> Comparison:
    """Build the comparison of two sessions of the organisation."""
    a, b = session_view(org_id, row_a), session_view(org_id, row_b)
    return Comparison(a, b, align(a.runs, b.runs))
