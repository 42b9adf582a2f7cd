"""Idempotency-Key on the creating POSTs: replay, conflicts, scope and expiry."""

from __future__ import annotations

import hashlib
import threading
from datetime import timedelta

import orjson
import pytest
from sqlalchemy import func, select

from tests.conftest import ApiClient
from tests.factories import make_api_key, make_flow, make_org
from webapp.extensions import db
from webapp.models import Flow, IdempotencyRecord, Session
from webapp.models.types import utcnow
from webapp.services import flows as flow_service


def count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar()


@pytest.fixture
def flow(api):
    return make_flow(api.org)


@pytest.fixture(params=["flows", "sessions"])
def creating(request, api):
    """Each creating endpoint: (path, a good body, the model it creates)."""
    if request.param == "flows":
        return "/flows/", {"name": "Triage"}, Flow
    return f"/live_flows/{make_flow(api.org).id}/sessions", {"inputs": {"a": 1}}, Session


def test_the_same_key_and_body_replays_the_first_answer_and_creates_nothing_new(api, creating):
    path, body, model = creating
    before = count(model)

    first = api.post(path, json=body, headers={"Idempotency-Key": "abc-123"})
    again = api.post(path, json=body, headers={"Idempotency-Key": "abc-123"})

    assert first.status_code == 201
    assert again.status_code == 201
    assert again.get_data() == first.get_data()
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert count(model) == before + 1


def test_the_replay_ignores_key_order_and_whitespace_in_the_body(api, flow):
    path = f"/live_flows/{flow.id}/sessions"
    first = api.post(
        path,
        data=b'{"inputs": {"a": 1, "b": 2}, "run": false}',
        content_type="application/json",
        headers={"Idempotency-Key": "k"},
    )
    again = api.post(
        path,
        data=b'{"run":false,"inputs":{"b":2,"a":1}}',
        content_type="application/json",
        headers={"Idempotency-Key": "k"},
    )

    assert again.get_json()["id"] == first.get_json()["id"]
    assert count(Session) == 1


def test_the_same_key_with_another_body_is_422_and_creates_nothing(api, creating):
    path, body, model = creating
    api.post(path, json=body, headers={"Idempotency-Key": "k"})
    before = count(model)

    other = api.post(
        path,
        json={**body, "inputs": {"b": 2}} if model is Session else {"name": "Other"},
        headers={"Idempotency-Key": "k"},
    )

    assert other.status_code == 422
    assert other.get_json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]
    assert count(model) == before


def test_without_a_key_every_post_creates(api, creating):
    path, body, model = creating
    before = count(model)

    api.post(path, json=body)
    api.post(path, json=body)

    assert count(model) == before + 2


def test_a_refused_request_leaves_no_claim_so_the_key_can_be_retried(api, flow):
    path = f"/live_flows/{flow.id}/sessions"

    refused = api.post(path, json={"inputs": "not an object"}, headers={"Idempotency-Key": "retry"})
    retried = api.post(path, json={"inputs": {}}, headers={"Idempotency-Key": "retry"})

    assert (refused.status_code, retried.status_code) == (422, 201)
    assert count(IdempotencyRecord) == 1


def body_hash(data) -> str:
    return hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).hexdigest()


def test_a_duplicate_arriving_while_a_claim_is_processing_is_409(api):
    db.session.add(
        IdempotencyRecord(
            org_id=api.org.id, method="POST", path="/flows/", key="busy", body_hash=body_hash({"name": "x"})
        )
    )
    db.session.commit()

    response = api.post("/flows/", json={"name": "x"}, headers={"Idempotency-Key": "busy"})

    assert response.status_code == 409
    assert isinstance(response.get_json()["detail"], str)
    assert count(Flow) == 0


def test_a_concurrent_duplicate_is_409_while_the_first_is_still_being_processed(app, api, monkeypatch):
    entered, release = threading.Event(), threading.Event()
    original = flow_service.create_flow

    def slow_create(*args, **kwargs):
        entered.set()
        assert release.wait(10)
        return original(*args, **kwargs)

    monkeypatch.setattr(flow_service, "create_flow", slow_create)
    headers = {"Api-key": api.key, "Idempotency-Key": "race"}
    answers = {}

    def first():
        answers["first"] = app.test_client().post("/flows/", json={"name": "x"}, headers=headers)

    thread = threading.Thread(target=first)
    thread.start()
    try:
        assert entered.wait(10)
        duplicate = api.post("/flows/", json={"name": "x"}, headers={"Idempotency-Key": "race"})
    finally:
        release.set()
        thread.join(10)

    assert duplicate.status_code == 409
    assert answers["first"].status_code == 201
    replay = api.post("/flows/", json={"name": "x"}, headers={"Idempotency-Key": "race"})
    assert replay.get_json()["id"] == answers["first"].get_json()["id"]
    assert count(Flow) == 1


def test_a_stale_claim_is_retaken(api):
    db.session.add(
        IdempotencyRecord(
            org_id=api.org.id,
            method="POST",
            path="/flows/",
            key="dead",
            body_hash="0" * 64,
            created_at=utcnow() - timedelta(minutes=5),
        )
    )
    db.session.commit()

    response = api.post("/flows/", json={"name": "x"}, headers={"Idempotency-Key": "dead"})

    assert response.status_code == 201
    assert count(Flow) == 1


def test_keys_are_scoped_to_the_organisation(api, client):
    other_org = make_org("Other")
    other = ApiClient(client, make_api_key(other_org), other_org)

    mine = api.post("/flows/", json={"name": "x"}, headers={"Idempotency-Key": "shared"})
    theirs = other.post("/flows/", json={"name": "x"}, headers={"Idempotency-Key": "shared"})

    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.get_json()["id"] != theirs.get_json()["id"]
    assert theirs.get_json()["organisation_id"] == other_org.id
    assert count(Flow) == 2


def test_keys_are_scoped_to_the_path(api):
    a, b = make_flow(api.org, "a"), make_flow(api.org, "b")

    on_a = api.post(f"/live_flows/{a.id}/sessions", json={}, headers={"Idempotency-Key": "same"})
    on_b = api.post(f"/live_flows/{b.id}/sessions", json={}, headers={"Idempotency-Key": "same"})
    flow = api.post("/flows/", json={}, headers={"Idempotency-Key": "same"})

    assert (on_a.status_code, on_b.status_code) == (201, 201)
    assert on_a.get_json()["id"] != on_b.get_json()["id"]
    assert flow.status_code == 422  # a different path: judged on its own, not a key reuse
    assert flow.get_json()["detail"][0]["loc"] == ["body", "name"]


def test_a_flow_id_in_either_case_is_one_scope(api, flow):
    lower = api.post(f"/live_flows/{flow.id}/sessions", json={}, headers={"Idempotency-Key": "case"})
    upper = api.post(f"/live_flows/{flow.id.upper()}/sessions", json={}, headers={"Idempotency-Key": "case"})

    assert upper.get_json()["id"] == lower.get_json()["id"]
    assert count(Session) == 1


def test_keys_are_scoped_to_the_method(api):
    db.session.add(
        IdempotencyRecord(
            org_id=api.org.id,
            method="PUT",
            path="/flows/",
            key="m",
            body_hash="0" * 64,
            state="done",
            status_code=200,
            body=b"{}",
        )
    )
    db.session.commit()

    response = api.post("/flows/", json={"name": "x"}, headers={"Idempotency-Key": "m"})

    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response.headers


def test_an_answer_expires_after_24_hours(api):
    first = api.post("/flows/", json={"name": "x"}, headers={"Idempotency-Key": "old"})
    record = db.session.execute(select(IdempotencyRecord)).scalar_one()
    record.created_at = utcnow() - timedelta(hours=24, seconds=1)
    db.session.commit()

    later = api.post("/flows/", json={"name": "x"}, headers={"Idempotency-Key": "old"})

    assert later.status_code == 201
    assert later.get_json()["id"] != first.get_json()["id"]
    assert "Idempotent-Replayed" not in later.headers
    assert count(IdempotencyRecord) == 1  # the expired answer was dropped


def test_an_answer_within_24_hours_is_replayed(api):
    first = api.post("/flows/", json={"name": "x"}, headers={"Idempotency-Key": "recent"})
    record = db.session.execute(select(IdempotencyRecord)).scalar_one()
    record.created_at = utcnow() - timedelta(hours=23, minutes=59)
    db.session.commit()

    again = api.post("/flows/", json={"name": "x"}, headers={"Idempotency-Key": "recent"})

    assert again.get_json()["id"] == first.get_json()["id"]


@pytest.mark.parametrize("key", ["", " ", "x" * 256, "tab\there", "ünïcode"])
def test_a_malformed_key_is_422(api, key):
    response = api.post("/flows/", json={"name": "x"}, headers={"Idempotency-Key": key})

    assert response.status_code == 422
    assert response.get_json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]
    assert count(Flow) == 0


def test_a_key_of_255_visible_characters_is_accepted(api):
    assert api.post("/flows/", json={"name": "x"}, headers={"Idempotency-Key": "k" * 255}).status_code == 201
