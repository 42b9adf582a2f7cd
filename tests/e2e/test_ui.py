"""End to end in headless Chromium: the pages load, swap in place with htmx, and stay live."""

from __future__ import annotations

import re
from typing import Any

import requests
from playwright.sync_api import Page, expect

from tests import factories
from tests.e2e.conftest import ARTIFACTS, LiveServer
from webapp.domain.schemas import FlowVersionCreate
from webapp.extensions import db
from webapp.models import Session
from webapp.runner import current_runner
from webapp.services import flows as flow_service


def test_the_flow_list_loads_and_searches_as_you_type(page: Page, live: LiveServer) -> None:
    for name in ("Billing triage", "Lead scoring", "Support answers"):
        flow = factories.make_flow(live.org, name, steps=("classify", "answer"))
        for status in ("COMPLETED", "RUNNING", "FAILED"):
            factories.make_session(flow, status)
    factories.make_flow(live.org, "Contract draft", publish=False)
    page.goto(f"{live.url}/ui/flows")
    rows = page.locator("tr.flow-row")
    expect(rows).to_have_count(4)
    expect(page.locator(".flow-name").first).to_have_text("Billing triage")  # live flows first
    page.evaluate("window.__same_page = true")
    page.get_by_placeholder("Search flows by name").press_sequentially("sup", delay=40)
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Support answers")
    expect(page).to_have_url(re.compile(r"/ui/flows\?q=sup"))
    assert page.evaluate("window.__same_page") is True  # swapped in place, no reload
    page.get_by_placeholder("Search flows by name").fill("")
    page.locator(".segment", has_text="Draft").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Contract draft")


def test_flow_list_counts_refresh_live(page: Page, live: LiveServer) -> None:
    flow = factories.make_flow(live.org, "Support triage")
    running = factories.make_session(flow, "RUNNING")
    page.goto(f"{live.url}/ui/flows")
    row = page.locator(f"#flow-{flow.id}")
    expect(row.locator(".count--failed .count-n")).to_have_text("0")
    _report(live, running.id, {"status": "FAILED", "error": "boom"}).raise_for_status()
    expect(row.locator(".count--failed .count-n")).to_have_text("1", timeout=3000)
    expect(row.locator(".count--running .count-n")).to_have_text("0")
    expect(row).to_have_class(re.compile(r"\bis-flash\b"), timeout=500)


def test_choosing_a_version_swaps_the_diagram_in_place(page: Page, live: LiveServer) -> None:
    flow = factories.make_flow(live.org, "Support triage", steps=("classify",))
    flow_service.create_version(flow, FlowVersionCreate.model_validate(factories.graph("classify", "review")))
    db.session.commit()
    page.goto(f"{live.url}/ui/flows/{flow.id}")
    expect(page.locator(".diagram-title h2")).to_have_text("Version 2")
    expect(page.locator("svg.flow-diagram g.node")).to_have_count(4)
    page.evaluate("window.__same_page = true")
    page.locator(".version-item a", has_text="v1").click()
    expect(page.locator(".diagram-title h2")).to_have_text("Version 1")
    expect(page.locator("svg.flow-diagram g.node")).to_have_count(3)
    expect(page).to_have_url(re.compile(r"version="))
    assert page.evaluate("window.__same_page") is True
    page.locator("svg.flow-diagram a.node-link", has_text="classify").click()
    expect(page.locator("#step-template-text")).to_have_text("Do classify: {{ inputs }}")
    expect(page).to_have_url(re.compile(r"step="))
    page.go_back()
    expect(page.locator(".diagram-title h2")).to_have_text("Version 2")


def test_rolling_back_and_archiving_through_the_page_forms(page: Page, live: LiveServer) -> None:
    flow = factories.make_flow(live.org, "Support triage", versions=2)
    page.goto(f"{live.url}/ui/flows/{flow.id}")
    page.locator(".version-item a", has_text="v1").click()
    page.get_by_role("button", name="Roll back to v1").click()  # a plain POST form with its CSRF field
    expect(page.locator(".meta-line").first).to_contain_text("Current v1")
    expect(page.locator(".version-item a[aria-current=true]")).to_contain_text("Current")
    page.get_by_text("Archive…").click()
    page.get_by_role("button", name="Archive flow").click()
    expect(page.locator(".title-row .state")).to_have_text("Archived")
    expect(page.get_by_role("button", name="Start session")).to_have_count(0)


def test_the_diff_view_draws_added_and_changed_steps(page: Page, live: LiveServer) -> None:
    flow = factories.make_flow(live.org, "Support triage", steps=("classify", "answer"))
    body = factories.graph("classify", "answer", "review")
    body["steps"][1]["prompt_template"]["template"] = "Classify this message carefully:\n{{ inputs.message }}"
    flow_service.create_version(flow, FlowVersionCreate.model_validate(body))
    db.session.commit()
    page.goto(f"{live.url}/ui/flows/{flow.id}")
    page.get_by_role("link", name="Compare with previous").click()
    expect(page.locator(".diagram-title h2")).to_have_text("v1 → v2")
    expect(page.locator("svg.flow-diagram g.node.is-added")).to_have_count(1)
    expect(page.locator("svg.flow-diagram g.node.is-changed")).to_have_count(1)
    expect(page.locator(".diff-lines").first).to_contain_text("Classify this message carefully:")
    expect(page.locator(".diff-summary")).to_contain_text("1 step added")
    page.emulate_media(color_scheme="dark")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "diff-view-dark.png"), full_page=True)
    page.emulate_media(color_scheme="light")


def test_a_status_change_through_the_api_shows_within_3_seconds_highlighted(
    page: Page, live: LiveServer
) -> None:
    flow = factories.make_flow(live.org, "Support triage")
    sessions = [factories.make_session(flow, "RUNNING") for _ in range(3)]
    target = sessions[1]
    page.goto(f"{live.url}/ui/flows/{flow.id}")
    row = page.locator(f"#session-{target.id}")
    expect(row.locator(".badge")).to_have_text("Running")
    page.wait_for_timeout(300)
    response = _report(live, target.id, {"status": "COMPLETED", "steps_count": 4})
    assert response.status_code == 200
    expect(row.locator(".badge")).to_have_text("Completed", timeout=3000)
    expect(row).to_have_class(re.compile(r"\bis-flash\b"), timeout=500)
    expect(page.locator(f"#session-{sessions[0].id} .badge")).to_have_text("Running")
    expect(page.locator(".chip--completed .chip-n")).to_have_text("1")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "live-row-highlight.png"))


def test_a_new_session_appears_at_the_top_of_the_open_table(page: Page, live: LiveServer) -> None:
    flow = factories.make_flow(live.org, "Support triage")
    factories.make_session(flow, "RUNNING")
    page.goto(f"{live.url}/ui/flows/{flow.id}")
    expect(page.locator("tr.session-row")).to_have_count(1)
    with requests.Session() as http:
        created = http.post(
            f"{live.url}/live_flows/{flow.id}/sessions",
            json={"inputs": {"message": "hello"}},
            headers={"Api-key": live.api_key},
            timeout=5,
        )
    assert created.status_code == 201, created.text
    first = page.locator("tr.session-row").first
    expect(first).to_have_id(f"session-{created.json()['id']}", timeout=3000)
    expect(first).to_have_class(re.compile(r"\bis-new\b"))


def test_starting_a_session_from_the_form_and_a_bad_json_error(page: Page, live: LiveServer) -> None:
    flow = factories.make_flow(live.org, "Support triage", steps=("classify",))
    page.goto(f"{live.url}/ui/flows/{flow.id}")
    page.locator("#start-menu > summary").click()
    inputs = page.locator("#start-inputs")
    inputs.fill('{"message": "My invoice is wrong",}')
    page.locator("#start-form").get_by_role("button", name="Start session").click()
    error = page.locator("#inputs-error")
    expect(error).to_contain_text("This is not valid JSON")
    expect(page.locator("#start-inputs")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#start-inputs")).to_have_value('{"message": "My invoice is wrong",}')
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "start-form-error.png"))
    db.session.rollback()
    assert db.session.execute(db.select(Session)).first() is None
    page.locator("#start-inputs").fill('{"message": "My invoice is wrong"}')
    page.locator("#start-form input[name=run]").uncheck()
    page.locator("#start-form").get_by_role("button", name="Start session").click()
    expect(page).to_have_url(re.compile(r"/ui/sessions/[0-9a-f-]{36}$"))
    expect(page.locator("h1 .mono")).to_be_visible()
    expect(page.locator("#session-inputs")).to_contain_text('"message": "My invoice is wrong"')
    expect(page.locator(".title-row .badge")).to_have_text("New")


def test_the_session_page_shows_the_run_and_goes_final_live(page: Page, live: LiveServer) -> None:
    flow = factories.make_flow(live.org, "Support triage", steps=("classify", "answer"))
    done = factories.make_session(flow, run=True, inputs={"message": "My invoice is wrong"})
    current_runner().enqueue(done.id)
    db.session.commit()
    current_runner().drain()
    page.goto(f"{live.url}/ui/sessions/{done.id}")
    expect(page.locator(".title-row .badge")).to_have_text("Completed")
    expect(page.locator(".run-name")).to_have_count(4)
    expect(page.locator("svg.flow-diagram g.node.is-taken")).to_have_count(4)
    page.locator(".run summary", has_text="classify").click()
    expect(page.locator(".run details[open] .run-body")).to_contain_text("Do classify:")
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / "session-completed.png"), full_page=True)

    running = factories.make_session(flow, "RUNNING", inputs={"message": "The API returns 500"})
    page.goto(f"{live.url}/ui/sessions/{running.id}")
    expect(page.locator(".title-row .badge")).to_have_text("Running")
    _report(
        live, running.id, {"status": "FAILED", "error": "Model provider timed out after 30 s"}
    ).raise_for_status()
    expect(page.locator(".title-row .badge")).to_have_text("Failed", timeout=3000)
    expect(page.locator("#session-error")).to_have_text("Model provider timed out after 30 s")
    expect(page.locator("form.poller")).to_have_count(0)  # final: polling stopped (286)


def test_a_filtered_table_takes_in_a_session_that_starts_matching(page: Page, live: LiveServer) -> None:
    flow = factories.make_flow(live.org, "Support triage")
    older = factories.make_session(flow, "RUNNING")
    between = factories.make_session(flow, "FAILED", error="first failure")
    factories.make_session(flow, "RUNNING")
    newest = factories.make_session(flow, "FAILED", error="second failure")
    page.goto(f"{live.url}/ui/flows/{flow.id}?status=FAILED")
    rows = page.locator("#sessions-rows tr.session-row")
    expect(rows).to_have_count(2)
    _report(live, older.id, {"status": "FAILED", "error": "third failure"}).raise_for_status()
    expect(rows).to_have_count(3, timeout=3000)
    ids = [rows.nth(i).get_attribute("id") for i in range(3)]
    assert ids == [f"session-{s.id}" for s in (newest, between, older)]  # in place, newest first


def _report(live: LiveServer, session_id: str, body: dict[str, Any]) -> requests.Response:
    """PATCH a session through the live server's API, as an external runtime reports progress."""
    return requests.patch(
        f"{live.url}/sessions/{session_id}", json=body, headers={"Api-key": live.api_key}, timeout=5
    )


def _polls(page: Page, seconds: float) -> int:
    seen: list[str] = []

    def record(request: Any) -> None:
        if "/changes" in request.url:
            seen.append(request.url)

    page.on("request", record)
    page.wait_for_timeout(int(seconds * 1000))
    page.remove_listener("request", record)
    return len(seen)


def _set_visibility(page: Page, state: str) -> None:
    page.evaluate(
        """state => {
            Object.defineProperty(document, "visibilityState", {value: state, configurable: true});
            document.dispatchEvent(new Event("visibilitychange"));
        }""",
        state,
    )


def test_polling_adapts_to_activity_and_pauses_while_the_tab_is_hidden(page: Page, live: LiveServer) -> None:
    busy = factories.make_flow(live.org, "Busy")
    factories.make_session(busy, "RUNNING")
    quiet = factories.make_flow(live.org, "Quiet")
    factories.make_session(quiet, "COMPLETED")
    page.goto(f"{live.url}/ui/flows/{busy.id}")
    # An active session in view: every ~1.5 s after the last answer; the slow pace (10 s) would show
    # none in this window, and 5 s leaves room for slow answers on a loaded machine.
    assert _polls(page, 5.0) >= 2
    _set_visibility(page, "hidden")
    page.wait_for_timeout(300)  # let a poll already in flight land
    assert _polls(page, 3.0) == 0  # hidden tab: no requests at all
    with page.expect_request(lambda r: "/changes" in r.url, timeout=1000):
        _set_visibility(page, "visible")  # back: it catches up at once
    page.goto(f"{live.url}/ui/flows/{quiet.id}")
    assert _polls(page, 4.0) == 0  # everything final: the slow pace (10 s)
