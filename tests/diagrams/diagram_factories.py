"""Graph builders shared by the diagram tests (plain dicts shaped like FlowVersionRead JSON)."""

from __future__ import annotations

import random
from typing import Any

Step = dict[str, Any]
Transition = dict[str, Any]


def step(sid: str, name: str, step_type: str = "PROMPT", template: dict[str, Any] | None = None) -> Step:
    return {"id": sid, "name": name, "step_type": step_type, "prompt_template": template or {"text": name}}


def transition(tid: str, source: str, target: str, label: str | None = None) -> Transition:
    return {"id": tid, "source_step_id": source, "target_step_id": target, "label": label}


def support_flow() -> tuple[list[Step], list[Transition]]:
    """A small realistic flow with a branch, a loop back, a self-loop and a disconnected step."""
    steps = [
        step("a", "Welcome", "START"),
        step("b", "Ask for intent"),
        step("c", "Route by intent", "CONDITION"),
        step("d", "Billing question"),
        step("e", "Troubleshoot"),
        step("f", "Resolved?", "CONDITION"),
        step("g", "Goodbye", "END"),
        step("h", "Draft note"),
    ]
    transitions = [
        transition("t1", "a", "b"),
        transition("t2", "b", "c"),
        transition("t3", "c", "d", "billing"),
        transition("t4", "c", "e", "technical"),
        transition("t5", "e", "f"),
        transition("t6", "f", "e", "no, retry"),
        transition("t7", "f", "g", "yes"),
        transition("t8", "d", "g"),
        transition("t9", "b", "b", "unclear"),
    ]
    return steps, transitions


def random_flow(n: int, seed: int, extra_edges: float = 0.6) -> tuple[list[Step], list[Transition]]:
    """A random connected-ish flow of n steps with forward edges, loops back, self-loops and duplicates."""
    rnd = random.Random(seed)
    steps = []
    for i in range(n):
        kind = "START" if i == 0 else "END" if i == n - 1 else rnd.choice(["PROMPT", "PROMPT", "CONDITION"])
        steps.append(step(f"s{i}", f"Step {i} " + "w" * rnd.randint(0, 30), kind))
    transitions: list[Transition] = []
    for i in range(1, n):
        if rnd.random() < 0.95:  # leave a few steps disconnected
            transitions.append(transition(f"t{len(transitions)}", f"s{rnd.randrange(i)}", f"s{i}", "next"))
    for _ in range(int(n * extra_edges)):
        a, b = rnd.randrange(n), rnd.randrange(n)
        transitions.append(transition(f"t{len(transitions)}", f"s{a}", f"s{b}", rnd.choice([None, "again"])))
    return steps, transitions
