"""GET/PATCH /sessions/{id} and POST /sessions/{id}/cancel: ETags, If-Match and the status rules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from tests.api.contract import assert_conforms, assert_valid, contract_validator
from tests.factories import make_flow, make_org, make_session
from webapp.extensions import db
from webapp.models import Session

STATUSES = ["NEW", "RUNNING", "WAITING", "COMPLETED", "FAILED", "CANCELLED"]
# Written out from API.md, not taken from the code under test.
ALLOWED = {
    "NEW": {"NEW", "RUNNING", "FAILED", "CANCELLED"},
    "RUNNING": {"RUNNING", "WAITING", "COMPLETED", "FAILED", "CANCELLED"},
    "WAITING": {"WAITING", "RUNNING", "FAILED", "CANCELLED"},
    "COMPLETED": set(),
    "FAILED": set(),
    "CANCELLED": set(),
}
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


@pytest.fixture
def flow(api):
    return make_flow(api.org)


def reload(session: Session) -> Session:
    return db.session.execute(select(Session).where(Session.id == session.id)).scalar_one()


def aged(flow, status: str = "RUNNING", **kwargs) -> Session:
    session = make_session(flow, status, **kwargs)
    session.updated_at = LONG_AGO
    db.session.commit()
    return session


def test_a_session_is_read_with_a_strong_etag(api, flow):
    session = make_session(flow, "WAITING", inputs={"q": 1}, steps_count=3, error="almost")

    response = api.get(f"/sessions/{session.id}")

    assert response.status_code == 200
    etag = response.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"') and not etag.startswith("W/")
    body = response.get_json()
    assert (body["id"], body["status"], body["steps_count"], body["error"]) == (
        session.id,
        "WAITING",
        3,
        "almost",
    )
    assert body["inputs"] == {"q": 1}
    assert body["flow_version"]["id"] == flow.current_version_id
    assert_valid(contract_validator("SessionRead"), body)
    assert_conforms(response, "GET", "/sessions/{session_id}")
    assert api.get(f"/sessions/{session.id}").headers["ETag"] == etag  # stable while unchanged


def test_patch_answers_the_changed_session_with_a_new_etag_and_moves_updated_at(api, flow):
    session = aged(flow, "RUNNING", steps_count=1)
    etag = api.get(f"/sessions/{session.id}").headers["ETag"]

    response = api.patch(f"/sessions/{session.id}", json={"steps_count": 4, "status": "WAITING"})

    assert response.status_code == 200
    body = response.get_json()
    assert (body["status"], body["steps_count"]) == ("WAITING", 4)
    assert body["updated_at"] != "2020-01-01T00:00:00Z"
    assert response.headers["ETag"] != etag
    again = api.get(f"/sessions/{session.id}")
    assert (again.get_json(), again.headers["ETag"]) == (body, response.headers["ETag"])
    assert_conforms(response, "PATCH", "/sessions/{session_id}")


@pytest.mark.parametrize("current", ["same", "star", "in a list"])
def test_patch_with_a_current_if_match_is_applied(api, flow, current):
    session = make_session(flow, "RUNNING")
    etag = api.get(f"/sessions/{session.id}").headers["ETag"]
    header = {"same": etag, "star": "*", "in a list": f'"other", {etag}'}[current]

    response = api.patch(f"/sessions/{session.id}", json={"steps_count": 2}, headers={"If-Match": header})

    assert (response.status_code, response.get_json()["steps_count"]) == (200, 2)


@pytest.mark.parametrize(
    "body",
    [{"steps_count": 2}, {"steps_count": -1}, {"bogus": 1}, "{not json", None],
    ids=["valid", "invalid value", "unknown field", "malformed", "empty"],
)
def test_a_stale_if_match_is_412_before_the_body_is_judged_and_changes_nothing(api, flow, body):
    session = make_session(flow, "RUNNING")
    stale = api.get(f"/sessions/{session.id}").headers["ETag"]
    api.patch(f"/sessions/{session.id}", json={"steps_count": 1})
    kwargs = {"data": body, "content_type": "application/json"} if isinstance(body, str) else {"json": body}

    for weak in (stale, "W/" + api.get(f"/sessions/{session.id}").headers["ETag"]):
        response = api.patch(f"/sessions/{session.id}", headers={"If-Match": weak}, **kwargs)
        assert response.status_code == 412
        assert isinstance(response.get_json()["detail"], str)
    assert reload(session).steps_count == 1


def test_if_match_comes_after_the_404(api, flow):
    response = api.patch(
        "/sessions/3c90c3cc-0d44-4b50-8888-8dd25736052a", json={}, headers={"If-Match": '"stale"'}
    )

    assert (response.status_code, response.get_json()) == (404, {"detail": "Session not found"})


@pytest.mark.parametrize(("current", "new"), [(a, b) for a in STATUSES for b in STATUSES])
def test_status_transitions_follow_the_contract(api, flow, current, new):
    session = make_session(flow, current)

    response = api.patch(f"/sessions/{session.id}", json={"status": new})

    if new in ALLOWED[current]:
        assert response.status_code == 200
        assert response.get_json()["status"] == new
    else:
        assert response.status_code == 409
        assert isinstance(response.get_json()["detail"], str)
        assert reload(session).status == current


@pytest.mark.parametrize("status", ["COMPLETED", "FAILED", "CANCELLED"])
@pytest.mark.parametrize("body", [{}, "same status", {"steps_count": 0}, {"error": None}])
def test_any_patch_of_a_final_session_is_409_even_a_no_op(api, flow, status, body):
    session = make_session(flow, status)
    etag = api.get(f"/sessions/{session.id}").headers["ETag"]

    response = api.patch(
        f"/sessions/{session.id}", json={"status": status} if body == "same status" else body
    )

    assert response.status_code == 409
    assert api.get(f"/sessions/{session.id}").headers["ETag"] == etag


@pytest.mark.parametrize("status", ["NEW", "RUNNING", "WAITING"])
def test_a_patch_to_the_current_status_is_allowed_and_changes_nothing(api, flow, status):
    session = aged(flow, status)
    etag = api.get(f"/sessions/{session.id}").headers["ETag"]

    response = api.patch(f"/sessions/{session.id}", json={"status": status})

    assert (response.status_code, response.get_json()["status"]) == (200, status)
    assert response.headers["ETag"] == etag
    assert response.get_json()["updated_at"] == "2020-01-01T00:00:00Z"


def test_steps_count_may_reach_the_largest_integer_column_value(api, flow):
    session = make_session(flow, "RUNNING")

    response = api.patch(f"/sessions/{session.id}", json={"steps_count": 2**31 - 1})

    assert (response.status_code, response.get_json()["steps_count"]) == (200, 2**31 - 1)


def test_steps_count_never_decreases(api, flow):
    session = make_session(flow, "RUNNING", steps_count=5)

    down = api.patch(f"/sessions/{session.id}", json={"steps_count": 4})
    same = api.patch(f"/sessions/{session.id}", json={"steps_count": 5})
    up = api.patch(f"/sessions/{session.id}", json={"steps_count": 6})

    assert down.status_code == 422
    assert down.get_json()["detail"][0]["loc"] == ["body", "steps_count"]
    assert (same.status_code, up.status_code, up.get_json()["steps_count"]) == (200, 200, 6)


def test_a_decreasing_steps_count_is_judged_before_the_state_rules(api, flow):
    # The contract's order puts the body (422) before the rules of state (409).
    session = make_session(flow, "COMPLETED", steps_count=5)

    response = api.patch(f"/sessions/{session.id}", json={"steps_count": 1, "status": "RUNNING"})

    assert response.status_code == 422


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"status": "DONE"}, ["body", "status"]),
        ({"status": None}, ["body", "status"]),
        ({"steps_count": None}, ["body", "steps_count"]),
        ({"steps_count": -1}, ["body", "steps_count"]),
        ({"steps_count": "many"}, ["body", "steps_count"]),
        ({"steps_count": 2**31}, ["body", "steps_count"]),
        ({"steps_count": 10**30}, ["body", "steps_count"]),
        ({"error": 5}, ["body", "error"]),
        ({"inputs": {}}, ["body", "inputs"]),
        ({"id": "x"}, ["body", "id"]),
    ],
)
def test_a_bad_patch_is_422_at_the_field_and_changes_nothing(api, flow, body, loc):
    session = make_session(flow, "RUNNING", steps_count=2)

    response = api.patch(f"/sessions/{session.id}", json=body)

    assert response.status_code == 422
    assert response.get_json()["detail"][0]["loc"] == loc
    assert (reload(session).status, reload(session).steps_count) == ("RUNNING", 2)


def test_error_is_set_and_cleared_through_patch(api, flow):
    session = make_session(flow, "RUNNING")

    failed = api.patch(f"/sessions/{session.id}", json={"status": "FAILED", "error": "provider timed out"})

    assert (failed.get_json()["status"], failed.get_json()["error"]) == ("FAILED", "provider timed out")
    other = make_session(flow, "RUNNING", error="transient")
    cleared = api.patch(f"/sessions/{other.id}", json={"error": None})
    assert cleared.get_json()["error"] is None


def test_patch_records_start_and_finish_times(api, flow):
    session = make_session(flow, "NEW")

    api.patch(f"/sessions/{session.id}", json={"status": "RUNNING"})
    started = reload(session).started_at
    api.patch(f"/sessions/{session.id}", json={"status": "COMPLETED"})

    assert started is not None
    assert reload(session).started_at == started
    assert reload(session).finished_at >= started


@pytest.mark.parametrize("status", ["NEW", "RUNNING", "WAITING"])
def test_cancel_moves_an_active_session_to_cancelled(api, flow, status):
    session = aged(flow, status)
    etag = api.get(f"/sessions/{session.id}").headers["ETag"]

    response = api.post(f"/sessions/{session.id}/cancel")

    assert response.status_code == 200
    assert response.get_json()["status"] == "CANCELLED"
    assert response.get_json()["updated_at"] != "2020-01-01T00:00:00Z"
    assert response.headers["ETag"] != etag
    assert reload(session).finished_at is not None
    assert_conforms(response, "POST", "/sessions/{session_id}/cancel")


@pytest.mark.parametrize("status", ["COMPLETED", "FAILED", "CANCELLED"])
def test_cancelling_a_final_session_is_409(api, flow, status):
    session = make_session(flow, status)

    response = api.post(f"/sessions/{session.id}/cancel", json={})

    assert response.status_code == 409
    assert reload(session).status == status


def test_cancel_honours_if_match_and_refuses_body_fields(api, flow):
    session = make_session(flow, "RUNNING")

    stale = api.post(f"/sessions/{session.id}/cancel", headers={"If-Match": '"nope"'})
    fields = api.post(f"/sessions/{session.id}/cancel", json={"reason": "bored"})

    assert (stale.status_code, fields.status_code) == (412, 422)
    assert reload(session).status == "RUNNING"


def test_a_session_of_another_organisation_is_the_same_404_as_a_missing_one(api, flow):
    foreign = make_session(make_flow(make_org("Other")), "RUNNING")
    missing = "3c90c3cc-0d44-4b50-8888-8dd25736052a"

    answers = [
        (r.status_code, r.get_json())
        for sid in (foreign.id, missing, "nope")
        for r in (
            api.get(f"/sessions/{sid}"),
            api.patch(f"/sessions/{sid}", json={"status": "FAILED"}),
            api.post(f"/sessions/{sid}/cancel"),
        )
    ]

    assert set(map(str, answers)) == {str((404, {"detail": "Session not found"}))}
    assert reload(foreign).status == "RUNNING"


def test_patch_of_a_session_the_runner_executes_is_409_and_changes_nothing(api):
    flow = make_flow(api.org)
    session = make_session(flow, "RUNNING", run=True, steps_count=1)

    response = api.patch(f"/sessions/{session.id}", json={"status": "COMPLETED", "steps_count": 2})

    assert response.status_code == 409
    assert "runner" in response.json["detail"]
    db.session.expire_all()
    assert (session.status, session.steps_count) == ("RUNNING", 1)
