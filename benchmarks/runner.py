"""Sessions per second through the runner with the echo provider: embedded, and with two worker processes.

Run: `.venv/bin/python -m benchmarks.runner [SESSIONS]` (or via `make bench`). Each setup gets a fresh
SQLite database and queue in a temporary folder; with BENCH_DATABASE_URL (an empty PostgreSQL
database) and BENCH_REDIS_URL set, the two-worker setup also runs on PostgreSQL + Redis.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from benchmarks._app import migrated_app  # noqa: E402
from webapp.extensions import db  # noqa: E402

STEPS = 4  # START, two PROMPTs, END


def _app(database_uri: str, queue: dict[str, Any]) -> Flask:
    return migrated_app(
        {"SQLALCHEMY_DATABASE_URI": database_uri, "SECRET_KEY": "bench", "MODEL_ECHO_DELAY_MS": 0, **queue}
    )


def _sessions(app: Flask, count: int) -> list[str]:
    """Create a flow and `count` NEW run=True sessions of it; return their ids."""
    from webapp.domain.schemas import FlowCreate, FlowVersionCreate
    from webapp.models import Organisation
    from webapp.services import flows as flow_service
    from webapp.services import sessions as session_service

    with app.app_context():
        org = Organisation(id="org_Benchmark00000001" + uuid.uuid4().hex[:6], name="Bench")
        db.session.add(org)
        flow = flow_service.create_flow(org.id, FlowCreate(name="bench"))
        ids = [str(uuid.uuid4()) for _ in range(STEPS)]
        steps = [
            {"id": ids[0], "name": "start", "step_type": "START", "prompt_template": {"type": "text"}},
            {"id": ids[1], "name": "a", "step_type": "PROMPT", "prompt_template": _t("A {{ inputs.i }}")},
            {"id": ids[2], "name": "b", "step_type": "PROMPT", "prompt_template": _t("B {{ last }}")},
            {"id": ids[3], "name": "end", "step_type": "END", "prompt_template": _t("{{ last }}")},
        ]
        edges = [{"source_step_id": a, "target_step_id": b} for a, b in zip(ids, ids[1:], strict=False)]
        body = {"steps": steps, "step_transitions": edges}
        flow_service.create_version(flow, FlowVersionCreate.model_validate(body))
        sessions = [session_service.start_session(flow, None, {"i": i}, run=True) for i in range(count)]
        db.session.commit()
        return [s.id for s in sessions]


def _t(template: str) -> dict[str, str]:
    return {"type": "text", "template": template}


def _measure(app: Flask, ids: list[str], timeout_s: float = 600) -> float:
    """Enqueue the sessions and return the seconds until every one of them is final."""
    from webapp.models import Session
    from webapp.runner import current_runner

    with app.app_context():
        began = time.perf_counter()
        for session_id in ids:
            current_runner().enqueue(session_id)
        while True:
            done = db.session.execute(
                select(func.count()).where(
                    Session.id.in_(ids), Session.status.in_(("COMPLETED", "FAILED", "CANCELLED"))
                )
            ).scalar_one()
            db.session.rollback()
            if done == len(ids):
                elapsed = time.perf_counter() - began
                failed = db.session.execute(
                    select(func.count()).where(Session.id.in_(ids), Session.status != "COMPLETED")
                ).scalar_one()
                if failed:
                    raise SystemExit(f"{failed} sessions did not complete")
                return elapsed
            if time.perf_counter() - began > timeout_s:
                raise SystemExit(f"timed out: {done} of {len(ids)} sessions finished")
            time.sleep(0.05)


def _report(label: str, count: int, seconds: float) -> None:
    print(
        f"runner {label:<46} {count:>5} sessions in {seconds:6.2f} s = {count / seconds:7.1f} sessions/s "
        f"({count * STEPS / seconds:7.1f} steps/s)",
        flush=True,
    )


def embedded(count: int, tmp: Path) -> float:
    """Sessions/second with the in-process consumer (2 threads) on SQLite, as `make run` serves."""
    app = _app(
        f"sqlite:///{tmp / 'embedded.db'}",
        {
            "RUNNER_QUEUE": "sqlite",
            "RUNNER_QUEUE_PATH": str(tmp / "embedded-queue.db"),
            "RUNNER_POLL_MAX_S": 0.05,
        },
    )
    ids = _sessions(app, count)
    runner = app.extensions["runner"]
    runner.start_embedded()
    try:
        return _measure(app, ids)
    finally:
        runner.stop_embedded()


def workers(count: int, tmp: Path, database_uri: str, queue: dict[str, Any], processes: int = 2) -> float:
    """Sessions/second with `processes` `flask worker` processes (2 threads each)."""
    app = _app(database_uri, queue)
    ids = _sessions(app, count)
    env = {
        **os.environ,
        "FLASK_SECRET_KEY": "bench",
        "FLASK_SQLALCHEMY_DATABASE_URI": database_uri,
        "FLASK_MODEL_PROVIDER": "echo",
        "FLASK_MODEL_ECHO_DELAY_MS": "0",
        "FLASK_RUNNER_POLL_MAX_S": "0.05",
        **{f"FLASK_{k}": str(v) for k, v in queue.items()},
    }
    logs = [tmp / f"worker-{i}.log" for i in range(processes)]
    procs = []
    for log in logs:
        with log.open("wb") as stderr:
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "flask", "--app", "webapp", "worker", "--threads", "2"],
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=stderr,
                )
            )
    try:
        _wait(lambda: all("Huey consumer started" in log.read_text() for log in logs))
        return _measure(app, ids)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=10)


def _wait(condition: Callable[[], bool], timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("the workers did not start")
        time.sleep(0.05)


def main() -> None:
    """Print sessions/second through the runner: embedded, and with two worker processes."""
    count = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 200
    with tempfile.TemporaryDirectory(prefix="bench-runner-") as folder:
        tmp = Path(folder)
        _report("embedded (1 process, 2 threads, SQLite)", count, embedded(count, tmp))
        sqlite_queue = {"RUNNER_QUEUE": "sqlite", "RUNNER_QUEUE_PATH": str(tmp / "workers-queue.db")}
        seconds = workers(count, tmp, f"sqlite:///{tmp / 'workers.db'}", sqlite_queue)
        _report("2 worker processes x 2 threads (SQLite)", count, seconds)
        pg, redis = os.environ.get("BENCH_DATABASE_URL"), os.environ.get("BENCH_REDIS_URL")
        if pg and redis:
            queue = {
                "RUNNER_QUEUE": "redis",
                "REDIS_URL": redis,
                "RUNNER_QUEUE_NAME": f"bench-{uuid.uuid4().hex[:8]}",
            }
            _report(
                "2 worker processes x 2 threads (PostgreSQL+Redis)", count, workers(count, tmp, pg, queue)
            )


if __name__ == "__main__":
    main()
