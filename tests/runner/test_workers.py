"""Real `flask --app webapp worker` processes: kill -9 recovery, graceful hand-back, two workers.

The workers share the test's database (a SQLite file, or TEST_DATABASE_URL) and queue (a SQLite
file, or Redis when TEST_REDIS_URL is set), exactly as separate machines would.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.runner.helpers import build_flow, fresh, linear, runs, start
from webapp.runner import current_runner

ROOT = Path(__file__).resolve().parents[2]
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL")


class Workers:
    """Start worker processes against the test's database and queue; stop them all at the end."""

    def __init__(self, app: Flask, database_uri: str, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.procs: list[tuple[subprocess.Popen[bytes], Path]] = []
        queue: dict[str, Any] = {"RUNNER_QUEUE_NAME": f"test-{uuid.uuid4().hex[:12]}"}
        if TEST_REDIS_URL:
            queue |= {"RUNNER_QUEUE": "redis", "REDIS_URL": TEST_REDIS_URL}
        else:
            queue |= {"RUNNER_QUEUE": "sqlite", "RUNNER_QUEUE_PATH": str(tmp_path / "queue.db")}
        app.config.update(queue)  # the test enqueues on the workers' queue
        self.env = {
            **os.environ,
            "FLASK_SECRET_KEY": "test-secret",
            "FLASK_SQLALCHEMY_DATABASE_URI": database_uri,
            "FLASK_MODEL_PROVIDER": "echo",
            "FLASK_RUNNER_SWEEP_INTERVAL_S": "0.25",
            "FLASK_RUNNER_POLL_MAX_S": "0.1",
            "FLASK_RUNNER_LEASE_S": "1.5",
            "FLASK_RUNNER_STEP_TIMEOUT_S": "1",
            **{f"FLASK_{k}": str(v) for k, v in queue.items()},
        }

    def start(self, count: int = 1, threads: int = 2, **config: Any) -> list[subprocess.Popen[bytes]]:
        """Start `count` workers with extra FLASK_* settings; wait until each consumes the queue."""
        env = {**self.env, **{f"FLASK_{k}": str(v) for k, v in config.items()}}
        started = []
        for _ in range(count):
            log = self.tmp_path / f"worker-{len(self.procs) + 1}.log"
            with log.open("wb") as stderr:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "flask", "--app", "webapp", "worker", "--threads", str(threads)],
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=stderr,
                )
            self.procs.append((proc, log))
            started.append(proc)
        for proc in started:
            wait_for(lambda p=proc: "Huey consumer started" in self.log(p), timeout=20, what="worker start")
        return started

    def log(self, proc: subprocess.Popen[bytes]) -> str:
        return next(path.read_text() for p, path in self.procs if p is proc)

    def by_pid(self, pid: int) -> subprocess.Popen[bytes]:
        return next(p for p, _ in self.procs if p.pid == pid)

    def stop(self) -> None:
        for proc, _ in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)


@pytest.fixture
def workers(app: Flask, database_uri: str, tmp_path: Path) -> Iterator[Workers]:
    pool = Workers(app, database_uri, tmp_path)
    yield pool
    pool.stop()


def wait_for(condition: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def owner_pid(session_id: str) -> int | None:
    owner = fresh(session_id).lease_owner
    return int(owner.split(":")[1]) if owner and owner.count(":") == 2 else None


def completed(session_id: str) -> list[Any]:
    return [run for _, run in runs(session_id) if run.status == "COMPLETED"]


SIX_STEPS = [f"step {i} of {{{{ inputs.n }}}}" for i in range(1, 7)]


def test_a_killed_worker_s_session_is_resumed_by_another_without_redoing_finished_steps(
    org: Any, workers: Workers
) -> None:
    workers.start(2, MODEL_ECHO_DELAY_MS=300)
    flow = build_flow(org, *linear(*SIX_STEPS))
    session_id = start(flow, {"n": 7})
    current_runner().enqueue(session_id)

    wait_for(lambda: len(completed(session_id)) >= 3, what="three finished steps")
    victim = workers.by_pid(wait_for(lambda: owner_pid(session_id), what="a lease owner"))
    finished_before = {run.id: (run.step_id, run.finished_at, run.output) for run in completed(session_id)}
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)

    session = wait_for(
        lambda: (s := fresh(session_id)).status in ("COMPLETED", "FAILED") and s, timeout=30, what="the end"
    )
    assert session.status == "COMPLETED", session.error
    assert session.output == "step 6 of 7"
    done = runs(session_id)
    still = {
        run.id: (run.step_id, run.finished_at, run.output) for _, run in done if run.id in finished_before
    }
    assert still == finished_before  # finished steps were kept, not redone
    interrupted = [(name, run) for name, run in done if run.status == "INTERRUPTED"]
    assert len(interrupted) == 1
    name, lost = interrupted[0]
    assert "worker running this step stopped" in (lost.error or "")
    redo = next(run for _, run in done if run.position == lost.position + 1)
    assert (redo.step_id, redo.attempt, redo.status) == (lost.step_id, lost.attempt + 1, "COMPLETED")
    completed_names = [n for n, run in done if run.status == "COMPLETED"]
    assert completed_names == ["start", "p1", "p2", "p3", "p4", "p5", "p6", "end"]
    assert session.steps_count == 8
    assert session.run_attempts == 2
    assert session.lease_owner is None


def test_a_session_whose_workers_keep_dying_fails_after_its_attempts(org: Any, workers: Workers) -> None:
    workers.start(2, MODEL_ECHO_DELAY_MS=300, RUNNER_MAX_ATTEMPTS=1)
    flow = build_flow(org, *linear(*SIX_STEPS))
    session_id = start(flow, {"n": 1})
    current_runner().enqueue(session_id)

    wait_for(lambda: len(completed(session_id)) >= 2, what="two finished steps")
    victim = workers.by_pid(wait_for(lambda: owner_pid(session_id), what="a lease owner"))
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)

    session = wait_for(lambda: (s := fresh(session_id)).status == "FAILED" and s, timeout=30, what="FAILED")
    assert "Gave up after 1 attempt (FLASK_RUNNER_MAX_ATTEMPTS)" in (session.error or "")
    assert "the worker running this session stopped" in (session.error or "")
    assert re.search(r"during step 'p\d'", session.error or "")
    assert runs(session_id)[-1][1].status == "INTERRUPTED"
    assert session.lease_owner is None


def test_a_worker_stopped_with_sigint_hands_its_session_back_between_steps(
    org: Any, workers: Workers
) -> None:
    first, second = workers.start(2, MODEL_ECHO_DELAY_MS=300)
    flow = build_flow(org, *linear(*SIX_STEPS))
    session_id = start(flow, {"n": 2})
    current_runner().enqueue(session_id)

    wait_for(lambda: len(completed(session_id)) >= 2, what="two finished steps")
    leaving = workers.by_pid(wait_for(lambda: owner_pid(session_id), what="a lease owner"))
    leaving.send_signal(signal.SIGINT)
    assert leaving.wait(timeout=10) == 0

    session = wait_for(lambda: (s := fresh(session_id)).status == "COMPLETED" and s, timeout=30, what="done")
    assert [run.status for _, run in runs(session_id)] == ["COMPLETED"] * 8  # nothing interrupted
    assert session.run_attempts == 1  # a hand-back uses up no attempt


@pytest.mark.skipif(
    not (TEST_DATABASE_URL and TEST_REDIS_URL),
    reason="needs TEST_DATABASE_URL (PostgreSQL) and TEST_REDIS_URL (Redis), as .ci/run sets them",
)
def test_two_workers_share_the_sessions_on_postgresql_and_redis(org: Any, workers: Workers) -> None:
    first, second = workers.start(2, threads=2, MODEL_ECHO_DELAY_MS=50)
    flow = build_flow(org, *linear("a {{ inputs.i }}", "b {{ last }}"))
    ids = [start(flow, {"i": i}) for i in range(16)]
    for session_id in ids:
        current_runner().enqueue(session_id)

    wait_for(lambda: all(fresh(i).status == "COMPLETED" for i in ids), timeout=40, what="all sessions")

    for i, session_id in enumerate(ids):
        session = fresh(session_id)
        assert session.output == f"b a {i}" and session.steps_count == 4 and session.run_attempts == 1
        assert [run.status for _, run in runs(session_id)] == ["COMPLETED"] * 4
    ran_by = {
        pid for pid in (first.pid, second.pid) if f":{pid}:" in workers.log(first) + workers.log(second)
    }
    assert ran_by == {first.pid, second.pid}
