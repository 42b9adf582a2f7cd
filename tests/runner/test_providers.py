"""Model providers: echo, and openai against a real OpenAI-compatible HTTP server on loopback."""

from __future__ import annotations

import threading
import time
from typing import Any

from flask import Flask

from tests.runner.fake_openai import Reply, serve
from tests.runner.helpers import build_flow, fresh, linear, run_now, runs, start
from webapp.runner import current_runner, provider_label


def use_openai(app: Flask, base_url: str, **extra: Any) -> None:
    app.config.update(
        MODEL_PROVIDER="openai",
        MODEL_BASE_URL=base_url,
        MODEL_API_KEY="sk-test-123",
        MODEL_NAME="tiny-model",
        MODEL_RETRY_BACKOFF_S=0.01,
        **extra,
    )


def test_echo_is_the_default_provider_and_says_so(app: Flask) -> None:
    assert app.config["MODEL_PROVIDER"] == "echo"
    assert provider_label().startswith("echo (offline")


def test_echo_waits_its_configured_delay_before_answering(org: Any, app: Flask) -> None:
    app.config["MODEL_ECHO_DELAY_MS"] = 150
    flow = build_flow(org, *linear("a", "b"))

    began = time.monotonic()
    session = run_now(flow)

    assert session.status == "COMPLETED" and session.output == "b"
    assert time.monotonic() - began >= 0.3


def test_a_step_slower_than_the_step_timeout_fails_the_session(org: Any, app: Flask) -> None:
    app.config.update(MODEL_ECHO_DELAY_MS=2000, RUNNER_STEP_TIMEOUT_S=0.2)
    flow = build_flow(org, *linear("slow"))

    began = time.monotonic()
    session = run_now(flow)

    assert time.monotonic() - began < 1.5
    assert session.status == "FAILED"
    assert "Step 'p1' took longer than 0.2 s (FLASK_RUNNER_STEP_TIMEOUT_S)" in (session.error or "")


def test_openai_sends_the_prompt_and_keeps_the_answer_and_token_usage(org: Any, app: Flask) -> None:
    chat = {
        "type": "chat",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Name a {{ inputs.animal }}"},
        ],
    }
    flow = build_flow(org, *linear("Say {{ inputs.animal }}", chat))
    with serve([Reply.ok("Owl!", 11, 2), Reply.ok("Barn owl", 20, 4)]) as (base_url, fake):
        use_openai(app, base_url)
        assert provider_label() == f"openai-compatible: tiny-model at {base_url}"

        session = run_now(flow, {"animal": "owl"})

    assert session.status == "COMPLETED" and session.output == "Barn owl"
    first, second = fake.seen
    assert first.path == "/v1/chat/completions"
    assert first.headers["Authorization"] == "Bearer sk-test-123"
    assert first.body == {"model": "tiny-model", "messages": [{"role": "user", "content": "Say owl"}]}
    assert second.body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Name a owl"},
    ]
    _, (_, p1), (_, p2), _ = runs(session.id)
    assert p1.output == "Owl!"
    assert p1.usage == {"prompt_tokens": 11, "completion_tokens": 2, "total_tokens": 13}
    assert p2.usage == {"prompt_tokens": 20, "completion_tokens": 4, "total_tokens": 24}


def test_openai_waits_after_a_429_and_succeeds_on_retry(org: Any, app: Flask) -> None:
    flow = build_flow(org, *linear("hello"))
    replies = [
        Reply(429, {"error": {"message": "Rate limit reached"}}, {"Retry-After": "0.6"}),
        Reply.ok("hi there"),
    ]
    with serve(replies) as (base_url, fake):
        use_openai(app, base_url)
        session_id = start(flow)
        worker = threading.Thread(target=current_runner().execute, args=(session_id,))
        worker.start()
        seen_waiting = _poll(lambda: fresh(session_id).status == "WAITING")
        waiting_run = runs(session_id)[-1][1]
        worker.join(timeout=10)

    assert seen_waiting
    assert waiting_run.status == "WAITING"
    assert "HTTP 429" in (waiting_run.error or "") and "Rate limit reached" in (waiting_run.error or "")
    assert "retry 1 of 3" in (waiting_run.error or "")
    session = fresh(session_id)
    assert session.status == "COMPLETED" and session.output == "hi there"
    assert len(fake.seen) == 2
    (_, p1) = runs(session_id)[1]
    assert p1.status == "COMPLETED" and p1.error is None and p1.attempt == 1
    assert p1.usage is not None and p1.usage["total_tokens"] == 10


def test_openai_fails_the_session_when_5xx_retries_run_out(org: Any, app: Flask) -> None:
    flow = build_flow(org, *linear("hello"))
    with serve([Reply(500, {"error": {"message": "upstream exploded"}})]) as (base_url, fake):
        use_openai(app, base_url, MODEL_MAX_RETRIES=2)
        session = run_now(flow)

    assert len(fake.seen) == 3
    assert session.status == "FAILED"
    error = session.error or ""
    assert "The model provider failed at step 'p1' 3 times (FLASK_MODEL_MAX_RETRIES=2)" in error
    assert "HTTP 500" in error and "upstream exploded" in error
    (_, p1) = runs(session.id)[1]
    assert p1.status == "FAILED" and p1.error == error


def test_openai_does_not_retry_a_refused_key_and_says_what_to_check(org: Any, app: Flask) -> None:
    flow = build_flow(org, *linear("hello"))
    with serve([Reply(401, {"error": {"message": "Incorrect API key"}})]) as (base_url, fake):
        use_openai(app, base_url)
        session = run_now(flow)

    assert len(fake.seen) == 1
    assert session.status == "FAILED"
    assert "HTTP 401" in (session.error or "") and "FLASK_MODEL_API_KEY" in (session.error or "")
    assert "Incorrect API key" in (session.error or "")


def test_openai_answer_without_choices_fails_clearly(org: Any, app: Flask) -> None:
    flow = build_flow(org, *linear("hello"))
    with serve([Reply(200, {"unexpected": True})]) as (base_url, _):
        use_openai(app, base_url)
        session = run_now(flow)

    assert session.status == "FAILED"
    assert "did not answer like a chat completions API" in (session.error or "")


def test_openai_slower_than_the_step_timeout_fails_the_step(org: Any, app: Flask) -> None:
    flow = build_flow(org, *linear("hello"))
    with serve([Reply.ok("late", 1, 1)]) as (base_url, fake):
        fake.replies[0].delay_s = 3
        use_openai(app, base_url, RUNNER_STEP_TIMEOUT_S=0.5)
        began = time.monotonic()
        session = run_now(flow)
        took = time.monotonic() - began

    assert took < 2.5
    assert session.status == "FAILED"
    assert "Step 'p1' took longer than 0.5 s" in (session.error or "")


def test_an_unreachable_endpoint_is_retried_then_fails_naming_it(org: Any, app: Flask) -> None:
    flow = build_flow(org, *linear("hello"))
    use_openai(app, "http://127.0.0.1:9/v1", MODEL_MAX_RETRIES=1)

    session = run_now(flow)

    assert session.status == "FAILED"
    assert "2 times" in (session.error or "") and "Could not reach http://127.0.0.1:9/v1" in (
        session.error or ""
    )


def _poll(condition: Any, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False
