"""Session statuses and the transitions allowed between them."""

from __future__ import annotations

from enum import StrEnum


class SessionStatus(StrEnum):
    NEW = "NEW"
    RUNNING = "RUNNING"
    WAITING = "WAITING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


ALL_STATUSES: tuple[str, ...] = tuple(s.value for s in SessionStatus)
FINAL: frozenset[str] = frozenset({"COMPLETED", "FAILED", "CANCELLED"})
ACTIVE: frozenset[str] = frozenset({"NEW", "RUNNING", "WAITING"})

_ALLOWED: dict[str, frozenset[str]] = {
    "NEW": frozenset({"NEW", "RUNNING", "FAILED", "CANCELLED"}),
    "RUNNING": frozenset({"RUNNING", "WAITING", "COMPLETED", "FAILED", "CANCELLED"}),
    "WAITING": frozenset({"WAITING", "RUNNING", "FAILED", "CANCELLED"}),
}


def is_final(status: str) -> bool:
    """Tell whether a status is final (no change may follow)."""
    return status in FINAL


def can_move(current: str, new: str) -> bool:
    """Tell whether a session may go from `current` to `new`."""
    return new in _ALLOWED.get(current, frozenset())
