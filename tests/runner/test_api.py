"""The runner's endpoints: POST /sessions/{id}/run, GET /sessions/{id}/steps, and run: true."""

from __future__ import annotations

from typing import Any

from tests import factories
from tests.runner.helpers import build_flow, fresh, linear, start
from webapp.runner import current_runner


def test_run_hands_a_new_session_to_the_runner_with_202(api: Any, org: Any) -> None:
    flow = build_flow(org, *linear("Hi {{ inputs.name }}"))
    session_id = start(flow, {"name": "Ada"}, run=False)

    response = api.post(f"/sessions/{session_id}/run")

    assert response.status_code == 202
    assert response.json["id"] == session_id and response.json["status"] == "NEW"
    assert response.headers["ETag"]
    assert fresh(session_id).run is True
    assert current_runner().drain() == 1
    assert api.get(f"/sessions/{session_id}").json["status"] == "COMPLETED"


def test_run_refuses_a_session_that_is_not_new_with_409(api: Any, org: Any) -> None:
    flow = build_flow(org, *linear("x"))
    for status in ("RUNNING", "WAITING", "COMPLETED", "FAILED", "CANCELLED"):
        session = factories.make_session(flow, status)

        response = api.post(f"/sessions/{session.id}/run")

        assert response.status_code == 409, status
        assert status in response.json["detail"]
        assert fresh(session.id).run is False
    assert current_runner().drain() == 0


def test_run_and_steps_answer_404_for_another_organisations_session(api: Any) -> None:
    other = factories.make_org("Other")
    flow = build_flow(other, *linear("secret {{ inputs.x }}"))
    session_id = start(flow, {"x": 1}, run=False)

    assert api.post(f"/sessions/{session_id}/run").status_code == 404
    assert api.get(f"/sessions/{session_id}/steps").status_code == 404
    assert api.get("/sessions/not-a-uuid/steps").status_code == 404
    assert fresh(session_id).run is False


def test_run_refuses_a_body_with_fields(api: Any, org: Any) -> None:
    flow = build_flow(org, *linear("x"))
    session_id = start(flow, run=False)

    response = api.post(f"/sessions/{session_id}/run", json={"fast": True})

    assert response.status_code == 422
    assert fresh(session_id).run is False


def test_steps_lists_the_step_runs_in_order_with_prompts_outputs_and_times(api: Any, org: Any) -> None:
    flow = build_flow(
        org,
        [
            ("start", "START", "{{ inputs.q }}"),
            ("route", "CONDITION", "{{ 'a' if inputs.q == 'yes' else 'b' }}"),
            ("A", "PROMPT", "said yes to {{ last }}"),
            ("B", "PROMPT", "{{ nope }}"),
        ],
        [("start", "route", None), ("route", "A", "a"), ("route", "B", "b")],
    )
    ok = start(flow, {"q": "yes"})
    bad = start(flow, {"q": "no"})
    current_runner().enqueue(ok)
    current_runner().enqueue(bad)
    current_runner().drain()

    steps = api.get(f"/sessions/{ok}/steps")
    failed = api.get(f"/sessions/{bad}/steps").json

    assert steps.status_code == 200
    body = steps.json
    assert [s["step_name"] for s in body] == ["start", "route", "A"]
    assert [s["status"] for s in body] == ["COMPLETED"] * 3
    assert body[2]["rendered_prompt"] == "said yes to a" and body[2]["output"] == "said yes to a"
    assert body[1]["output"] == "a" and body[0]["output"] == "yes"
    assert all(s["attempt"] == 1 and s["error"] is None for s in body)
    assert all(s["started_at"].endswith("Z") and s["finished_at"].endswith("Z") for s in body)
    version = api.get(f"/sessions/{ok}").json["flow_version"]
    names = {s["id"]: s["name"] for s in version["steps"]}
    assert [names[s["step_id"]] for s in body] == ["start", "route", "A"]
    assert set(body[0]) == {
        "id", "step_id", "step_name", "step_type", "transition_id", "attempt", "status", "started_at",
        "finished_at", "rendered_prompt", "output", "error", "usage",
    }  # fmt: skip
    assert [s["step_type"] for s in body] == ["START", "CONDITION", "PROMPT"]
    # Each step after START names the transition that led into it: route -> A is labelled "a".
    labels = {t["id"]: t["label"] for t in version["step_transitions"]}
    assert body[0]["transition_id"] is None and labels[body[2]["transition_id"]] == "a"
    assert all(s["usage"] is None for s in body)  # the echo provider reports no tokens
    assert failed[-1]["step_name"] == "B" and failed[-1]["status"] == "FAILED"
    assert "Undefined variable in step 'B'" in failed[-1]["error"]
    assert api.get(f"/sessions/{bad}").json["error"] == failed[-1]["error"]


def test_steps_of_a_session_that_never_ran_is_an_empty_list(api: Any, org: Any) -> None:
    flow = build_flow(org, *linear("x"))
    session_id = start(flow, run=False)

    response = api.get(f"/sessions/{session_id}/steps")

    assert response.status_code == 200 and response.json == []


def test_starting_a_session_with_run_true_executes_it(api: Any, org: Any) -> None:
    flow = build_flow(org, *linear("Hello {{ inputs.name }}"))

    created = api.post(f"/live_flows/{flow.id}/sessions", json={"inputs": {"name": "Bo"}, "run": True})
    not_run = api.post(f"/live_flows/{flow.id}/sessions", json={"inputs": {"name": "Cy"}})

    assert created.status_code == 201 and created.json["status"] == "NEW"
    assert current_runner().drain() == 1
    done = api.get(f"/sessions/{created.json['id']}").json
    assert done["status"] == "COMPLETED" and done["steps_count"] == 3
    assert api.get(f"/sessions/{not_run.json['id']}").json["status"] == "NEW"
    assert api.get(f"/sessions/{not_run.json['id']}/steps").json == []


def test_cancel_of_a_queued_session_means_it_never_starts(api: Any, org: Any) -> None:
    flow = build_flow(org, *linear("x"))
    created = api.post(f"/live_flows/{flow.id}/sessions", json={"run": True}).json

    assert api.post(f"/sessions/{created['id']}/cancel").status_code == 200
    current_runner().drain()

    assert api.get(f"/sessions/{created['id']}").json["status"] == "CANCELLED"
    assert api.get(f"/sessions/{created['id']}/steps").json == []


def test_a_queue_that_is_down_does_not_fail_the_request(api: Any, org: Any, app: Any) -> None:
    app.config.update(RUNNER_QUEUE="redis", REDIS_URL="redis://127.0.0.1:1/0")  # nothing listens there
    flow = build_flow(org, *linear("x"))
    session_id = start(flow, run=False)

    created = api.post(f"/live_flows/{flow.id}/sessions", json={"run": True})
    handed = api.post(f"/sessions/{session_id}/run")

    assert created.status_code == 201 and handed.status_code == 202
    # Both are stored with run=True: the sweeper enqueues them once the queue is back.
    assert fresh(created.json["id"]).run is True and fresh(session_id).run is True
