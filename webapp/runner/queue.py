"""The task queue (Huey): SQLite in instance/ by default, Redis when FLASK_REDIS_URL is set.

Each app owns one Runner (app.extensions["runner"]). Its Huey instance is made on first use,
so commands that never enqueue (db upgrade, orgs create) never open the queue.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from typing import Any

from flask import Flask
from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey
from huey.consumer import Consumer

from webapp.runner import engine
from webapp.runner.providers import Provider, make_provider

log = logging.getLogger(__name__)

_PROVIDER_KEYS = (
    "MODEL_PROVIDER",
    "MODEL_ECHO_DELAY_MS",
    "MODEL_BASE_URL",
    "MODEL_API_KEY",
    "MODEL_NAME",
    "MODEL_TIMEOUT_S",
)


class _Consumer(Consumer):
    """Huey's consumer; signal handlers only when it runs a worker process's main thread."""

    def __init__(self, huey: Huey, *, signals: bool, **kwargs: Any) -> None:
        self._signals = signals
        super().__init__(huey, **kwargs)

    def _set_signal_handlers(self) -> None:
        if self._signals and threading.current_thread() is threading.main_thread():
            super()._set_signal_handlers()


class Runner:
    """The app's runner: enqueue sessions, execute them, sweep abandoned ones, run consumers."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._huey: Huey | None = None
        self._lock = threading.Lock()
        self._provider: tuple[tuple[Any, ...], Provider] | None = None
        # Set when this process is shutting down: sessions are handed back between steps.
        self.stopping = threading.Event()
        self.consumer: _Consumer | None = None

    # ---- the queue ---------------------------------------------------------------------------

    @property
    def huey(self) -> Huey:
        """Return this app's Huey instance, creating it (and its task) on first use."""
        with self._lock:
            if self._huey is None:
                self._huey = self._make_huey()
            return self._huey

    def queue_kind(self) -> str:
        """Return which queue backs the runner: redis, sqlite or memory."""
        kind = str(self.app.config.get("RUNNER_QUEUE") or "auto").lower()
        if kind == "auto":
            kind = "redis" if self.app.config.get("REDIS_URL") else "sqlite"
        return kind

    def _make_huey(self) -> Huey:
        config = self.app.config
        name = str(config.get("RUNNER_QUEUE_NAME") or "liveflows")
        kind = self.queue_kind()
        huey: Huey
        if kind == "redis":
            huey = RedisHuey(name, url=config["REDIS_URL"], results=False)
        elif kind == "sqlite":
            path = config.get("RUNNER_QUEUE_PATH") or os.path.join(self.app.instance_path, "runner-queue.db")
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            huey = SqliteHuey(name, filename=path, results=False)
        elif kind == "memory":
            huey = MemoryHuey(name, results=False)
        else:
            raise ValueError(f"FLASK_RUNNER_QUEUE={kind!r}; use auto, sqlite, redis or memory")
        self._task = huey.task(name="run_session")(self.execute)
        return huey

    def enqueue(self, session_id: str, delay_s: float = 0.0) -> None:
        """Put a session on the queue (after `delay_s` seconds); a worker will execute it."""
        _ = self.huey
        if delay_s > 0:
            self._task.schedule(args=(session_id,), delay=delay_s)
        else:
            self._task(session_id)

    # ---- execution -----------------------------------------------------------------------------

    def provider(self) -> Provider:
        """Return the model provider the configuration names (rebuilt when it changes)."""
        key = tuple(self.app.config.get(k) for k in _PROVIDER_KEYS)
        if self._provider is None or self._provider[0] != key:
            self._provider = (key, make_provider(self.app.config))
        return self._provider[1]

    def execute(self, session_id: str) -> str | None:
        """Execute one session now, in this thread (the queue's task body)."""
        with self.app.app_context():
            return engine.execute(
                session_id,
                self.provider(),
                engine.Settings.from_config(self.app.config),
                stopping=self.stopping,
            )

    def drain(self, limit: int = 10_000) -> int:
        """Execute every task waiting in the queue, here and now; return how many ran (tests, tools)."""
        done = 0
        while done < limit:
            task = self.huey.dequeue()
            if task is None:
                break
            self.execute(*task.args)
            done += 1
        return done

    def sweep(self) -> list[str]:
        """Re-enqueue run=True sessions that nobody executes any more; return their ids."""
        with self.app.app_context():
            ids = engine.sweep(
                engine.Settings.from_config(self.app.config),
                float(self.app.config.get("RUNNER_REQUEUE_NEW_AFTER_S", 60)),
            )
        for session_id in ids:
            self.enqueue(session_id)
        if ids:
            log.info("re-enqueued %d abandoned session(s)", len(ids))
        return ids

    # ---- consumers -----------------------------------------------------------------------------

    def make_consumer(self, threads: int, *, signals: bool) -> _Consumer:
        """Build a Huey consumer with `threads` worker threads; shutting it down hands sessions back."""
        consumer = _Consumer(
            self.huey,
            signals=signals,
            workers=max(1, threads),
            worker_type="thread",
            periodic=False,
            initial_delay=0.05,
            backoff=1.2,
            # SQLite queues are polled: keep an idle worker's pick-up delay short.
            max_delay=float(self.app.config.get("RUNNER_POLL_MAX_S", 0.5)),
            check_worker_health=True,
        )
        self.stopping = consumer.stop_flag
        self.consumer = consumer
        return consumer

    def start_sweeper(self, stop: threading.Event) -> threading.Thread:
        """Sweep for abandoned sessions now and every FLASK_RUNNER_SWEEP_INTERVAL_S, until `stop`."""
        interval = float(self.app.config.get("RUNNER_SWEEP_INTERVAL_S", 5))

        def loop() -> None:
            while True:
                try:
                    self.sweep()
                except Exception:  # a database hiccup must not end recovery for good
                    log.exception("runner sweep failed")
                if stop.wait(interval):
                    return

        thread = threading.Thread(target=loop, name="runner-sweeper", daemon=True)
        thread.start()
        return thread

    def start_embedded(self) -> None:
        """Run a consumer and the sweeper in this process's background threads (the embedded default)."""
        if self.consumer is not None:
            return
        consumer = self.make_consumer(int(self.app.config.get("RUNNER_THREADS", 2)), signals=False)
        consumer.start()
        self.start_sweeper(consumer.stop_flag)
        log.info("embedded runner started (%s queue)", self.queue_kind())

        atexit.register(self.stop_embedded)

    def stop_embedded(self, timeout_s: float = 5.0) -> None:
        """Stop the embedded consumer; running sessions hand back between steps (at exit, too)."""
        consumer, self.consumer = self.consumer, None
        if consumer is None:
            return
        consumer.stop_flag.set()
        deadline = time.monotonic() + timeout_s
        for _, thread in consumer.worker_threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        atexit.unregister(self.stop_embedded)
