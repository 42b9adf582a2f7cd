"""The embedded default: a consumer thread inside the web process, on a SQLite queue in instance/."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from flask import Flask

from tests.runner.helpers import build_flow, linear
from webapp import create_app
from webapp.runner import current_runner


def test_the_embedded_consumer_runs_sessions_started_through_the_api(
    app: Flask, api: Any, org: Any, tmp_path: Path
) -> None:
    app.config.update(
        RUNNER_QUEUE="sqlite", RUNNER_QUEUE_PATH=str(tmp_path / "queue.db"), RUNNER_POLL_MAX_S=0.05
    )
    flow = build_flow(org, *linear("Hello {{ inputs.name }}", "Bye {{ last }}"))
    runner = current_runner()
    runner.start_embedded()
    try:
        created = api.post(f"/live_flows/{flow.id}/sessions", json={"inputs": {"name": "Ada"}, "run": True})
        deadline = time.monotonic() + 10
        while api.get(f"/sessions/{created.json['id']}").json["status"] != "COMPLETED":
            assert time.monotonic() < deadline, "the embedded consumer did not run the session"
            time.sleep(0.05)
    finally:
        consumer = runner.consumer
        runner.stop_embedded()
    steps = api.get(f"/sessions/{created.json['id']}/steps").json
    assert [s["output"] for s in steps] == ["", "Hello Ada", "Bye Hello Ada", "Bye Hello Ada"]
    assert consumer is not None
    assert not any(thread.is_alive() for _, thread in consumer.worker_threads)
    assert (tmp_path / "queue.db").exists()


def test_the_queue_is_sqlite_in_the_instance_folder_unless_redis_is_configured(tmp_path: Path) -> None:
    plain = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x"})
    redis = create_app(
        {"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x", "REDIS_URL": "redis://h:1/0"}
    )

    assert plain.extensions["runner"].queue_kind() == "sqlite"
    assert plain.extensions["runner"].consumer is None  # nothing runs unless asked (make run asks)
    assert redis.extensions["runner"].queue_kind() == "redis"
