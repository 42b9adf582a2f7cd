"""Text alternatives to the diagram: a reading-order description and a nested-list outline."""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from webapp.diagrams._text import clean

TYPE_WORDS = {"START": "start", "PROMPT": "prompt", "CONDITION": "condition", "END": "end"}


@dataclass(frozen=True, slots=True)
class OutlineLink:
    """One outgoing transition in the outline."""

    transition_id: str
    target_id: str
    target_name: str
    label: str | None
    text: str  # "→ B (label)"


@dataclass(frozen=True, slots=True)
class OutlineItem:
    """One step in the outline with its outgoing transitions (render as nested <ul>)."""

    step_id: str
    name: str
    step_type: str
    text: str  # "Name (prompt step)"
    links: tuple[OutlineLink, ...] = field(default_factory=tuple)


def reading_order(steps: Iterable[Mapping[str, Any]], transitions: Iterable[Mapping[str, Any]]) -> list[str]:
    """Return step ids breadth-first from START steps, then any unreached steps in their given order."""
    ordered = [str(s["id"]) for s in steps]
    known = set(ordered)
    types = {str(s["id"]): str(s.get("step_type") or "").upper() for s in steps}
    nxt: dict[str, list[str]] = defaultdict(list)
    for t in transitions:
        src, tgt = str(t["source_step_id"]), str(t["target_step_id"])
        if src in known and tgt in known:
            nxt[src].append(tgt)
    seen: set[str] = set()
    out: list[str] = []
    # Each START, then every leftover step, seeds a BFS so disconnected parts keep their local order.
    for seed in [sid for sid in ordered if types[sid] == "START"] + ordered:
        if seed in seen:
            continue
        queue = deque([seed])
        seen.add(seed)
        while queue:
            sid = queue.popleft()
            out.append(sid)
            for tgt in nxt[sid]:
                if tgt not in seen:
                    seen.add(tgt)
                    queue.append(tgt)
    return out


def outline(
    steps: Iterable[Mapping[str, Any]], transitions: Iterable[Mapping[str, Any]]
) -> list[OutlineItem]:
    """Return the steps in reading order, each with its outgoing transitions, for a nested <ul>."""
    steps = list(steps)
    transitions = list(transitions)
    by_id = {str(s["id"]): s for s in steps}
    names = {sid: clean(s.get("name")) or "Untitled step" for sid, s in by_id.items()}
    outgoing: dict[str, list[OutlineLink]] = defaultdict(list)
    for t in transitions:
        src, tgt = str(t["source_step_id"]), str(t["target_step_id"])
        if src not in by_id or tgt not in by_id:
            continue
        label = clean(t.get("label")) or None
        text = f"\u2192 {names[tgt]}" + (f" ({label})" if label else "")
        outgoing[src].append(OutlineLink(str(t["id"]), tgt, names[tgt], label, text))
    items = []
    for sid in reading_order(steps, transitions):
        step_type = str(by_id[sid].get("step_type") or "").upper()
        word = TYPE_WORDS.get(step_type, step_type.lower() or "unknown")
        items.append(
            OutlineItem(sid, names[sid], step_type, f"{names[sid]} ({word} step)", tuple(outgoing[sid]))
        )
    return items


def describe(steps: Iterable[Mapping[str, Any]], transitions: Iterable[Mapping[str, Any]]) -> list[str]:
    """Describe the flow as plain sentences: numbered steps with types, then "A → B (label)" lines."""
    items = outline(steps, transitions)
    lines = [f"{i}. {item.text}" for i, item in enumerate(items, start=1)]
    for item in items:
        lines.extend(f"{item.name} {link.text}" for link in item.links)
    return lines
