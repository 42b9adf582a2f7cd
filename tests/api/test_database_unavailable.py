"""A database that is locked or down: 503 with Retry-After, never a 500, and nothing half-written."""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask, has_request_context
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.orm import Session as OrmSession

from tests.api.contract import assert_conforms, snapshot
from tests.conftest import TEST_DATABASE_URL, _config
from tests.factories import make_flow, make_session
from webapp import create_app
from webapp.extensions import db
from webapp.models import IdempotencyRecord, Session
from webapp.models.types import utcnow

sqlite_only = pytest.mark.skipif(bool(TEST_DATABASE_URL), reason="locks an SQLite file")


def other_app(uri: str, tmp_path: Path, **config) -> Flask:
    return create_app({**_config(uri, tmp_path), **config})


def assert_503(response) -> None:
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) >= 1
    assert isinstance(response.get_json()["detail"], str)


@pytest.fixture
def busy(app, database_uri, tmp_path) -> Iterator[tuple[Flask, sqlite3.Connection]]:
    """A second app on the same SQLite file that waits only 50 ms for a lock, and a locking connection."""
    impatient = other_app(database_uri, tmp_path, SQLITE_BUSY_TIMEOUT_MS=50)
    locker = sqlite3.connect(database_uri.removeprefix("sqlite:///"), timeout=0.05, isolation_level=None)
    yield impatient, locker
    if locker.in_transaction:
        locker.execute("ROLLBACK")
    locker.close()
    with impatient.app_context():
        db.engine.dispose()


@sqlite_only
def test_writes_to_a_locked_sqlite_database_are_503_and_change_nothing(api, busy):
    impatient, locker = busy
    flow = make_flow(api.org)
    session = make_session(flow, "RUNNING")
    api.get("/flows/")  # stamp the key's last use now, so the snapshot below stays still
    before = snapshot()
    client = impatient.test_client()
    headers = {"Api-key": api.key}

    locker.execute("BEGIN EXCLUSIVE")
    writes = [
        client.post("/flows/", json={"name": "x"}, headers=headers),
        client.post(f"/live_flows/{flow.id}/sessions", json={}, headers=headers),
        client.patch(f"/sessions/{session.id}", json={"steps_count": 3}, headers=headers),
        client.post(f"/sessions/{session.id}/cancel", headers=headers),
        client.delete(f"/flows/{flow.id}", headers=headers),
    ]
    read = client.get("/live_flows/", headers=headers)  # WAL readers carry on
    health = client.get("/healthz")
    locker.execute("ROLLBACK")

    for response in writes:
        assert_503(response)
    assert_conforms(writes[0], "POST", "/flows/")
    assert read.status_code == 200 and read.get_json()[0]["id"] == flow.id
    assert health.status_code == 200
    assert snapshot() == before
    assert client.post("/flows/", json={"name": "x"}, headers=headers).status_code == 201


@sqlite_only
def test_a_lock_between_the_idempotency_claim_and_the_creation_half_writes_nothing(api, busy):
    impatient, locker = busy
    flow = make_flow(api.org)
    client = impatient.test_client()
    headers = {"Api-key": api.key, "Idempotency-Key": "k1"}
    claimed = []

    def note_the_claim(session, *_args):
        if has_request_context() and any(isinstance(o, IdempotencyRecord) for o in session.new):
            claimed.append(True)

    def lock_after_the_claim(*_args):
        if claimed and not locker.in_transaction:
            locker.execute("BEGIN EXCLUSIVE")

    event.listen(OrmSession, "before_flush", note_the_claim)
    event.listen(OrmSession, "after_commit", lock_after_the_claim)
    try:
        refused = client.post(f"/live_flows/{flow.id}/sessions", json={"inputs": {"a": 1}}, headers=headers)
    finally:
        event.remove(OrmSession, "before_flush", note_the_claim)
        event.remove(OrmSession, "after_commit", lock_after_the_claim)
        locker.execute("ROLLBACK")
    assert claimed

    assert_503(refused)
    db.session.commit()  # end the test's own read snapshot
    assert db.session.execute(select(func.count()).select_from(Session)).scalar() == 0
    # The claim could not be released while the lock lasted: the key is busy until the claim goes stale.
    assert (
        client.post(f"/live_flows/{flow.id}/sessions", json={"inputs": {"a": 1}}, headers=headers).status_code
        == 409
    )
    db.session.commit()
    claim = db.session.execute(select(IdempotencyRecord)).scalar_one()
    assert claim.state == "processing"
    claim.created_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    retried = client.post(f"/live_flows/{flow.id}/sessions", json={"inputs": {"a": 1}}, headers=headers)
    assert retried.status_code == 201
    replayed = client.post(f"/live_flows/{flow.id}/sessions", json={"inputs": {"a": 1}}, headers=headers)
    assert replayed.get_json() == retried.get_json()
    db.session.commit()
    assert db.session.execute(select(func.count()).select_from(Session)).scalar() == 1


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_a_database_that_is_down_is_503_everywhere_including_healthz(tmp_path, backend):
    uri = {
        "postgresql": f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/gone?connect_timeout=2",
        "sqlite": f"sqlite:///{tmp_path}/missing/dir/gone.db",
    }[backend]
    down = other_app(uri, tmp_path)
    client = down.test_client()

    health = client.get("/healthz")
    answers = [
        client.get("/live_flows/", headers={"Api-key": "lfk_" + "x" * 43}),
        client.post("/flows/", json={"name": "x"}, headers={"Authorization": "Bearer lfk_" + "y" * 43}),
        client.get("/flows/", headers={"Authorization": "Bearer lfp_" + "z" * 43}),
    ]

    assert_503(health)
    for response in answers:
        assert_503(response)
    assert client.get("/openapi.json").status_code == 200  # needs no database
    with down.app_context():
        db.engine.dispose()


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="locks a PostgreSQL row")
def test_a_session_row_locked_on_postgresql_is_503_after_the_lock_timeout_and_changes_nothing(
    api, database_uri, tmp_path
):
    flow = make_flow(api.org)
    session = make_session(flow, "RUNNING")
    api.get("/flows/")
    before = snapshot()
    impatient = other_app(database_uri, tmp_path, DATABASE_LOCK_TIMEOUT_MS=100)
    locker = create_engine(database_uri)
    with locker.connect() as conn:
        conn.execute(text("SELECT id FROM sessions WHERE id = :id FOR UPDATE"), {"id": session.id})
        response = impatient.test_client().patch(
            f"/sessions/{session.id}", json={"steps_count": 9}, headers={"Api-key": api.key}
        )
        conn.rollback()
    locker.dispose()
    with impatient.app_context():
        db.engine.dispose()

    assert_503(response)
    assert snapshot() == before
