"""Server-rendered SVG of a flow version: CSP-safe (no inline styles or scripts), styled by diagram.css."""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypedDict

from markupsafe import Markup

from webapp.diagrams._text import clean, text_width, truncate, xml
from webapp.diagrams.diff import VersionDiff
from webapp.diagrams.layout import (
    NAME_MEASURE,
    NODE_PAD_X,
    EdgeRoute,
    NodeBox,
    _badge_w,
    layout,
    layout_key,
)

TYPE_LABELS = {"START": "Start", "PROMPT": "Prompt", "CONDITION": "Condition", "END": "End"}
META_SIZE = 11.0
FLAG_LABELS = {"added": "New", "removed": "Removed", "changed": "Changed"}

# Size buckets grow by 10 %: the CSS caps each bucket's max-width, so a small diagram is never blown up by
# more than ~10 % while width="100%" still lets big ones shrink to fit (no inline style needed for either).
SIZE_BUCKETS = tuple(round(200 * 1.1**n) for n in range(33))


def size_class(width: float) -> str | None:
    """Return the CSS class capping the diagram's max-width near its natural width, if any."""
    for i, bucket in enumerate(SIZE_BUCKETS):
        if width <= bucket:
            return f"fd-s-{i}"
    return None


class StepRun(TypedDict, total=False):
    status: str
    duration_ms: int | None
    count: int


class Highlight(TypedDict, total=False):
    steps: Mapping[str, StepRun]
    transitions: Iterable[str]


class StepHeat(TypedDict, total=False):
    executions: int
    failures: int


class Heat(TypedDict, total=False):
    steps: Mapping[str, StepHeat]
    transitions: Mapping[str, int]


def format_duration(ms: float | None) -> str:
    """Format a duration compactly: 850 ms, 1.2 s, 3 min 5 s."""
    if ms is None:
        return ""
    if ms < 1000:
        return f"{round(ms)} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f} s".replace(".0 s", " s")
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


def quantile_buckets(values: Mapping[str, float], buckets: int = 4) -> dict[str, int]:
    """Map keys to 0 (zero/absent) or 1..buckets by the quantile of their value among non-zero values."""
    positive = sorted(v for v in values.values() if v > 0)
    out: dict[str, int] = {}
    for key, v in values.items():
        if v <= 0 or not positive:
            out[key] = 0
            continue
        # Rank-based so one outlier cannot squash everything else into the lowest bucket.
        share = bisect_right(positive, v) / len(positive)
        out[key] = max(1, min(buckets, -(-int(share * buckets * 1000) // 1000)))
    return out


def _cls(*names: str | None) -> str:
    return " ".join(n for n in names if n)


def _num(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def _arrow_defs(prefix: str) -> str:
    variants = ("", "taken", "failed", "added", "removed")
    out = []
    for v in variants:
        mid = f"{prefix}-arrow" + (f"-{v}" if v else "")
        out.append(
            f'<marker id="{mid}" class="{_cls("arrow", f"arrow--{v}" if v else None)}" viewBox="0 0 10 10" '
            'refX="8.5" refY="5" markerWidth="9" markerHeight="9" markerUnits="userSpaceOnUse" '
            'orient="auto-start-reverse"><path d="M1 1.2L9 5L1 8.8L2.6 5z"/></marker>'
        )
    return "<defs>" + "".join(out) + "</defs>"


def render_svg(
    steps: Sequence[Mapping[str, Any]],
    transitions: Sequence[Mapping[str, Any]],
    *,
    highlight: Highlight | Mapping[str, Any] | None = None,
    diff: VersionDiff | None = None,
    heat: Heat | Mapping[str, Any] | None = None,
    selected_step_id: str | None = None,
    link_template: str | None = None,
    id_prefix: str | None = None,
    title: str | None = None,
) -> Markup:
    """Render the flow as an accessible SVG; with `diff`, draw the diff's merged graph instead."""
    if diff is not None:
        # Removed steps must take part in the layout so they can be drawn ghosted where they were.
        steps, transitions = diff.merged()
    detail = bool(highlight or heat)
    key = layout_key(steps, transitions, detail_line=detail)
    lay = layout(steps, transitions, detail_line=detail)
    prefix = id_prefix or "fd-" + hashlib.sha1(repr(key).encode()).hexdigest()[:8]
    names = {str(s["id"]): clean(s.get("name")) or "Untitled step" for s in steps}

    hl_steps: Mapping[str, Mapping[str, Any]] = (highlight or {}).get("steps") or {}
    hl_trans = {str(t) for t in ((highlight or {}).get("transitions") or ())}
    heat_steps: Mapping[str, Mapping[str, Any]] = (heat or {}).get("steps") or {}
    heat_trans: Mapping[str, int] = (heat or {}).get("transitions") or {}
    step_heat = quantile_buckets(
        {n.id: float(heat_steps.get(n.id, {}).get("executions") or 0) for n in lay.nodes}
    )
    edge_heat = quantile_buckets({e.id: float(heat_trans.get(e.id) or 0) for e in lay.edges})
    failed_steps = {sid for sid, run in hl_steps.items() if str(run.get("status", "")).upper() == "FAILED"}

    root_cls = _cls(
        "flow-diagram",
        size_class(lay.width if lay.nodes else 320),
        "has-highlight" if highlight else None,
        "has-diff" if diff is not None else None,
        "has-heat" if heat else None,
    )
    heading = clean(title) or "Flow diagram"
    n_steps, n_trans = len(lay.nodes), len(lay.edges)
    summary = f"{n_steps} step{'s' * (n_steps != 1)}, {n_trans} transition{'s' * (n_trans != 1)}."
    parts: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{root_cls}" viewBox="0 0 {_num(lay.width)} '
        f'{_num(lay.height)}" width="100%" preserveAspectRatio="xMidYMin meet" '
        f'role="img" aria-labelledby="{prefix}-title {prefix}-desc" '
        f'data-width="{_num(lay.width)}" data-height="{_num(lay.height)}">',
        f'<title id="{prefix}-title">{xml(heading)}</title>',
        f'<desc id="{prefix}-desc">{xml(summary)}</desc>',
        _arrow_defs(prefix),
    ]
    if not lay.nodes:
        parts[0] = parts[0].replace(
            f'viewBox="0 0 {_num(lay.width)} {_num(lay.height)}"', 'viewBox="0 0 320 80"'
        )
        parts.append('<text class="empty-text" x="160" y="44" text-anchor="middle">No steps yet</text></svg>')
        return Markup("".join(parts))

    edge_parts: list[str] = []
    label_parts: list[str] = []
    for e in lay.edges:
        state = None
        if diff is not None:
            status = diff.transition_status.get(e.id)
            state = status if status in ("added", "removed") else None
        taken = e.id in hl_trans
        failed = taken and e.target_id in failed_steps
        marker_variant = state or ("failed" if failed else "taken" if taken else "")
        marker = f"{prefix}-arrow" + (f"-{marker_variant}" if marker_variant else "")
        cls = _cls(
            "edge",
            f"edge--{e.kind}",
            f"is-{state}" if state else None,
            "is-taken" if taken else None,
            "is-failed" if failed else None,
            f"heat-w-{edge_heat.get(e.id, 0)}" if heat else None,
        )
        text = _edge_text(e, names)
        count = heat_trans.get(e.id) if heat else None
        if count:
            text += f" \u2014 {count:,} time{'s' * (count != 1)}"
        edge_parts.append(
            f'<g class="{cls}" data-transition-id="{xml(e.id)}"><title>{xml(text)}</title>'
            f'<path class="edge-hit" d="{e.d}"/>'
            f'<path class="edge-line" d="{e.d}" marker-end="url(#{marker})"/></g>'
        )
        if e.label is not None:
            lb = e.label
            label_cls = _cls("edge-label", f"is-{state}" if state else None, "is-taken" if taken else None)
            label_parts.append(
                f'<g class="{label_cls}" data-transition-id="{xml(e.id)}"><title>{xml(lb.full_text)}</title>'
                f'<rect x="{_num(lb.x)}" y="{_num(lb.y)}" width="{_num(lb.w)}" height="{_num(lb.h)}" rx="9"/>'
                f'<text x="{_num(lb.cx)}" y="{_num(lb.cy + 3.8)}" text-anchor="middle">'
                f"{xml(lb.text)}</text></g>"
            )

    node_parts: list[str] = []
    for n in lay.nodes:
        node_parts.append(
            _node(
                n,
                prefix=prefix,
                status=diff.step_status.get(n.id) if diff is not None else None,
                run=hl_steps.get(n.id),
                heat_bucket=step_heat.get(n.id, 0) if heat else None,
                heat_info=heat_steps.get(n.id) if heat else None,
                selected=n.id == selected_step_id,
                href=link_template.format(step_id=n.id) if link_template else None,
            )
        )
    parts += [
        '<g class="edges">',
        *edge_parts,
        '</g><g class="nodes">',
        *node_parts,
        '</g><g class="edge-labels">',
        *label_parts,
        "</g></svg>",
    ]
    return Markup("".join(parts))


def _edge_text(e: EdgeRoute, names: Mapping[str, str]) -> str:
    text = f"{names.get(e.source_id, '?')} \u2192 {names.get(e.target_id, '?')}"
    if e.label is not None:
        text += f" ({e.label.full_text})"
    return text


def _node(
    n: NodeBox,
    *,
    prefix: str,
    status: str | None,
    run: Mapping[str, Any] | None,
    heat_bucket: int | None,
    heat_info: Mapping[str, Any] | None,
    selected: bool,
    href: str | None,
) -> str:
    step_type = n.step_type.lower()
    run_status = str(run.get("status") or "").upper() if run else ""
    cls = _cls(
        "node",
        f"node--{step_type}" if step_type in ("start", "prompt", "condition", "end") else "node--other",
        f"is-{status}" if status and status != "unchanged" else None,
        "is-taken" if run else None,
        "is-failed" if run_status == "FAILED" else None,
        f"is-status-{run_status.lower()}" if run_status else None,
        f"heat-{heat_bucket}" if heat_bucket is not None else None,
        "is-selected" if selected else None,
    )
    type_label = TYPE_LABELS.get(n.step_type, n.step_type.title() or "Step")
    tooltip = f"{n.name} \u00b7 {type_label} step"
    meta = _meta_text(run, heat_info)
    if meta:
        tooltip += f" \u00b7 {meta}"
    if status and status != "unchanged":
        tooltip += f" \u00b7 {FLAG_LABELS.get(status, status)}"
    x, y, w, h = n.x, n.y, n.w, n.h
    bw = _badge_w(n.step_type)
    rx = min(h / 2, 28) if n.step_type in ("START", "END") else 10
    link_attrs = (f' href="{xml(href)}"' if href else "") + (' aria-current="true"' if selected else "")
    out = [
        f'<a class="node-link"{link_attrs} data-step-id="{xml(n.id)}">',
        f'<g class="{cls}" data-step-id="{xml(n.id)}"><title>{xml(tooltip)}</title>',
        f'<rect class="node-box" x="{_num(x)}" y="{_num(y)}" width="{_num(w)}" height="{_num(h)}" '
        f'rx="{_num(rx)}"/>',
    ]
    pad = NODE_PAD_X + (6 if rx > 10 else 0)
    out.append(
        f'<rect class="node-badge" x="{_num(x + pad)}" y="{_num(y + 10)}" width="{_num(bw)}" '
        'height="16" rx="8"/>'
        f'<text class="node-badge-text" x="{_num(x + pad + bw / 2)}" y="{_num(y + 21.5)}" '
        f'text-anchor="middle">{xml(type_label.upper())}</text>'
    )
    if status and status != "unchanged":
        out.append(
            f'<text class="node-flag" x="{_num(x + w - pad)}" y="{_num(y + 21.5)}" text-anchor="end">'
            f"{xml(FLAG_LABELS.get(status, status).upper())}</text>"
        )
    out.append(
        f'<text class="node-name" x="{_num(x + pad)}" y="{_num(y + 44)}">'
        f"{xml(_fit(n.label, w - 2 * pad))}</text>"
    )
    if meta:
        out.append(
            f'<text class="node-meta" x="{_num(x + pad)}" y="{_num(y + 62)}">'
            f"{xml(truncate(meta, META_SIZE, w - 2 * pad))}</text>"
        )
    out.append("</g></a>")
    return "".join(out)


def _fit(label: str, width: float) -> str:
    # Pill-shaped START/END boxes lose a little width to their rounded ends.
    return label if text_width(label, NAME_MEASURE) <= width else truncate(label, NAME_MEASURE, width)


def _meta_text(run: Mapping[str, Any] | None, heat_info: Mapping[str, Any] | None) -> str:
    bits: list[str] = []
    if run:
        status = str(run.get("status") or "").replace("_", " ").capitalize()
        if status:
            bits.append(
                ("\u2715 " if status == "Failed" else "\u2713 " if status == "Completed" else "") + status
            )
        duration = format_duration(run.get("duration_ms"))
        if duration:
            bits.append(duration)
        count = int(run.get("count") or 0)
        if count > 1:
            bits.append(f"\u00d7{count}")
    elif heat_info is not None:
        runs = int(heat_info.get("executions") or 0)
        fails = int(heat_info.get("failures") or 0)
        bits.append(f"{runs:,} run{'s' * (runs != 1)}")
        if runs:
            rate = 100 * fails / runs
            bits.append(f"{rate:.0f}% failed" if rate >= 1 or fails == 0 else "<1% failed")
    return " \u00b7 ".join(bits)


__all__ = ["Heat", "Highlight", "format_duration", "quantile_buckets", "render_svg", "size_class"]
