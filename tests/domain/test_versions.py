"""Graph rules of a new version, without a database."""

from __future__ import annotations

import uuid

from webapp.domain.schemas import FlowVersionCreate
from webapp.domain.versions import graph_errors


def version(steps, transitions=()):
    return FlowVersionCreate.model_validate({"steps": steps, "step_transitions": list(transitions)})


def step(name, step_type="PROMPT", **extra):
    return {"name": name, "step_type": step_type, "prompt_template": {"type": "text"}, **extra}


def locs(payload) -> list:
    return [e["loc"] for e in graph_errors(payload)]


def test_a_graph_with_one_start_unique_names_and_known_ends_has_no_errors():
    a, b = str(uuid.uuid4()), str(uuid.uuid4())

    assert (
        graph_errors(
            version(
                [step("s", "START", id=a), step("e", "END", id=b)],
                [{"source_step_id": a, "target_step_id": b}],
            )
        )
        == []
    )


def test_start_steps_are_counted():
    assert locs(version([step("a"), step("b")])) == [["body", "steps"]]
    assert locs(version([step("a", "START"), step("b", "START")])) == [["body", "steps"]]


def test_names_must_be_unique_once_trimmed_and_not_blank():
    payload = version([step("start", "START"), step("x"), step(" x "), step("  ")])

    assert locs(payload) == [["body", "steps", 2, "name"], ["body", "steps", 3, "name"]]


def test_transition_ends_must_be_steps_of_the_same_version_and_ids_unique():
    a = str(uuid.uuid4())
    payload = version(
        [step("start", "START", id=a), step("again", id=a)],
        [
            {"source_step_id": a, "target_step_id": str(uuid.uuid4()), "id": a},
        ],
    )

    assert locs(payload) == [
        ["body", "steps", 1, "id"],
        ["body", "step_transitions", 0, "target_step_id"],
        ["body", "step_transitions", 0, "id"],
    ]
