from __future__ import annotations

import time
from itertools import combinations

import pytest
from diagram_factories import random_flow, step, support_flow, transition

from webapp.diagrams.layout import Layout, layout, layout_from_key


def assert_no_overlaps(lay: Layout) -> None:
    for a, b in combinations(lay.nodes, 2):
        apart = a.x + a.w <= b.x or b.x + b.w <= a.x or a.y + a.h <= b.y or b.y + b.h <= a.y
        assert apart, f"{a.id} overlaps {b.id}"


def assert_inside(lay: Layout) -> None:
    for n in lay.nodes:
        assert n.x >= 0 and n.y >= 0
        assert n.x + n.w <= lay.width and n.y + n.h <= lay.height
    for e in lay.edges:
        for x, y in e.points:
            assert 0 <= x <= lay.width and 0 <= y <= lay.height
        if e.label:
            assert e.label.x >= 0 and e.label.x + e.label.w <= lay.width


def test_a_single_step_gets_one_box_inside_the_canvas() -> None:
    lay = layout([step("a", "Only", "START")], [])
    assert [n.id for n in lay.nodes] == ["a"]
    assert_inside(lay)


def test_an_empty_graph_has_no_boxes() -> None:
    lay = layout([], [])
    assert lay.nodes == () and lay.edges == ()


def test_layers_run_top_to_bottom_along_transitions() -> None:
    steps, transitions = support_flow()
    lay = layout(steps, transitions)
    y = {n.id: n.y for n in lay.nodes}
    assert y["a"] < y["b"] < y["c"] < y["e"] < y["f"] < y["g"]


@pytest.mark.parametrize("n", [1, 2, 10, 50, 200])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_boxes_never_overlap_for_random_steps_with_cycles(n: int, seed: int) -> None:
    steps, transitions = random_flow(n, seed)
    lay = layout(steps, transitions)
    assert len(lay.nodes) == n
    assert_no_overlaps(lay)
    assert_inside(lay)


def test_boxes_never_overlap_for_200_random_steps_with_dense_cycles() -> None:
    steps, transitions = random_flow(200, 99, extra_edges=1.5)
    lay = layout(steps, transitions)
    assert_no_overlaps(lay)
    assert_inside(lay)


def test_disconnected_steps_are_laid_out_side_by_side() -> None:
    steps = [step(f"s{i}", f"Island {i}") for i in range(12)]
    lay = layout(steps, [])
    assert_no_overlaps(lay)
    assert len({n.x for n in lay.nodes}) > 1


def test_every_transition_gets_a_route_including_loops_and_parallel_edges() -> None:
    steps = [step("a", "A", "START"), step("b", "B"), step("c", "C", "END")]
    transitions = [
        transition("ab1", "a", "b", "one"),
        transition("ab2", "a", "b", "two"),
        transition("bb", "b", "b", "self"),
        transition("ba", "b", "a", "back"),
        transition("bc", "b", "c"),
        transition("ca", "c", "a", "restart"),
    ]
    lay = layout(steps, transitions)
    kinds = {e.id: e.kind for e in lay.edges}
    assert kinds == {
        "ab1": "forward",
        "ab2": "forward",
        "bb": "self",
        "ba": "back",
        "bc": "forward",
        "ca": "back",
    }
    assert all(e.d.startswith("M") for e in lay.edges)
    routes = {e.id: e for e in lay.edges}
    assert routes["ab1"].d != routes["ab2"].d, "parallel transitions must not be drawn on top of each other"
    assert_inside(lay)


def test_dangling_transitions_are_ignored() -> None:
    lay = layout([step("a", "A")], [transition("t", "a", "missing")])
    assert lay.edges == ()


def test_layout_is_cached_for_identical_input() -> None:
    steps, transitions = random_flow(40, 5)
    assert layout(steps, transitions) is layout(steps, transitions)
    assert layout(steps, transitions) is not layout(steps, transitions, detail_line=True)


def test_200_steps_lay_out_in_well_under_a_second() -> None:
    steps, transitions = random_flow(200, 7)
    layout_from_key.cache_clear()
    started = time.perf_counter()
    layout(steps, transitions)
    assert time.perf_counter() - started < 1.0
