"""Validation of a new flow version's graph (beyond field types)."""

from __future__ import annotations

from typing import Any

from webapp.domain.schemas import FlowVersionCreate


def graph_errors(payload: FlowVersionCreate) -> list[dict[str, Any]]:
    """Return FastAPI-style errors for a version that breaks the graph rules."""
    errors: list[dict[str, Any]] = []
    starts = [i for i, s in enumerate(payload.steps) if s.step_type == "START"]
    if len(starts) != 1:
        errors.append(
            {
                "loc": ["body", "steps"],
                "msg": f"A version needs exactly one START step, found {len(starts)}",
                "type": "value_error",
            }
        )
    seen_names: dict[str, int] = {}
    seen_ids: set[str] = set()
    for i, step in enumerate(payload.steps):
        name = step.name.strip()
        if not name:
            errors.append(_err(["body", "steps", i, "name"], "Step name must not be blank"))
        elif name in seen_names:
            errors.append(_err(["body", "steps", i, "name"], f"Duplicate step name {step.name!r}"))
        seen_names.setdefault(name, i)
        if step.id is not None:
            if str(step.id) in seen_ids:
                errors.append(_err(["body", "steps", i, "id"], "Duplicate step id"))
            seen_ids.add(str(step.id))
    step_ids = {str(s.id) for s in payload.steps if s.id is not None}
    for i, tr in enumerate(payload.step_transitions):
        for end in ("source_step_id", "target_step_id"):
            if str(getattr(tr, end)) not in step_ids:
                errors.append(_err(["body", "step_transitions", i, end], "Not a step of this version"))
        if tr.id is not None:
            if str(tr.id) in seen_ids:
                errors.append(_err(["body", "step_transitions", i, "id"], "Duplicate id"))
            seen_ids.add(str(tr.id))
    return errors


def _err(loc: list[str | int], msg: str) -> dict[str, Any]:
    return {"loc": loc, "msg": msg, "type": "value_error"}
