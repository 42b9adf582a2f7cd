"""GET /live_flows/: latency and SQL statements for 1, 50 and 200 live flows with 20 sessions each.

Run: `.venv/bin/python -m benchmarks.live_flows` (or via `make bench`). SQLite in a temporary folder;
with BENCH_DATABASE_URL or TEST_DATABASE_URL (an expendable PostgreSQL database: its schema is
dropped) the same on PostgreSQL.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402
from sqlalchemy import event  # noqa: E402

from benchmarks._app import migrated_app  # noqa: E402
from webapp.extensions import db  # noqa: E402

SIZES = (1, 50, 200)
SESSIONS = 20
VERSIONS = 3
ROUNDS = 15
STATUSES = ("NEW", "RUNNING", "WAITING", "COMPLETED", "FAILED", "CANCELLED")


def _app(uri: str) -> Flask:
    return migrated_app({"SQLALCHEMY_DATABASE_URI": uri, "SECRET_KEY": "bench", "RUNNER_QUEUE": "memory"})


def _graph() -> dict[str, Any]:
    """START, three PROMPTs and END in a line, with a loop back."""
    names = ["start", "a", "b", "c", "end"]
    ids = [str(uuid.uuid4()) for _ in names]
    types = ["START", "PROMPT", "PROMPT", "PROMPT", "END"]
    steps = [
        {
            "id": i,
            "name": n,
            "step_type": t,
            "prompt_template": {"type": "text", "template": f"Do {n}: {{{{ inputs }}}}"},
        }
        for i, n, t in zip(ids, names, types, strict=True)
    ]
    edges = [
        {"source_step_id": a, "target_step_id": b, "label": None} for a, b in zip(ids, ids[1:], strict=False)
    ]
    edges.append({"source_step_id": ids[3], "target_step_id": ids[1], "label": "again"})
    return {"steps": steps, "step_transitions": edges}


def _fill(org_id: str, flows: int) -> None:
    """Add live flows with VERSIONS versions and SESSIONS sessions spread over them."""
    from webapp.domain.schemas import FlowCreate, FlowVersionCreate
    from webapp.models import Session
    from webapp.models.types import utcnow
    from webapp.services import flows as flow_service

    for n in range(flows):
        flow = flow_service.create_flow(org_id, FlowCreate(name=f"flow {n}", description="benchmark"))
        versions = [
            flow_service.create_version(flow, FlowVersionCreate.model_validate(_graph())).id
            for _ in range(VERSIONS)
        ]
        now = utcnow()
        db.session.add_all(
            Session(
                org_id=org_id,
                flow_id=flow.id,
                flow_version_id=versions[j % VERSIONS],
                status=STATUSES[j % len(STATUSES)],
                steps_count=j % 5,
                inputs={"message": f"hello {j}"},
                created_at=now,
                updated_at=now,
            )
            for j in range(SESSIONS)
        )
    db.session.commit()


def _measure(app: Flask, key: str) -> tuple[float, float, int, int]:
    """Return median and p95 latency (ms), statements and bytes of GET /live_flows/."""
    client = app.test_client()
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    client.get("/live_flows/", headers={"Api-key": key})  # warm caches, stamp the key's last use
    timings = []
    size = 0
    for _ in range(ROUNDS):
        with app.app_context():
            engine = db.engine
        statements.clear()
        event.listen(engine, "before_cursor_execute", record)
        start = time.perf_counter()
        response = client.get("/live_flows/", headers={"Api-key": key})
        timings.append((time.perf_counter() - start) * 1000)
        event.remove(engine, "before_cursor_execute", record)
        assert response.status_code == 200, response.get_data(as_text=True)
        size = len(response.get_data())
    timings.sort()
    p95 = timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))]
    return statistics.median(timings), p95, len(statements), size


def run(label: str, uri: str) -> None:
    """Print one line per size for one database."""
    from webapp.auth.credentials import API_KEY_PREFIX, make_secret
    from webapp.models import ApiKey, Organisation

    app = _app(uri)
    with app.app_context():
        org = Organisation(id="org_Benchmark" + uuid.uuid4().hex[:12], name="Bench")
        secret = make_secret(API_KEY_PREFIX)
        db.session.add(org)
        db.session.flush()
        db.session.add(
            ApiKey(
                org_id=org.id, prefix=secret.prefix, last4=secret.last4, key_hash=secret.digest, name="bench"
            )
        )
        db.session.commit()
        org_id = org.id
    made = 0
    print(
        f"GET /live_flows/ on {label} ({SESSIONS} sessions and {VERSIONS} versions per flow, {ROUNDS} rounds)"
    )
    print(f"{'flows':>6} {'median ms':>10} {'p95 ms':>8} {'statements':>11} {'KiB':>8}")
    for size in SIZES:
        with app.app_context():
            _fill(org_id, size - made)
            db.session.remove()
        made = size
        median, p95, count, nbytes = _measure(app, secret.secret)
        print(f"{size:>6} {median:>10.1f} {p95:>8.1f} {count:>11} {nbytes / 1024:>8.0f}", flush=True)
    with app.app_context():
        db.engine.dispose()


def main() -> None:
    """Benchmark GET /live_flows/ on SQLite, and on PostgreSQL when a database URL is given."""
    with tempfile.TemporaryDirectory(prefix="bench-live-flows-") as folder:
        run("SQLite", f"sqlite:///{Path(folder) / 'bench.db'}")
    pg = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    if pg:
        run("PostgreSQL", pg)


if __name__ == "__main__":
    main()
