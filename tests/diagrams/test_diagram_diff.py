from __future__ import annotations

from diagram_factories import step, transition

from webapp.diagrams.diff import REMOVED_PREFIX, DiffLine, diff_versions, template_lines, text_diff


def versions() -> tuple[list, list, list, list]:
    old_steps = [
        step("o1", "Start", "START"),
        step("o2", "Ask", template={"text": "Hello\nWhat do you need?", "temperature": 0.2}),
        step("o3", "Legacy"),
        step("o4", "Check", "CONDITION"),
        step("o5", "Done", "END"),
    ]
    old_transitions = [
        transition("ot1", "o1", "o2"),
        transition("ot2", "o2", "o3"),
        transition("ot3", "o3", "o5"),
        transition("ot4", "o2", "o4", "maybe"),
        transition("ot5", "o4", "o5", "yes"),
    ]
    new_steps = [
        step("n1", "Start", "START"),
        step("n2", "Ask", template={"text": "Hello\nHow can I help?", "temperature": 0.2}),
        step("n4", "Check", "PROMPT"),  # type changed
        step("n6", "Brand new"),
        step("n5", "Done", "END"),
    ]
    new_transitions = [
        transition("nt1", "n1", "n2"),
        transition("nt4", "n2", "n4", "maybe"),
        transition("nt5", "n4", "n5", "definitely"),  # label changed: removed + added
        transition("nt6", "n2", "n6"),
        transition("nt7", "n6", "n5"),
    ]
    return old_steps, old_transitions, new_steps, new_transitions


def test_steps_are_matched_by_name_not_id() -> None:
    d = diff_versions(*versions())
    status = {c.name: c.status for c in d.steps}
    assert status == {
        "Start": "unchanged",
        "Ask": "changed",
        "Check": "changed",
        "Brand new": "added",
        "Done": "unchanged",
        "Legacy": "removed",
    }


def test_a_type_change_and_a_template_change_are_told_apart() -> None:
    d = diff_versions(*versions())
    by_name = {c.name: c for c in d.steps}
    assert by_name["Check"].type_changed and not by_name["Check"].template_changed
    assert (by_name["Check"].old_type, by_name["Check"].new_type) == ("CONDITION", "PROMPT")
    assert by_name["Ask"].template_changed and not by_name["Ask"].type_changed


def test_template_diff_lists_removed_added_and_kept_lines() -> None:
    d = diff_versions(*versions())
    lines = next(c for c in d.steps if c.name == "Ask").template_diff
    assert DiffLine("-", "  What do you need?") in lines
    assert DiffLine("+", "  How can I help?") in lines
    assert DiffLine(" ", "  Hello") in lines
    assert {line.kind for line in lines} <= {"+", "-", " "}


def test_transitions_are_matched_by_source_target_and_label() -> None:
    d = diff_versions(*versions())
    status = {(c.source, c.target, c.label): c.status for c in d.transitions}
    assert status[("Start", "Ask", "")] == "unchanged"
    assert status[("Ask", "Check", "maybe")] == "unchanged"
    assert status[("Check", "Done", "yes")] == "removed"
    assert status[("Check", "Done", "definitely")] == "added"
    assert status[("Ask", "Legacy", "")] == "removed"
    assert status[("Ask", "Brand new", "")] == "added"


def test_the_merged_graph_holds_both_versions_with_removed_items_reattached() -> None:
    d = diff_versions(*versions())
    steps, transitions = d.merged()
    ids = {s["id"] for s in steps}
    assert ids == {"n1", "n2", "n4", "n6", "n5", "o3"}
    legacy_in = next(t for t in transitions if t["id"] == "ot2")
    assert (legacy_in["source_step_id"], legacy_in["target_step_id"]) == ("n2", "o3")
    assert d.step_status["o3"] == "removed" and d.transition_status["ot2"] == "removed"
    assert {t["source_step_id"] for t in transitions} <= ids
    assert {t["target_step_id"] for t in transitions} <= ids


def test_removed_ids_that_clash_with_new_ids_are_prefixed() -> None:
    old = [step("a", "Kept"), step("b", "Gone")]
    new = [step("b", "Kept")]
    d = diff_versions(old, [], new, [])
    assert d.step_status == {"b": "unchanged", REMOVED_PREFIX + "b": "removed"}


def test_identical_versions_have_an_empty_diff() -> None:
    old_steps, old_transitions, _, _ = versions()
    assert diff_versions(old_steps, old_transitions, old_steps, old_transitions).is_empty


def test_template_text_is_stable_and_unfolds_multiline_strings() -> None:
    assert template_lines({"b": 1, "a": "x\ny"}) == ["a:", "  x", "  y", "b: 1"]
    assert text_diff(["x"], ["y"]) == [DiffLine("-", "x"), DiffLine("+", "y")]
