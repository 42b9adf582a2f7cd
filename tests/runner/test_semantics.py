"""The runner's semantics, one by one, executed synchronously through the (in-memory) queue."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from flask import Flask

from tests import factories
from tests.runner.helpers import build_flow, fresh, linear, path, run_now, runs, start
from webapp.extensions import db
from webapp.models import Session
from webapp.runner import current_runner
from webapp.runner.engine import QUEUED


def test_a_linear_flow_runs_every_step_in_order_and_completes(org: Any) -> None:
    flow = build_flow(org, *linear("Hello {{ inputs.name }}", "Again: {{ last }}"))

    session = run_now(flow, {"name": "Ada"})

    assert session.status == "COMPLETED"
    assert session.error is None
    assert session.output == "Again: Hello Ada"
    assert session.steps_count == 4
    assert session.started_at is not None and session.finished_at is not None
    assert session.lease_owner is None and session.run_attempts == 1
    done = runs(session.id)
    assert [name for name, _ in done] == ["start", "p1", "p2", "end"]
    assert [r.position for _, r in done] == [1, 2, 3, 4]
    assert all(r.status == "COMPLETED" and r.attempt == 1 and r.finished_at is not None for _, r in done)
    assert [r.rendered_prompt for _, r in done][1:3] == ["Hello Ada", "Again: Hello Ada"]
    assert done[0][1].transition_id is None
    assert all(r.transition_id for _, r in done[1:])


def test_steps_are_reachable_by_name_and_last_is_the_previous_output(org: Any) -> None:
    flow = build_flow(
        org,
        [
            ("start", "START", None),
            ("first answer", "PROMPT", "one"),
            ("second", "PROMPT", "two"),
            ("end", "END", "{{ steps['first answer'] }}+{{ steps.second }}+{{ last }}"),
        ],
        [("start", "first answer", None), ("first answer", "second", None), ("second", "end", None)],
    )

    assert run_now(flow).output == "one+two+two"


def test_start_outputs_its_rendered_template_and_nothing_else(org: Any) -> None:
    flow = build_flow(
        org,
        [
            ("start", "START", "{{ inputs.topic }}"),
            ("ask", "PROMPT", "About {{ last }}"),
            ("end", "END", None),
        ],
        [("start", "ask", None), ("ask", "end", None)],
    )

    session = run_now(flow, {"topic": "owls"})

    (_, start_run), (_, ask_run), _ = runs(session.id)
    assert start_run.output == "owls"
    assert start_run.usage is None
    assert ask_run.rendered_prompt == "About owls"


def test_start_without_a_template_outputs_an_empty_string(org: Any) -> None:
    flow = build_flow(org, *linear("[{{ last }}]"))

    session = run_now(flow)

    assert runs(session.id)[0][1].output == ""
    assert session.output == "[]"


def test_end_renders_its_template_as_the_session_output(org: Any) -> None:
    flow = build_flow(org, *linear("draft", end="Final: {{ steps.p1|upper }} for {{ inputs.who }}"))

    assert run_now(flow, {"who": "Bo"}).output == "Final: DRAFT for Bo"


def test_end_without_a_template_outputs_the_last_answer(org: Any) -> None:
    flow = build_flow(org, *linear("the answer", end=None))

    assert run_now(flow).output == "the answer"


def test_end_completes_the_session_even_with_outgoing_transitions(org: Any) -> None:
    flow = build_flow(
        org,
        [("start", "START", None), ("end", "END", "bye"), ("after", "PROMPT", "never")],
        [("start", "end", None), ("end", "after", None)],
    )

    session = run_now(flow)

    assert session.status == "COMPLETED" and session.output == "bye"
    assert path(session.id) == ["start", "end"]


def test_a_step_without_outgoing_transitions_completes_the_session_with_its_output(org: Any) -> None:
    flow = build_flow(org, [("start", "START", None), ("only", "PROMPT", "x={{ inputs.x }}")], [])
    flow_two = build_flow(
        org, [("start", "START", None), ("only", "PROMPT", "x={{ inputs.x }}")], [("start", "only", None)]
    )

    assert run_now(flow, {"x": 1}).output == ""  # START alone: nothing follows it
    session = run_now(flow_two, {"x": 1})
    assert session.status == "COMPLETED" and session.output == "x=1"


def branching(org: Any, *labels: str) -> Any:
    steps = [("start", "START", None), ("route", "CONDITION", "{{ inputs.answer }}")]
    steps += [(f"to {label}", "PROMPT", f"went {label}") for label in labels]
    edges = [("start", "route", None)] + [("route", f"to {label}", label) for label in labels]
    return build_flow(org, steps, edges)


def test_a_condition_follows_the_transition_whose_label_equals_its_output(org: Any) -> None:
    flow = branching(org, "billing", "technical")

    session = run_now(flow, {"answer": "  Technical \n"})

    assert session.status == "COMPLETED"
    assert path(session.id) == ["start", "route", "to technical"]
    assert session.output == "went technical"


def test_a_condition_makes_no_model_call_and_outputs_its_rendered_template(org: Any) -> None:
    flow = branching(org, "billing", "technical")
    current_runner().app.config.update(
        MODEL_PROVIDER="openai", MODEL_BASE_URL="http://127.0.0.1:9/v1", MODEL_MAX_RETRIES=0
    )
    # START and CONDITION need no model: the flow only fails at the first PROMPT (nothing listens on :9).

    session = run_now(flow, {"answer": "billing"})

    (_, _), (_, route), (_, prompt) = runs(session.id)
    assert route.status == "COMPLETED" and route.output == "billing"
    assert prompt.status == "FAILED" and "127.0.0.1:9" in (prompt.error or "")


def test_an_unmatched_output_follows_the_default_label(org: Any) -> None:
    flow = branching(org, "billing", "DEFAULT")

    session = run_now(flow, {"answer": "something else"})

    assert path(session.id) == ["start", "route", "to DEFAULT"]
    assert session.status == "COMPLETED"


def test_an_output_that_matches_no_label_fails_the_session_naming_the_output_and_labels(org: Any) -> None:
    flow = branching(org, "billing", "technical")

    session = run_now(flow, {"answer": "maybe"})

    assert session.status == "FAILED"
    assert session.error is not None
    assert "Step 'route' answered 'maybe'" in session.error
    assert "'billing', 'technical'" in session.error
    assert "'default'" in session.error
    (_, _), (_, route) = runs(session.id)
    assert route.status == "FAILED" and route.output == "maybe" and route.error == session.error
    assert session.steps_count == 2


def test_a_single_outgoing_transition_is_followed_whatever_its_label(org: Any) -> None:
    flow = build_flow(
        org,
        [("start", "START", None), ("ask", "PROMPT", "anything"), ("end", "END", None)],
        [("start", "ask", "yes"), ("ask", "end", "no")],
    )

    assert run_now(flow).status == "COMPLETED"


def test_a_loop_ends_as_failed_at_the_step_limit(org: Any, app: Flask) -> None:
    app.config["RUNNER_MAX_STEPS"] = 7
    flow = build_flow(
        org,
        [("start", "START", None), ("again", "PROMPT", "loop"), ("check", "CONDITION", "again")],
        [("start", "again", None), ("again", "check", None), ("check", "again", "again")],
    )

    session = run_now(flow)

    assert session.status == "FAILED"
    assert session.steps_count == 7
    assert len(runs(session.id)) == 7
    assert "Stopped after 7 steps (FLASK_RUNNER_MAX_STEPS)" in (session.error or "")
    assert "loop" in (session.error or "")


def test_the_step_limit_defaults_to_one_hundred(org: Any) -> None:
    flow = factories.make_flow(org, loop=True, steps=("a", "b"))
    # factories' loop: b -> a labelled "again", b -> end unlabelled; b's output never says "again".
    session = run_now(flow)
    assert session.status == "FAILED" and "matches none" in (session.error or "")

    looping = build_flow(
        org, [("start", "START", None), ("a", "PROMPT", "x")], [("start", "a", None), ("a", "a", None)]
    )
    session = run_now(looping)
    assert session.status == "FAILED" and session.steps_count == 100


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ inputs.name ", "Template syntax error in step 'p1', line 1"),
        ("{% for x in inputs %}", "Template syntax error in step 'p1'"),
        ("{{ 1 / 0 }}", "Template error in step 'p1': ZeroDivisionError"),
        ("{{ inputs.__class__.__mro__ }}", "Template in step 'p1' tried something the sandbox forbids"),
    ],
)
def test_a_template_error_fails_the_session_with_an_actionable_message(
    org: Any, template: str, expected: str
) -> None:
    flow = build_flow(org, *linear(template))

    session = run_now(flow, {"name": "x"})

    assert session.status == "FAILED"
    assert expected in (session.error or "")
    _, (name, failed) = runs(session.id)
    assert name == "p1"
    assert failed.status == "FAILED" and failed.error == session.error and failed.rendered_prompt is None


def test_an_undefined_variable_fails_the_session_naming_it_and_what_exists(org: Any) -> None:
    flow = build_flow(org, *linear("Hi {{ inputs.nmae }}"))

    session = run_now(flow, {"name": "Ada", "age": 3})

    assert session.status == "FAILED"
    error = session.error or ""
    assert "Undefined variable in step 'p1'" in error
    assert "nmae" in error
    assert "inputs (keys: age, name)" in error
    assert "steps (outputs of 'start')" in error


def test_the_sandbox_refuses_unsafe_attribute_access(org: Any) -> None:
    flow = build_flow(org, *linear("{{ ''.__class__.__mro__[1].__subclasses__() }}"))

    session = run_now(flow)

    assert session.status == "FAILED"
    assert "step 'p1'" in (session.error or "")
    assert "__subclasses__" not in (runs(session.id)[1][1].output or "")


def test_an_unknown_template_type_fails_with_the_types_the_runner_understands(org: Any) -> None:
    flow = build_flow(org, *linear({"type": "jinja-ish", "template": "x"}))

    session = run_now(flow)

    assert session.status == "FAILED"
    assert "type 'jinja-ish'" in (session.error or "") and "'text'" in (session.error or "")


def test_a_chat_template_renders_every_message_and_echo_answers_the_last_user_message(org: Any) -> None:
    chat = {
        "type": "chat",
        "messages": [
            {"role": "system", "content": "You help {{ inputs.who }}."},
            {"role": "user", "content": "Outline {{ inputs.topic }}"},
            {"role": "assistant", "content": "Sure."},
        ],
    }
    flow = build_flow(org, *linear(chat))

    session = run_now(flow, {"who": "Ada", "topic": "owls"})

    _, (_, step), _ = runs(session.id)
    assert step.rendered_prompt == [
        {"role": "system", "content": "You help Ada."},
        {"role": "user", "content": "Outline owls"},
        {"role": "assistant", "content": "Sure."},
    ]
    assert step.output == "Outline owls"
    assert session.output == "Outline owls"


def test_a_chat_message_with_an_undefined_variable_names_the_message(org: Any) -> None:
    chat = {
        "type": "chat",
        "messages": [{"role": "user", "content": "ok"}, {"role": "user", "content": "{{ x }}"}],
    }
    flow = build_flow(org, *linear(chat))

    session = run_now(flow)

    assert "step 'p1', message 2" in (session.error or "")


def test_a_session_nobody_asked_to_run_is_never_touched(org: Any) -> None:
    flow = build_flow(org, *linear("x"))
    idle = start(flow, run=False)
    external = factories.make_session(flow, "RUNNING", steps_count=2)
    before = {s.id: (s.status, s.revision, s.updated_at) for s in (fresh(idle), fresh(external.id))}

    current_runner().enqueue(idle)
    current_runner().enqueue(external.id)
    current_runner().drain()
    current_runner().app.config["RUNNER_REQUEUE_NEW_AFTER_S"] = 0
    assert current_runner().sweep() == []
    current_runner().drain()

    for session_id, (status, revision, updated_at) in before.items():
        session = fresh(session_id)
        assert (session.status, session.revision, session.updated_at) == (status, revision, updated_at)
        assert session.run_attempts == 0 and session.lease_owner is None
        assert runs(session_id) == []


def test_a_final_session_is_not_run_again(org: Any) -> None:
    flow = build_flow(org, *linear("x"))
    session = run_now(flow)
    revision = session.revision

    current_runner().enqueue(session.id)
    current_runner().drain()

    again = fresh(session.id)
    assert again.revision == revision and again.run_attempts == 1
    assert len(runs(session.id)) == 3


def test_a_session_leased_by_a_live_worker_is_left_alone(org: Any) -> None:
    flow = build_flow(org, *linear("x"))
    session_id = start(flow)
    session = fresh(session_id)
    from datetime import timedelta

    from webapp.models.types import utcnow

    session.lease_owner = "someone-else"
    session.lease_expires_at = utcnow() + timedelta(minutes=1)
    db.session.commit()

    current_runner().enqueue(session_id)
    current_runner().drain()

    assert fresh(session_id).status == "NEW"
    assert current_runner().sweep() == []


def test_the_sweeper_requeues_a_new_session_whose_task_was_lost(org: Any, app: Flask) -> None:
    flow = build_flow(org, *linear("x"))
    session_id = start(flow)  # never enqueued, as if the queue was down
    app.config["RUNNER_REQUEUE_NEW_AFTER_S"] = 3600
    assert current_runner().sweep() == []

    app.config["RUNNER_REQUEUE_NEW_AFTER_S"] = 0
    assert current_runner().sweep() == [session_id]
    assert fresh(session_id).lease_owner == QUEUED
    assert current_runner().sweep() == []  # claimed for one lease period: not enqueued twice
    current_runner().drain()

    assert fresh(session_id).status == "COMPLETED"


def test_cancel_stops_the_session_before_its_next_step(org: Any, app: Flask, api: Any) -> None:
    app.config["MODEL_ECHO_DELAY_MS"] = 300
    flow = build_flow(org, *linear("one", "two", "three"))
    session_id = start(flow)
    worker = threading.Thread(target=current_runner().execute, args=(session_id,))
    worker.start()
    _wait_for(lambda: [n for n, r in runs(session_id) if r.status == "RUNNING"] == ["p1"])

    response = api.post(f"/sessions/{session_id}/cancel")
    worker.join(timeout=10)

    assert response.status_code == 200 and response.json["status"] == "CANCELLED"
    session = fresh(session_id)
    assert session.status == "CANCELLED" and session.error is None
    assert session.lease_owner is None
    done = runs(session_id)
    # The running step finished; no further step started; the cancel was not overwritten.
    assert [(n, r.status) for n, r in done] == [("start", "COMPLETED"), ("p1", "COMPLETED")]
    assert session.steps_count == 2


def _wait_for(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def test_steps_count_and_revision_move_with_every_step(org: Any) -> None:
    flow = build_flow(org, *linear("a", "b"))
    session_id = start(flow)
    revision = fresh(session_id).revision

    current_runner().execute(session_id)

    session = fresh(session_id)
    # One change to start, one per step.
    assert session.revision == revision + 1 + 4
    assert db.session.get(Session, session.pk) is not None
