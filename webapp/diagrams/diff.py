"""Compare two versions of a flow: steps matched by name, transitions by (source, target, label)."""

from __future__ import annotations

import difflib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

StepStatus = Literal["added", "removed", "changed", "unchanged"]
TransitionStatus = Literal["added", "removed", "unchanged"]
LineKind = Literal["+", "-", " "]
TransitionKey = tuple[str, str, str]  # source name, target name, label ("" when none)

# Prefix for ids of removed items that would otherwise collide with an id in the new version.
REMOVED_PREFIX = "removed:"


@dataclass(frozen=True, slots=True)
class DiffLine:
    """One line of a text diff; kind is "+", "-" or " "."""

    kind: LineKind
    text: str


@dataclass(frozen=True, slots=True)
class StepChange:
    """How one step (matched by name) differs between the versions."""

    name: str
    status: StepStatus
    old_id: str | None
    new_id: str | None
    merged_id: str
    old_type: str | None
    new_type: str | None
    type_changed: bool = False
    template_changed: bool = False
    template_diff: tuple[DiffLine, ...] = ()


@dataclass(frozen=True, slots=True)
class TransitionChange:
    """How one transition (matched by source name, target name and label) differs."""

    source: str
    target: str
    label: str
    status: TransitionStatus
    old_id: str | None
    new_id: str | None
    merged_id: str


@dataclass(frozen=True)
class VersionDiff:
    """The difference between two versions plus a merged graph that shows both."""

    steps: tuple[StepChange, ...]
    transitions: tuple[TransitionChange, ...]
    merged_steps: tuple[dict[str, Any], ...]
    merged_transitions: tuple[dict[str, Any], ...]
    step_status: dict[str, StepStatus] = field(default_factory=dict, compare=False)
    transition_status: dict[str, TransitionStatus] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "step_status", {c.merged_id: c.status for c in self.steps})
        object.__setattr__(self, "transition_status", {c.merged_id: c.status for c in self.transitions})

    def steps_with(self, status: StepStatus) -> list[StepChange]:
        """Return the step changes having `status`, in merged order."""
        return [c for c in self.steps if c.status == status]

    def transitions_with(self, status: TransitionStatus) -> list[TransitionChange]:
        """Return the transition changes having `status`."""
        return [c for c in self.transitions if c.status == status]

    @property
    def is_empty(self) -> bool:
        """Whether the two versions are equivalent."""
        return all(c.status == "unchanged" for c in self.steps) and all(
            c.status == "unchanged" for c in self.transitions
        )

    def merged(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Return (steps, transitions) of the union graph; removed items keep (prefixed) old ids."""
        return [dict(s) for s in self.merged_steps], [dict(t) for t in self.merged_transitions]


def _name(step: Mapping[str, Any]) -> str:
    return str(step.get("name") or "").strip()


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def template_lines(template: Any) -> list[str]:
    """Render a prompt template as stable text: sorted keys, multi-line strings unfolded."""
    if not isinstance(template, Mapping):
        return json.dumps(template, indent=2, sort_keys=True, ensure_ascii=False, default=str).splitlines()
    lines: list[str] = []
    for key in sorted(template, key=str):
        value = template[key]
        if isinstance(value, str) and "\n" in value:
            # Prompt text reads (and diffs) line by line, not as one JSON string full of "\n".
            lines.append(f"{key}:")
            lines.extend(f"  {line}" for line in value.splitlines())
        elif isinstance(value, str):
            lines.append(f"{key}: {value}")
        elif isinstance(value, Mapping | list):
            dumped = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
            head, *rest = dumped.splitlines()
            lines.append(f"{key}: {head}")
            lines.extend(rest)
        else:
            lines.append(f"{key}: {_canonical(value)}")
    return lines


def text_diff(old: Sequence[str], new: Sequence[str]) -> list[DiffLine]:
    """Diff two line lists into "+", "-" and " " lines (difflib.ndiff without its "?" hints)."""
    out: list[DiffLine] = []
    for line in difflib.ndiff(list(old), list(new)):
        tag, text = line[:1], line[2:]
        if tag == "?":
            continue
        out.append(DiffLine("+" if tag == "+" else "-" if tag == "-" else " ", text))
    return out


def _keyed_by_name(steps: Iterable[Mapping[str, Any]]) -> dict[tuple[str, int], Mapping[str, Any]]:
    # Names should be unique per version, but if not, the n-th "Foo" matches the n-th "Foo".
    seen: dict[str, int] = defaultdict(int)
    out: dict[tuple[str, int], Mapping[str, Any]] = {}
    for s in steps:
        name = _name(s)
        out[(name, seen[name])] = s
        seen[name] += 1
    return out


def diff_versions(
    old_steps: Iterable[Mapping[str, Any]],
    old_transitions: Iterable[Mapping[str, Any]],
    new_steps: Iterable[Mapping[str, Any]],
    new_transitions: Iterable[Mapping[str, Any]],
) -> VersionDiff:
    """Compare two versions; step ids differ between versions, so steps are matched by name."""
    old_by_key = _keyed_by_name(old_steps)
    new_by_key = _keyed_by_name(new_steps)
    new_ids = {str(s["id"]) for s in new_by_key.values()}

    def removed_id(old_id: str) -> str:
        return REMOVED_PREFIX + old_id if old_id in new_ids else old_id

    changes: list[StepChange] = []
    merged_steps: list[dict[str, Any]] = []
    old_to_merged: dict[str, str] = {}
    for key, new in new_by_key.items():
        old = old_by_key.get(key)
        nid = str(new["id"])
        merged_steps.append(dict(new))
        if old is None:
            changes.append(StepChange(key[0], "added", None, nid, nid, None, str(new.get("step_type"))))
            continue
        old_to_merged[str(old["id"])] = nid
        type_changed = old.get("step_type") != new.get("step_type")
        old_tpl, new_tpl = old.get("prompt_template") or {}, new.get("prompt_template") or {}
        tpl_changed = _canonical(old_tpl) != _canonical(new_tpl)
        tpl_diff = tuple(text_diff(template_lines(old_tpl), template_lines(new_tpl))) if tpl_changed else ()
        changes.append(
            StepChange(
                key[0],
                "changed" if type_changed or tpl_changed else "unchanged",
                str(old["id"]),
                nid,
                nid,
                str(old.get("step_type")),
                str(new.get("step_type")),
                type_changed,
                tpl_changed,
                tpl_diff,
            )
        )
    for key, old in old_by_key.items():
        if key in new_by_key:
            continue
        oid = str(old["id"])
        mid = removed_id(oid)
        old_to_merged[oid] = mid
        merged_steps.append({**old, "id": mid})
        changes.append(StepChange(key[0], "removed", oid, None, mid, str(old.get("step_type")), None))

    old_names = {str(s["id"]): _name(s) for s in old_by_key.values()}
    new_names = {str(s["id"]): _name(s) for s in new_by_key.values()}

    def keyed(
        transitions: Iterable[Mapping[str, Any]], names: dict[str, str]
    ) -> dict[TransitionKey, list[Mapping[str, Any]]]:
        out: dict[TransitionKey, list[Mapping[str, Any]]] = defaultdict(list)
        for t in transitions:
            src, tgt = names.get(str(t["source_step_id"])), names.get(str(t["target_step_id"]))
            if src is None or tgt is None:
                continue  # dangling in its own version; nothing meaningful to compare
            out[(src, tgt, str(t.get("label") or "").strip())].append(t)
        return out

    old_t = keyed(old_transitions, old_names)
    new_t = keyed(new_transitions, new_names)
    new_tids = {str(t["id"]) for lst in new_t.values() for t in lst}
    t_changes: list[TransitionChange] = []
    merged_transitions: list[dict[str, Any]] = []
    for tkey, tlist in new_t.items():
        matched = len(old_t.get(tkey, []))
        for i, t in enumerate(tlist):
            tid = str(t["id"])
            old_id = str(old_t[tkey][i]["id"]) if i < matched else None
            status: TransitionStatus = "unchanged" if old_id is not None else "added"
            merged_transitions.append(dict(t))
            t_changes.append(TransitionChange(*tkey, status, old_id, tid, tid))
    for tkey, tlist in old_t.items():
        for t in tlist[len(new_t.get(tkey, [])) :]:
            oid = str(t["id"])
            mid = REMOVED_PREFIX + oid if oid in new_tids else oid
            merged_transitions.append(
                {
                    **t,
                    "id": mid,
                    "source_step_id": old_to_merged[str(t["source_step_id"])],
                    "target_step_id": old_to_merged[str(t["target_step_id"])],
                }
            )
            t_changes.append(TransitionChange(*tkey, "removed", oid, None, mid))

    return VersionDiff(tuple(changes), tuple(t_changes), tuple(merged_steps), tuple(merged_transitions))
