"""Database engine tuning: SQLite pragmas for a safe embedded default, a lock timeout on PostgreSQL."""

from __future__ import annotations

from typing import Any

from flask import Flask, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

from webapp.extensions import db


def init_app(app: Flask) -> None:
    """Turn on WAL, a busy timeout and foreign keys on SQLite; bound lock waits on PostgreSQL.

    Either way a request waits at most SQLITE_BUSY_TIMEOUT_MS (DATABASE_LOCK_TIMEOUT_MS on
    PostgreSQL, the same by default) for a lock, then answers 503 with Retry-After.
    """
    busy_ms = int(app.config["SQLITE_BUSY_TIMEOUT_MS"])
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine, busy_ms)
    elif engine.dialect.name == "postgresql":
        _configure_postgresql(engine, int(app.config.get("DATABASE_LOCK_TIMEOUT_MS", busy_ms)))


def _configure_postgresql(engine: Engine, lock_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # PostgreSQL would wait for a row lock forever; fail (55P03, an OperationalError) instead.
        with dbapi_conn.cursor() as cur:
            cur.execute(f"SET lock_timeout = {lock_ms}")
        dbapi_conn.commit()


def _configure_sqlite(engine: Engine, busy_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # pysqlite's own transaction handling defers BEGIN; let SQLAlchemy emit it.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={busy_ms}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()
        # SQLite's lower() folds ASCII only; PostgreSQL's folds all of Unicode. Make `q` agree.
        dbapi_conn.create_function("lower", 1, _lower, deterministic=True)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers take the lock up front: a deferred transaction that later writes fails at
        # once (SQLITE_BUSY, no waiting) when another writer committed in between.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if _writes(conn) else "BEGIN")


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _writes(conn: Any) -> bool:
    if conn.get_execution_options().get("sqlite_immediate"):
        return True
    return has_request_context() and request.method not in ("GET", "HEAD", "OPTIONS")


def begin_write() -> None:
    """Start the session's transaction as a writer, so SQLite takes its lock at once."""
    db.session.connection(execution_options={"sqlite_immediate": True})
