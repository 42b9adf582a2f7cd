from __future__ import annotations

from diagram_factories import support_flow

from webapp.diagrams.text import describe, outline, reading_order


def test_steps_are_described_in_reading_order_with_their_types() -> None:
    steps, transitions = support_flow()
    lines = describe(steps, transitions)
    assert lines[0] == "1. Welcome (start step)"
    assert "3. Route by intent (condition step)" in lines
    numbered = [ln for ln in lines if ln[0].isdigit()]
    assert len(numbered) == len(steps)
    assert numbered.index("3. Route by intent (condition step)") < next(
        i for i, ln in enumerate(numbered) if ln.endswith("Goodbye (end step)")
    )
    assert "8. Draft note (prompt step)" in lines  # disconnected steps still appear


def test_transitions_are_described_as_arrows_with_labels() -> None:
    steps, transitions = support_flow()
    lines = describe(steps, transitions)
    assert "Route by intent \u2192 Billing question (billing)" in lines
    assert "Welcome \u2192 Ask for intent" in lines
    assert "Ask for intent \u2192 Ask for intent (unclear)" in lines
    assert len([ln for ln in lines if "\u2192" in ln]) == len(transitions)


def test_the_outline_nests_outgoing_transitions_under_each_step() -> None:
    steps, transitions = support_flow()
    items = outline(steps, transitions)
    route = next(i for i in items if i.step_id == "c")
    assert [link.text for link in route.links] == [
        "\u2192 Billing question (billing)",
        "\u2192 Troubleshoot (technical)",
    ]
    assert reading_order(steps, transitions)[0] == "a"
