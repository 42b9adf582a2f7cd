"""The built-in runner: executes sessions that were asked to run."""

from __future__ import annotations


def enqueue(session_id: str) -> None:
    """Hand a session to the runner."""
    raise NotImplementedError("the runner lands with its own issue")
