"""What the flow page shows: versions and diagram (diff, heat, step), the sessions table, the start form."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from flask import url_for
from markupsafe import Markup

from webapp.diagrams import OutlineItem, VersionDiff, diff_versions, outline, render_svg
from webapp.domain.statuses import ALL_STATUSES
from webapp.extensions import db
from webapp.flows import page_queries as pq
from webapp.flows.page_data import FlowArgs
from webapp.models import Flow
from webapp.pages import PAGE_SIZE, Stamp, micros, window_stamp
from webapp.runner.queries import flow_heat

STEP_PLACEHOLDER = "00000000-0000-0000-0000-00000000beef"


def flow_state(flow: Flow) -> str:
    """Return "live", "draft" or "archived"."""
    if flow.archived_at is not None:
        return "archived"
    return "live" if flow.current_version_id else "draft"


@dataclass
class VersionDoc:
    """One version's graph, parsed from its stored JSON."""

    id: str
    number: int
    steps: list[dict[str, Any]]
    transitions: list[dict[str, Any]]

    @classmethod
    def load(cls, row: Any) -> VersionDoc:
        doc = json.loads(row.doc)
        return cls(row.id, int(row.number), doc.get("steps") or [], doc.get("step_transitions") or [])


@dataclass
class DiagramPanel:
    """The versions list and the selected version's diagram (plain, diffed or with the heat overlay)."""

    args: FlowArgs
    versions: list[Any]
    current_version_id: str | None
    version: VersionDoc | None = None
    base: VersionDoc | None = None
    diff: VersionDiff | None = None
    svg: Markup = Markup("")
    outline: list[OutlineItem] = field(default_factory=list)
    step: dict[str, Any] | None = None
    step_status: str | None = None
    heat_runs: int = 0

    @property
    def selected(self) -> Any:
        return next((v for v in self.versions if self.version and v.id == self.version.id), None)

    @property
    def template_changes(self) -> list[Any]:
        return [c for c in self.diff.steps if c.template_diff] if self.diff else []


def diagram_panel(flow: Flow, args: FlowArgs) -> DiagramPanel:
    """Load the versions and draw the selected (or current, or newest) version."""
    versions = list(db.session.execute(pq.versions_with_counts(flow.id)).all())
    panel = DiagramPanel(args, versions, flow.current_version_id)
    ids = [v.id for v in versions]
    chosen = args.version if args.version in ids else (flow.current_version_id or (ids[0] if ids else None))
    if chosen is None:
        return panel
    panel.version = version = VersionDoc.load(db.session.execute(pq.version_doc_of(flow.id, chosen)).one())
    if args.compare:
        base_row = db.session.execute(pq.previous_version(flow.id, version.number)).first()
        if base_row is not None:
            panel.base = VersionDoc.load(base_row)
            panel.diff = diff_versions(
                panel.base.steps, panel.base.transitions, version.steps, version.transitions
            )
    heat = _heat(flow.id, version.id, panel) if args.heat and panel.diff is None else None
    link = url_for("flows.flow_page", flow_id=flow.id, **args.args(version=version.id, step=STEP_PLACEHOLDER))
    panel.svg = render_svg(
        version.steps,
        version.transitions,
        diff=panel.diff,
        heat=heat,
        selected_step_id=args.step or None,
        link_template=link.replace(STEP_PLACEHOLDER, "{step_id}"),
        title=f"{flow.name}, version {version.number}",
    )
    panel.outline = outline(version.steps, version.transitions)
    panel.step, panel.step_status = _selected_step(panel, args.step)
    return panel


def _heat(flow_id: str, version_id: str, panel: DiagramPanel) -> dict[str, Any]:
    totals = flow_heat(flow_id, version_id)
    panel.heat_runs = sum(runs for runs, _ in totals.steps.values())
    return {
        "steps": {sid: {"executions": r, "failures": f} for sid, (r, f) in totals.steps.items()},
        "transitions": {tid: r for tid, (r, _) in totals.transitions.items()},
    }


def _selected_step(panel: DiagramPanel, step_id: str) -> tuple[dict[str, Any] | None, str | None]:
    if not step_id or panel.version is None:
        return None, None
    status = panel.diff.step_status.get(step_id) if panel.diff else None
    steps = panel.diff.merged()[0] if panel.diff else panel.version.steps
    step = next((s for s in steps if str(s.get("id")) == step_id), None)
    if step is None:
        return None, None
    outgoing = [t for t in panel.version.transitions if t.get("source_step_id") == step.get("id")]
    names = {s["id"]: s.get("name") for s in panel.version.steps}
    links = [{"label": t.get("label"), "target": names.get(t.get("target_step_id"), "?")} for t in outgoing]
    change = next((c for c in panel.diff.steps if c.merged_id == step_id), None) if panel.diff else None
    return {**step, "links": links, "change": change}, status


@dataclass
class SessionsPanel:
    """One page of the flow's sessions, with counts per status and the poll state."""

    args: FlowArgs
    versions: list[Any]
    rows: list[Any]
    counts: dict[str, int]
    total: int
    pages: int
    stamp: Stamp
    top: str = ""
    floor: str = ""
    page_size: int = PAGE_SIZE

    @property
    def ids(self) -> str:
        """The rows on the page, for the poll (only those are updated in place)."""
        return ",".join(r.id for r in self.rows)

    @property
    def all_count(self) -> int:
        return sum(self.counts.values())

    @property
    def active_count(self) -> int:
        return sum(self.counts.get(s, 0) for s in ("NEW", "RUNNING", "WAITING"))


def status_counts(org_id: str, flow_id: str, version_id: str | None) -> dict[str, int]:
    """Return the flow's session count per status (every status present, zeros included)."""
    counts = dict.fromkeys(ALL_STATUSES, 0)
    for _, status, n in db.session.execute(pq.session_status_counts(org_id, [flow_id], version_id or None)):
        counts[status] = int(n)
    return counts


def sessions_panel(org_id: str, flow_id: str, args: FlowArgs, versions: list[Any]) -> SessionsPanel:
    """Load the session table's page, its status counts and its poll stamp."""
    counts = status_counts(org_id, flow_id, args.sv)
    statuses = args.statuses
    total = sum(counts[s] for s in statuses) if statuses else sum(counts.values())
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(args.page, pages)
    query = pq.session_table(org_id, flow_id, statuses, args.sv or None, PAGE_SIZE, (page - 1) * PAGE_SIZE)
    rows = list(db.session.execute(query).all())
    newest = db.session.execute(pq.newest_session_change(org_id, [flow_id])).scalar()
    stamp = window_stamp(pq.flow_sessions_window(org_id, flow_id), micros(newest))
    # No floor on the last page: a change to any older session may bring it into this page.
    top = rows[0].id if rows else ""
    floor = rows[-1].id if rows and page < pages else ""
    args = FlowArgs(**{**args.__dict__, "page": page})
    return SessionsPanel(args, versions, rows, counts, total, pages, stamp, top, floor)


@dataclass
class SessionChanges:
    """A poll's answer for the session table: new rows, changed rows, counts and the new poll state.

    new_rows go on top; changed_rows are on the page and are replaced in place; arrivals are older rows
    that now match the table's filters, placed in order by live.js.
    """

    args: FlowArgs
    new_rows: list[Any]
    changed_rows: list[Any]
    arrivals: list[Any]
    counts: dict[str, int]
    stamp: Stamp
    top: str
    floor: str
    shown: list[str]

    @property
    def ids(self) -> str:
        return ",".join(self.shown)


def session_changes(
    org_id: str, flow_id: str, args: FlowArgs, held: Stamp, stamp: Stamp, window: tuple[str, str, list[str]]
) -> SessionChanges:
    """Load the rows that changed since `held`: newer than the table's top, or changed inside it."""
    top, floor, shown = window
    statuses, sv = args.statuses, args.sv or None
    new_rows: list[Any] = []
    if args.page == 1:
        query = pq.new_session_rows(org_id, flow_id, statuses, sv, top or None, PAGE_SIZE)
        new_rows = list(db.session.execute(query).all())
    changed: list[Any] = []
    if top:
        query = pq.changed_session_rows(org_id, flow_id, sv, top, floor or None, held.cutoff)
        changed = list(db.session.execute(query).all())
    on_page = set(shown)
    present = [r for r in changed if r.id in on_page]
    arrivals = [r for r in changed if r.id not in on_page and (not statuses or r.status in statuses)]
    counts = status_counts(org_id, flow_id, args.sv)
    if new_rows:
        top = new_rows[0].id
    shown = [r.id for r in new_rows] + shown + [r.id for r in arrivals]
    return SessionChanges(args, new_rows, present, arrivals, counts, stamp, top, floor, shown)


@dataclass
class StartForm:
    """The start-a-session form: what was typed and what is wrong with it."""

    inputs: str = "{}"
    version: str = ""
    run: bool = True
    errors: dict[str, str] = field(default_factory=dict)


def start_form_defaults(org_id: str, flow_id: str) -> StartForm:
    """Prefill the form with the inputs of the flow's latest session (a handy template)."""
    latest = db.session.execute(pq.latest_inputs(org_id, flow_id)).scalar()
    return StartForm(inputs=json.dumps(latest, indent=2, ensure_ascii=False) if latest else "{}")


def parse_start_form(form: Any, version_ids: list[str], max_bytes: int) -> tuple[StartForm, dict[str, Any]]:
    """Validate the posted form; return it (with errors) and the parsed inputs."""
    data = StartForm(
        inputs=str(form.get("inputs", "")),
        version=str(form.get("version", "")),
        run=form.get("run") == "1",
    )
    inputs: Any = None
    if len(data.inputs.encode()) > max_bytes:
        data.errors["inputs"] = f"Inputs are too large (at most {max_bytes // 1024} KB)."
    else:
        try:
            inputs = json.loads(data.inputs or "{}")
        except json.JSONDecodeError as err:
            where = f"line {err.lineno}, column {err.colno}"
            data.errors["inputs"] = f"This is not valid JSON: {err.msg} ({where})."
        else:
            if not isinstance(inputs, dict):
                data.errors["inputs"] = 'Inputs must be a JSON object, like {"message": "Hello"}.'
    if data.version and data.version not in version_ids:
        data.errors["version"] = "Choose one of this flow's versions."
    return data, inputs if isinstance(inputs, dict) else {}


__all__ = [
    "DiagramPanel",
    "SessionChanges",
    "SessionsPanel",
    "StartForm",
    "VersionDoc",
    "diagram_panel",
    "flow_state",
    "parse_start_form",
    "session_changes",
    "sessions_panel",
    "start_form_defaults",
    "status_counts",
]
