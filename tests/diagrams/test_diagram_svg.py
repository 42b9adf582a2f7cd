from __future__ import annotations

import xml.etree.ElementTree as ET

from diagram_factories import random_flow, step, support_flow, transition

from webapp.diagrams.diff import diff_versions
from webapp.diagrams.svg import format_duration, quantile_buckets, render_svg

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def by_step(root: ET.Element, step_id: str) -> ET.Element:
    for g in root.iter(f"{SVG}g"):
        if g.get("data-step-id") == step_id:
            return g
    raise AssertionError(f"no node for {step_id}")


def by_transition(root: ET.Element, transition_id: str) -> ET.Element:
    for g in root.iter(f"{SVG}g"):
        if g.get("data-transition-id") == transition_id and "edge" in (g.get("class") or "").split():
            return g
    raise AssertionError(f"no edge for {transition_id}")


def classes(el: ET.Element) -> set[str]:
    return set((el.get("class") or "").split())


def texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def test_the_svg_parses_as_xml_and_is_accessible_and_scalable() -> None:
    steps, transitions = support_flow()
    root = parse(render_svg(steps, transitions, title="Support flow"))
    assert root.get("role") == "img"
    title_id, desc_id = root.get("aria-labelledby", "").split()
    assert root.find(f"{SVG}title").get("id") == title_id  # type: ignore[union-attr]
    assert root.find(f"{SVG}desc").get("id") == desc_id  # type: ignore[union-attr]
    assert root.get("width") == "100%"
    assert root.get("viewBox", "").startswith("0 0 ")
    assert root.get("preserveAspectRatio")


def test_every_step_is_a_typed_box_inside_a_link() -> None:
    steps, transitions = support_flow()
    root = parse(render_svg(steps, transitions, link_template="?step={step_id}#step-detail"))
    links = {a.get("data-step-id"): a for a in root.iter(f"{SVG}a")}
    for s in steps:
        assert links[s["id"]].get("href") == f"?step={s['id']}#step-detail"
        assert f"node--{s['step_type'].lower()}" in classes(by_step(root, s["id"]))
        assert s["name"] in texts(root)


def test_every_transition_is_an_arrow_with_its_label() -> None:
    steps, transitions = support_flow()
    root = parse(render_svg(steps, transitions))
    for t in transitions:
        edge = by_transition(root, t["id"])
        line = next(p for p in edge.iter(f"{SVG}path") if "edge-line" in classes(p))
        assert line.get("marker-end", "").startswith("url(#")
        if t["label"]:
            assert t["label"] in texts(root)


def test_loops_back_and_self_loops_render() -> None:
    steps, transitions = support_flow()
    root = parse(render_svg(steps, transitions))
    assert "edge--back" in classes(by_transition(root, "t6"))
    assert "edge--self" in classes(by_transition(root, "t9"))


def test_user_text_is_escaped_and_control_characters_are_dropped() -> None:
    steps = [step("a", '<script>alert("x")</script> & "co"\x00\x07', "START"), step("b", "B")]
    transitions = [transition("t", "a", "b", "<b>yes</b> & no")]
    svg = str(render_svg(steps, transitions))
    root = parse(svg)  # would raise on bad escaping or illegal characters
    assert "<script" not in svg
    assert any("<script>alert" in t for t in texts(root))
    assert "<b>yes</b> & no" in texts(root)


def test_there_are_no_inline_styles_or_scripts() -> None:
    steps, transitions = random_flow(60, 4)
    for svg in (
        render_svg(steps, transitions),
        render_svg(steps, transitions, heat={"steps": {"s1": {"executions": 3, "failures": 1}}}),
        render_svg(steps, transitions, highlight={"steps": {"s0": {"status": "COMPLETED"}}}),
    ):
        assert "style=" not in svg and "<style" not in svg
        assert "<script" not in svg
        assert " on" not in svg.replace(" one", "")  # no event handler attributes


def test_selected_step_is_marked() -> None:
    steps, transitions = support_flow()
    root = parse(render_svg(steps, transitions, selected_step_id="e"))
    assert "is-selected" in classes(by_step(root, "e"))
    assert "is-selected" not in classes(by_step(root, "a"))


def test_highlight_marks_the_taken_path_failures_and_timings() -> None:
    steps, transitions = support_flow()
    highlight = {
        "steps": {
            "a": {"status": "COMPLETED", "duration_ms": 12, "count": 1},
            "b": {"status": "COMPLETED", "duration_ms": 1830, "count": 1},
            "c": {"status": "FAILED", "duration_ms": 95000, "count": 2},
        },
        "transitions": {"t1", "t2"},
    }
    root = parse(render_svg(steps, transitions, highlight=highlight))
    assert "has-highlight" in classes(root)
    assert "is-taken" in classes(by_step(root, "b"))
    assert {"is-taken", "is-failed"} <= classes(by_step(root, "c"))
    assert "is-taken" not in classes(by_step(root, "g"))
    assert "is-taken" in classes(by_transition(root, "t2"))
    assert "is-failed" in classes(by_transition(root, "t2"))  # it leads into the failed step
    assert "is-taken" not in classes(by_transition(root, "t3"))
    meta = " ".join(texts(by_step(root, "c")))
    assert "Failed" in meta and "1 min 35 s" in meta and "\u00d72" in meta


def test_heat_buckets_steps_and_weights_edges() -> None:
    steps, transitions = support_flow()
    heat = {
        "steps": {
            "a": {"executions": 1000, "failures": 0},
            "b": {"executions": 500, "failures": 50},
            "d": {"executions": 10, "failures": 0},
        },
        "transitions": {"t1": 1000, "t2": 500},
    }
    root = parse(render_svg(steps, transitions, heat=heat))
    assert "heat-4" in classes(by_step(root, "a"))
    assert "heat-0" in classes(by_step(root, "h"))
    assert "10% failed" in " ".join(texts(by_step(root, "b")))
    assert "heat-w-4" in classes(by_transition(root, "t1"))
    assert "heat-w-0" in classes(by_transition(root, "t9"))


def test_diff_draws_removed_steps_ghosted_and_marks_changes() -> None:
    old_steps, old_transitions = support_flow()
    new_steps = [s for s in old_steps if s["id"] != "d"] + [step("x", "Collect account")]
    new_steps = [dict(s, prompt_template={"text": "new"}) if s["id"] == "e" else s for s in new_steps]
    new_transitions = [t for t in old_transitions if t["id"] not in ("t3", "t8")]
    new_transitions += [transition("n1", "c", "x", "billing")]
    diff = diff_versions(old_steps, old_transitions, new_steps, new_transitions)
    root = parse(render_svg(new_steps, new_transitions, diff=diff))
    assert "is-removed" in classes(by_step(root, "d"))
    assert "is-added" in classes(by_step(root, "x"))
    assert "is-changed" in classes(by_step(root, "e"))
    assert not classes(by_step(root, "a")) & {"is-added", "is-removed", "is-changed"}
    assert "is-removed" in classes(by_transition(root, "t3"))
    assert "is-added" in classes(by_transition(root, "n1"))


def test_an_empty_flow_renders_a_placeholder() -> None:
    root = parse(render_svg([], []))
    assert "No steps yet" in texts(root)


def test_two_diagrams_on_one_page_can_use_distinct_ids() -> None:
    steps, transitions = support_flow()
    a = parse(render_svg(steps, transitions, id_prefix="left"))
    b = parse(render_svg(steps, transitions, id_prefix="right"))
    assert a.get("aria-labelledby") != b.get("aria-labelledby")


def test_durations_and_quantiles_format_sensibly() -> None:
    assert format_duration(None) == ""
    assert format_duration(850) == "850 ms"
    assert format_duration(1200) == "1.2 s"
    assert format_duration(125_000) == "2 min 5 s"
    buckets = quantile_buckets({"a": 0, "b": 1, "c": 10, "d": 100, "e": 1000})
    assert buckets == {"a": 0, "b": 1, "c": 2, "d": 3, "e": 4}


def test_200_random_steps_render_to_valid_xml() -> None:
    steps, transitions = random_flow(200, 11)
    root = parse(render_svg(steps, transitions))
    assert len(list(root.iter(f"{SVG}a"))) == 200
