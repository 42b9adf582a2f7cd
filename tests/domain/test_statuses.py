"""Session statuses: which moves are allowed, which statuses are final."""

from __future__ import annotations

import pytest

from webapp.domain.statuses import ALL_STATUSES, can_move, is_final

MOVES = {
    ("NEW", "RUNNING"),
    ("RUNNING", "WAITING"),
    ("WAITING", "RUNNING"),
    ("RUNNING", "COMPLETED"),
    ("RUNNING", "FAILED"),
    ("RUNNING", "CANCELLED"),
    ("NEW", "FAILED"),
    ("NEW", "CANCELLED"),
    ("WAITING", "FAILED"),
    ("WAITING", "CANCELLED"),
}


@pytest.mark.parametrize("current", ALL_STATUSES)
@pytest.mark.parametrize("new", ALL_STATUSES)
def test_a_move_is_allowed_exactly_when_api_md_lists_it_or_it_keeps_an_active_status(current, new):
    expected = (current, new) in MOVES or (current == new and not is_final(current))

    assert can_move(current, new) is expected


def test_the_final_statuses_are_completed_failed_and_cancelled():
    assert [s for s in ALL_STATUSES if is_final(s)] == ["COMPLETED", "FAILED", "CANCELLED"]


def test_an_unknown_status_moves_nowhere():
    assert not can_move("PAUSED", "RUNNING")
    assert not can_move("RUNNING", "PAUSED")
