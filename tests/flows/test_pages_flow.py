"""The flow page: diagram and versions, compare, heat, step templates, the live sessions table, actions."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from flask.testing import FlaskClient

from tests import factories
from tests.pagetools import by_id, elements, hx, oob, session_reads, statements
from webapp.domain.schemas import FlowVersionCreate
from webapp.extensions import db
from webapp.models import Flow, FlowVersion, Session
from webapp.models.types import utcnow
from webapp.runner import current_runner
from webapp.services import flows as flow_service
from webapp.services import sessions as session_service


def _version_ids(flow: Flow) -> dict[int, str]:
    rows = db.session.execute(
        db.select(FlowVersion.number, FlowVersion.id).where(FlowVersion.flow_id == flow.id)
    )
    return {int(row.number): str(row.id) for row in rows}


def _session_rows(html: str) -> list[str]:
    return [e.attrs["id"].removeprefix("session-") for e in elements(html) if e.has_class("session-row")]


def _poll_args(html: str) -> dict[str, str]:
    state = by_id(html, "sessions-poll-state")
    assert state is not None
    return {c.attrs["name"]: c.attrs["value"] for c in state.children if c.tag == "input"}


def test_the_flow_page_draws_the_current_version(browser_client: FlaskClient, org: Any) -> None:
    flow = factories.make_flow(org, "Triage", versions=2, steps=("classify", "answer"))
    response = browser_client.get(f"/ui/flows/{flow.id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="flow-diagram' in html
    assert "Version 2" in html and "classify" in html
    current = [
        e
        for e in elements(html)
        if e.tag == "a" and e.attrs.get("aria-current") == "true" and "version" in e.attrs.get("href", "")
    ]
    assert [e.text.split()[0] for e in current] == ["v2"]
    assert "Steps and transitions as text" in html and "classify (prompt step)" in html


def test_choosing_a_version_swaps_only_the_diagram_panel(browser_client: FlaskClient, org: Any) -> None:
    flow = factories.make_flow(org, "Triage", versions=2)
    v1 = _version_ids(flow)[1]
    response = browser_client.get(f"/ui/flows/{flow.id}?version={v1}", headers=hx("diagram-panel"))
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<section id="diagram-panel"')
    assert "Version 1" in html and "sessions-panel" not in html
    assert "Roll back to v1" in html
    assert "HX-Target" in response.headers["Vary"]


def test_the_sessions_filters_swap_only_the_sessions_panel(browser_client: FlaskClient, org: Any) -> None:
    flow = factories.make_flow(org, "Triage")
    failed = factories.make_session(flow, "FAILED", error="boom")
    factories.make_session(flow, "COMPLETED")
    response = browser_client.get(f"/ui/flows/{flow.id}?status=FAILED", headers=hx("sessions-panel"))
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<section id="sessions-panel"')
    assert _session_rows(html) == [failed.id]
    assert "diagram-panel" not in html


def test_sessions_are_newest_first_filtered_by_status_and_version_and_paged(
    browser_client: FlaskClient, org: Any
) -> None:
    flow = factories.make_flow(org, "Triage", versions=2)
    v1 = _version_ids(flow)[1]
    old = [factories.make_session(flow, "COMPLETED", version_id=v1) for _ in range(2)]
    new = [factories.make_session(flow, "RUNNING") for _ in range(27)]
    page1 = browser_client.get(f"/ui/flows/{flow.id}").get_data(as_text=True)
    page2 = browser_client.get(f"/ui/flows/{flow.id}?page=2").get_data(as_text=True)
    assert _session_rows(page1) == [s.id for s in reversed(new)][:25]
    assert _session_rows(page2) == [new[1].id, new[0].id, old[1].id, old[0].id]
    by_version = browser_client.get(f"/ui/flows/{flow.id}?sv={v1}").get_data(as_text=True)
    assert _session_rows(by_version) == [old[1].id, old[0].id]
    active = browser_client.get(f"/ui/flows/{flow.id}?status=active").get_data(as_text=True)
    assert len(_session_rows(active)) == 25 and "26–27 of 27" not in active


def test_another_organisations_flow_is_a_404_page(browser_client: FlaskClient, org: Any) -> None:
    other = factories.make_flow(factories.make_org("Other"), "Secret")
    for url in (f"/ui/flows/{other.id}", "/ui/flows/not-a-uuid", f"/ui/flows/{other.id}/sessions.csv"):
        response = browser_client.get(url)
        assert response.status_code == 404, url
        assert "Not found" in response.get_data(as_text=True)
        assert "Secret" not in response.get_data(as_text=True)


def test_compare_with_previous_draws_the_diff_and_the_template_text_diff(
    browser_client: FlaskClient, org: Any
) -> None:
    flow = factories.make_flow(org, "Triage", steps=("classify",))
    body = factories.graph("classify", "review")
    body["steps"][1]["prompt_template"]["template"] = "Classify carefully: {{ inputs }}"
    flow_service.create_version(flow, FlowVersionCreate.model_validate(body))
    db.session.commit()
    html = browser_client.get(f"/ui/flows/{flow.id}?compare=1").get_data(as_text=True)
    assert "v1 → v2" in html
    assert "1 step added" in html and "1 step changed" in html
    assert 'class="diagram-canvas"><svg' in html and "has-diff" in html
    added = [e.text for e in elements(html) if e.has_class("diff-line--add")]
    removed = [e.text for e in elements(html) if e.has_class("diff-line--del")]
    assert "template: Classify carefully: {{ inputs }}" in added
    assert "template: Do classify: {{ inputs }}" in removed


def test_a_step_link_shows_its_prompt_template_without_javascript(
    browser_client: FlaskClient, org: Any
) -> None:
    flow = factories.make_flow(org, "Triage", steps=("classify",))
    doc = json.loads(db.session.get(FlowVersion, _pk(flow.current_version_id)).doc)
    step = next(s for s in doc["steps"] if s["name"] == "classify")
    html = browser_client.get(f"/ui/flows/{flow.id}?step={step['id']}").get_data(as_text=True)
    detail = by_id(html, "step-template-text")
    assert detail is not None and detail.text == "Do classify: {{ inputs }}"
    assert f'href="/ui/flows/{flow.id}?version={flow.current_version_id}&amp;step=' in html


def _pk(version_id: str | None) -> int:
    return db.session.execute(db.select(FlowVersion.pk).where(FlowVersion.id == version_id)).scalar_one()


def test_the_heat_overlay_shows_executions_per_step(browser_client: FlaskClient, org: Any) -> None:
    flow = factories.make_flow(org, "Triage", steps=("classify",))
    for _ in range(2):
        session = factories.make_session(flow, run=True)
        current_runner().enqueue(session.id)
    db.session.commit()  # end this thread's read transaction before the runner writes
    current_runner().drain()
    html = browser_client.get(f"/ui/flows/{flow.id}?heat=1").get_data(as_text=True)
    assert "has-heat" in html
    assert "2 runs" in html and "0% failed" in html


def test_an_unchanged_sessions_poll_is_a_204_with_one_aggregate_statement(
    browser_client: FlaskClient, org: Any
) -> None:
    flow = factories.make_flow(org, "Triage")
    for _ in range(5):
        factories.make_session(flow, "RUNNING")
    args = _poll_args(browser_client.get(f"/ui/flows/{flow.id}").get_data(as_text=True))
    with statements() as sqls:
        response = browser_client.get(
            f"/ui/flows/{flow.id}/sessions/changes", query_string=args, headers=hx()
        )
    assert response.status_code == 204 and response.get_data() == b""
    assert session_reads(sqls) == []
    touching_sessions = [s for s in sqls if "sessions" in s]
    assert len(touching_sessions) == 1 and "count(*)" in touching_sessions[0]
    assert len(sqls) <= 4  # user, memberships, the check (and BEGIN on SQLite)


def test_a_status_change_sends_only_that_row_out_of_band(browser_client: FlaskClient, org: Any) -> None:
    flow = factories.make_flow(org, "Triage")
    rows = [factories.make_session(flow, "RUNNING") for _ in range(3)]
    for s in rows[1:]:
        s.updated_at = utcnow() - timedelta(minutes=5)
    db.session.commit()
    args = _poll_args(browser_client.get(f"/ui/flows/{flow.id}").get_data(as_text=True))
    session_service.patch_session(rows[0], _patch(status="COMPLETED"))
    db.session.commit()
    html = browser_client.get(
        f"/ui/flows/{flow.id}/sessions/changes", query_string=args, headers=hx()
    ).get_data(as_text=True)
    swapped = [e.attrs["id"] for e in oob(html)]
    assert swapped == [f"session-{rows[0].id}", "status-chips", "sessions-poll-state"]
    row = by_id(html, f"session-{rows[0].id}")
    assert row is not None and row.has_class("is-flash") and "data-active" not in row.attrs
    assert "Completed" in row.text
    assert _poll_args(html)["stamp"] != args["stamp"]


def test_a_new_session_is_prepended_out_of_band(browser_client: FlaskClient, org: Any) -> None:
    flow = factories.make_flow(org, "Triage")
    first = factories.make_session(flow, "RUNNING")
    args = _poll_args(browser_client.get(f"/ui/flows/{flow.id}").get_data(as_text=True))
    newer = factories.make_session(flow)
    html = browser_client.get(
        f"/ui/flows/{flow.id}/sessions/changes", query_string=args, headers=hx()
    ).get_data(as_text=True)
    tbody = next(e for e in oob(html) if e.tag == "tbody")
    assert tbody.attrs["hx-swap-oob"] == "afterbegin:#sessions-rows"
    assert [c.attrs["id"] for c in tbody.children] == [f"session-{newer.id}"]
    assert _poll_args(html)["top"] == newer.id and _poll_args(html)["ids"] == f"{newer.id},{first.id}"


def test_a_change_committed_late_with_an_older_timestamp_is_still_seen(
    browser_client: FlaskClient, org: Any
) -> None:
    # A writer took its updated_at, then committed after a newer change: max(updated_at) alone misses it.
    flow = factories.make_flow(org, "Triage")
    late, newer = factories.make_session(flow, "RUNNING"), factories.make_session(flow, "RUNNING")
    args = _poll_args(browser_client.get(f"/ui/flows/{flow.id}").get_data(as_text=True))
    taken_at = utcnow()
    session_service.touch(newer)
    db.session.commit()
    args = _poll_args(
        browser_client.get(f"/ui/flows/{flow.id}/sessions/changes", query_string=args, headers=hx()).get_data(
            as_text=True
        )
    )
    session_service.set_status(late, "COMPLETED")
    session_service.touch(late)
    late.updated_at = taken_at
    db.session.commit()
    html = browser_client.get(
        f"/ui/flows/{flow.id}/sessions/changes", query_string=args, headers=hx()
    ).get_data(as_text=True)
    row = by_id(html, f"session-{late.id}")
    assert row is not None and "Completed" in row.text


def test_rows_leaving_a_status_filter_are_updated_and_marked(browser_client: FlaskClient, org: Any) -> None:
    flow = factories.make_flow(org, "Triage")
    running = factories.make_session(flow, "RUNNING")
    args = _poll_args(browser_client.get(f"/ui/flows/{flow.id}?status=RUNNING").get_data(as_text=True))
    assert args["status"] == "RUNNING"
    session_service.patch_session(running, _patch(status="FAILED"))
    db.session.commit()
    html = browser_client.get(
        f"/ui/flows/{flow.id}/sessions/changes", query_string=args, headers=hx()
    ).get_data(as_text=True)
    row = by_id(html, f"session-{running.id}")
    assert row is not None and row.attrs["data-match"] == "0"


def _patch(**fields: Any) -> Any:
    from webapp.domain.schemas import SessionPatch

    return SessionPatch.model_validate(fields)


def test_starting_a_session_creates_it_and_shows_it(browser_client: FlaskClient, org: Any) -> None:
    flow = factories.make_flow(org, "Triage")
    response = browser_client.post(f"/ui/flows/{flow.id}/sessions", data={"inputs": '{"message": "hi"}'})
    session = db.session.execute(db.select(Session)).scalar_one()
    assert response.status_code == 303
    assert response.headers["Location"] == f"/ui/sessions/{session.id}"
    assert session.inputs == {"message": "hi"} and session.run is False and session.status == "NEW"


def test_starting_from_htmx_redirects_with_hx_redirect(browser_client: FlaskClient, org: Any) -> None:
    flow = factories.make_flow(org, "Triage")
    response = browser_client.post(
        f"/ui/flows/{flow.id}/sessions", data={"inputs": "{}"}, headers=hx("start-form")
    )
    session = db.session.execute(db.select(Session)).scalar_one()
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == f"/ui/sessions/{session.id}"


def test_run_with_the_built_in_runner_hands_the_session_over(browser_client: FlaskClient, org: Any) -> None:
    flow = factories.make_flow(org, "Triage", steps=("classify",))
    browser_client.post(f"/ui/flows/{flow.id}/sessions", data={"inputs": '{"message": "hi"}', "run": "1"})
    db.session.commit()
    assert current_runner().drain() == 1
    session = db.session.execute(db.select(Session)).scalar_one()
    db.session.refresh(session)
    assert session.run is True and session.status == "COMPLETED"


def test_bad_json_shows_the_error_next_to_the_field_and_creates_nothing(
    browser_client: FlaskClient, org: Any
) -> None:
    flow = factories.make_flow(org, "Triage")
    cases = {'{"message": ': "This is not valid JSON", "[1, 2]": "Inputs must be a JSON object"}
    for inputs, message in cases.items():
        response = browser_client.post(
            f"/ui/flows/{flow.id}/sessions", data={"inputs": inputs}, headers=hx("start-form")
        )
        html = response.get_data(as_text=True)
        assert response.status_code == 422
        assert html.lstrip().startswith('<form id="start-form"')
        error = by_id(html, "inputs-error")
        assert error is not None and message in error.text
        textarea = by_id(html, "start-inputs")
        assert textarea is not None and textarea.attrs["aria-invalid"] == "true" and textarea.text == inputs
    assert db.session.execute(db.select(Session)).first() is None


def test_bad_json_without_javascript_gets_the_form_page(browser_client: FlaskClient, org: Any) -> None:
    flow = factories.make_flow(org, "Triage")
    response = browser_client.post(f"/ui/flows/{flow.id}/sessions", data={"inputs": "nope"})
    assert response.status_code == 422
    assert "<!doctype html>" in response.get_data(as_text=True)
    assert by_id(response.get_data(as_text=True), "inputs-error") is not None


def test_a_draft_flow_cannot_start_a_session(browser_client: FlaskClient, org: Any) -> None:
    flow = factories.make_flow(org, "Draft", publish=False)
    response = browser_client.post(
        f"/ui/flows/{flow.id}/sessions", data={"inputs": "{}"}, headers=hx("start-form")
    )
    assert response.status_code == 409
    assert "publish a version first" in response.get_data(as_text=True)
    assert db.session.execute(db.select(Session)).first() is None


def test_rolling_back_publishes_an_older_version(browser_client: FlaskClient, org: Any) -> None:
    flow = factories.make_flow(org, "Triage", versions=2)
    v1 = _version_ids(flow)[1]
    response = browser_client.post(f"/ui/flows/{flow.id}/versions/{v1}/publish")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/ui/flows/{flow.id}?version={v1}"
    db.session.refresh(flow)
    assert flow.current_version_id == v1


def test_archiving_from_the_page_archives_and_shows_the_flow(browser_client: FlaskClient, org: Any) -> None:
    flow = factories.make_flow(org, "Triage")
    response = browser_client.post(f"/ui/flows/{flow.id}/archive", headers=hx())
    assert response.status_code == 204 and response.headers["HX-Redirect"] == f"/ui/flows/{flow.id}"
    db.session.refresh(flow)
    assert flow.archived_at is not None
    html = browser_client.get(f"/ui/flows/{flow.id}").get_data(as_text=True)
    assert "Archived" in html and "Start session" not in html


def test_publishing_another_organisations_version_is_a_404(browser_client: FlaskClient, org: Any) -> None:
    mine = factories.make_flow(org, "Mine")
    theirs = factories.make_flow(factories.make_org("Other"), "Theirs")
    response = browser_client.post(f"/ui/flows/{mine.id}/versions/{theirs.current_version_id}/publish")
    assert response.status_code == 404
    assert browser_client.post(f"/ui/flows/{theirs.id}/archive").status_code == 404


def test_a_row_that_newly_matches_the_filter_arrives_in_the_inbox(
    browser_client: FlaskClient, org: Any
) -> None:
    flow = factories.make_flow(org, "Triage")
    older = factories.make_session(flow, "RUNNING")
    shown = [factories.make_session(flow, "FAILED") for _ in range(2)]
    other = factories.make_session(flow, "RUNNING")
    page = browser_client.get(f"/ui/flows/{flow.id}?status=FAILED").get_data(as_text=True)
    args = _poll_args(page)
    assert args["ids"] == f"{shown[1].id},{shown[0].id}"
    for session, status in ((older, "FAILED"), (other, "COMPLETED")):
        session_service.patch_session(session, _patch(status=status))
    db.session.commit()
    html = browser_client.get(
        f"/ui/flows/{flow.id}/sessions/changes", query_string=args, headers=hx()
    ).get_data(as_text=True)
    inbox = next(e for e in oob(html) if e.tag == "tbody")
    assert inbox.attrs["hx-swap-oob"] == "beforeend:#sessions-inbox"
    assert [c.attrs["id"] for c in inbox.children] == [f"session-{older.id}"]
    assert by_id(html, f"session-{other.id}") is None  # never shown, does not match: not sent
    assert _poll_args(html)["ids"].split(",") == [shown[1].id, shown[0].id, older.id]


def test_only_the_last_page_has_no_floor(browser_client: FlaskClient, org: Any) -> None:
    flow = factories.make_flow(org, "Triage")
    sessions = [factories.make_session(flow) for _ in range(27)]
    first = _poll_args(browser_client.get(f"/ui/flows/{flow.id}").get_data(as_text=True))
    last = _poll_args(browser_client.get(f"/ui/flows/{flow.id}?page=2").get_data(as_text=True))
    assert first["top"] == sessions[-1].id and first["floor"] == sessions[2].id
    assert last["top"] == sessions[1].id and last["floor"] == ""


def test_the_table_polls_fast_while_any_session_of_the_flow_is_active(
    browser_client: FlaskClient, org: Any
) -> None:
    # live.js polls fast while its scope holds [data-active]: the Active chip has it when its count is > 0.
    flow = factories.make_flow(org, "Triage")
    factories.make_session(flow, "FAILED")
    running = factories.make_session(flow, "RUNNING")
    html = browser_client.get(f"/ui/flows/{flow.id}?status=FAILED").get_data(as_text=True)
    chip = next(e for e in elements(html) if e.has_class("chip--active"))
    assert "data-active" in chip.attrs
    session_service.patch_session(running, _patch(status="COMPLETED"))
    db.session.commit()
    html = browser_client.get(f"/ui/flows/{flow.id}?status=FAILED").get_data(as_text=True)
    chip = next(e for e in elements(html) if e.has_class("chip--active"))
    assert "data-active" not in chip.attrs
