"""The session page (live until final), cancel, compare, and the streamed CSV/JSON exports."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from flask.testing import FlaskClient

from tests import factories
from tests.pagetools import by_id, elements, hx, statements
from webapp.extensions import db
from webapp.models import Flow, Session
from webapp.runner import current_runner
from webapp.services import sessions as session_service


def _run(flow: Flow, inputs: dict[str, Any]) -> Session:
    """Start a session with the built-in runner (echo provider) and execute it now."""
    session = factories.make_session(flow, run=True, inputs=inputs)
    current_runner().enqueue(session.id)
    db.session.commit()  # end this thread's read transaction before the runner writes
    current_runner().drain()
    db.session.expire_all()
    return session


def _stamp(html: str) -> str:
    field = next(e for e in elements(html) if e.tag == "input" and e.attrs.get("name") == "stamp")
    return field.attrs["value"]


def test_the_session_page_shows_status_times_inputs_and_error(browser_client: FlaskClient, org: Any) -> None:
    flow = factories.make_flow(org, "Triage")
    session = factories.make_session(
        flow, "FAILED", inputs={"message": "Invoice <wrong>"}, error="Provider timed out\nafter 30 s"
    )
    response = browser_client.get(f"/ui/sessions/{session.id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'data-status="FAILED"' in html
    inputs = by_id(html, "session-inputs")
    assert inputs is not None and json.loads(inputs.text) == {"message": "Invoice <wrong>"}
    error = by_id(html, "session-error")
    assert error is not None and error.text == "Provider timed out\nafter 30 s"
    assert "flow-diagram" in html
    assert "Cancel session" not in html and 'hx-trigger="live:poll"' not in html  # final: nothing to watch


def test_a_run_session_shows_its_timeline_and_the_path_taken(browser_client: FlaskClient, org: Any) -> None:
    flow = factories.make_flow(org, "Triage", steps=("classify",))
    session = _run(flow, {"message": "hi"})
    html = browser_client.get(f"/ui/sessions/{session.id}").get_data(as_text=True)
    names = [e.text.split()[0] for e in elements(html) if e.has_class("run-name")]
    assert names == ["start", "classify", "end"]
    assert "Do classify: {&#39;message&#39;: &#39;hi&#39;}" in html  # the rendered prompt
    assert "has-highlight" in html
    taken = [e for e in elements(html) if e.tag == "g" and e.has_class("node") and e.has_class("is-taken")]
    assert len(taken) == 3


def test_another_organisations_session_is_a_404(browser_client: FlaskClient, org: Any) -> None:
    other = factories.make_session(factories.make_flow(factories.make_org("Other"), "Secret"))
    for url in (f"/ui/sessions/{other.id}", f"/ui/sessions/{other.id}/changes", "/ui/sessions/xyz"):
        assert browser_client.get(url).status_code == 404, url
    assert browser_client.post(f"/ui/sessions/{other.id}/cancel").status_code == 404


def test_the_session_poll_is_204_until_it_changes_then_286_once_final(
    browser_client: FlaskClient, org: Any
) -> None:
    flow = factories.make_flow(org, "Triage")
    session = factories.make_session(flow, "RUNNING")
    stamp = _stamp(browser_client.get(f"/ui/sessions/{session.id}").get_data(as_text=True))
    url = f"/ui/sessions/{session.id}/changes"
    with statements() as sqls:
        unchanged = browser_client.get(url, query_string={"stamp": stamp}, headers=hx("session-live"))
    assert unchanged.status_code == 204 and unchanged.get_data() == b""
    assert len([s for s in sqls if "sessions" in s]) == 1
    session_service.patch_session(session, _patch(steps_count=2))
    db.session.commit()
    changed = browser_client.get(url, query_string={"stamp": stamp}, headers=hx("session-live"))
    assert changed.status_code == 200
    assert changed.get_data(as_text=True).lstrip().startswith('<div id="session-live"')
    session_service.patch_session(session, _patch(status="COMPLETED"))
    db.session.commit()
    final = browser_client.get(url, query_string={"stamp": _stamp(changed.get_data(as_text=True))})
    assert final.status_code == 286
    assert 'data-status="COMPLETED"' in final.get_data(as_text=True)
    assert 'hx-trigger="live:poll"' not in final.get_data(as_text=True)


def _patch(**fields: Any) -> Any:
    from webapp.domain.schemas import SessionPatch

    return SessionPatch.model_validate(fields)


def test_cancelling_a_running_session(browser_client: FlaskClient, org: Any) -> None:
    session = factories.make_session(factories.make_flow(org, "Triage"), "RUNNING")
    response = browser_client.post(f"/ui/sessions/{session.id}/cancel")
    assert response.status_code == 303 and response.headers["Location"] == f"/ui/sessions/{session.id}"
    db.session.refresh(session)
    assert session.status == "CANCELLED" and session.finished_at is not None


def test_cancelling_a_final_session_is_a_409_page(browser_client: FlaskClient, org: Any) -> None:
    session = factories.make_session(factories.make_flow(org, "Triage"), "COMPLETED")
    response = browser_client.post(f"/ui/sessions/{session.id}/cancel")
    assert response.status_code == 409
    assert "already COMPLETED" in response.get_data(as_text=True)
    db.session.refresh(session)
    assert session.status == "COMPLETED"


def test_compare_puts_two_sessions_side_by_side_and_marks_differences(
    browser_client: FlaskClient, org: Any
) -> None:
    flow = factories.make_flow(org, "Triage", steps=("classify",))
    a, b = _run(flow, {"message": "one"}), _run(flow, {"message": "two"})
    response = browser_client.get(f"/ui/sessions/compare?a={a.id}&b={b.id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    steps = [e.text.split()[0] for e in elements(html) if e.tag == "th" and e.has_class("compare-step")]
    assert steps == ["Inputs", "start", "classify", "end"]
    differing = [e for e in elements(html) if e.tag == "td" and e.has_class("is-differs")]
    assert any("one" in e.text for e in differing) and any("two" in e.text for e in differing)


def test_compare_from_the_table_checkboxes_redirects_to_a_and_b(
    browser_client: FlaskClient, org: Any
) -> None:
    flow = factories.make_flow(org, "Triage")
    a, b = factories.make_session(flow), factories.make_session(flow)
    response = browser_client.get(f"/ui/sessions/compare?s={a.id}&s={b.id}")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/ui/sessions/compare?a={a.id}&b={b.id}"
    assert browser_client.get("/ui/sessions/compare?a=x").status_code == 400


def test_the_csv_export_streams_the_filtered_sessions(browser_client: FlaskClient, org: Any) -> None:
    flow = factories.make_flow(org, "Support triage")
    failed = [factories.make_session(flow, "FAILED", error="boom, again") for _ in range(3)]
    factories.make_session(flow, "COMPLETED")
    response = browser_client.get(f"/ui/flows/{flow.id}/sessions.csv?status=FAILED")
    assert response.status_code == 200 and response.is_streamed
    assert response.headers["Content-Disposition"] == 'attachment; filename="support-triage-sessions.csv"'
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["id"] for r in rows] == [s.id for s in reversed(failed)]
    assert rows[0]["error"] == "boom, again" and rows[0]["version"] == "1" and rows[0]["inputs"] == "{}"


def test_the_json_export_is_an_array_of_sessions_in_the_api_shape(
    browser_client: FlaskClient, org: Any
) -> None:
    flow = factories.make_flow(org, "Triage")
    sessions = [factories.make_session(flow, inputs={"n": i}) for i in range(3)]
    response = browser_client.get(f"/ui/flows/{flow.id}/sessions.json")
    assert response.is_streamed
    body = json.loads(response.get_data(as_text=True))
    assert [s["id"] for s in body] == [s.id for s in reversed(sessions)]
    assert set(body[0]) == {
        "id",
        "steps_count",
        "inputs",
        "error",
        "status",
        "flow_version",
        "created_at",
        "updated_at",
    }
    assert body[0]["flow_version"]["id"] == flow.current_version_id


def test_exports_read_in_batches_from_a_cursor(browser_client: FlaskClient, org: Any) -> None:
    # 1,200 sessions: the export fetches them in batches (yield_per), never all rows at once.
    flow = factories.make_flow(org, "Triage")
    now = factories.make_session(flow)
    db.session.execute(
        Session.__table__.insert(),
        [
            {
                "id": f"00000000-0000-4000-8000-{i:012d}",
                "org_id": org.id,
                "flow_id": flow.id,
                "flow_version_id": flow.current_version_id,
                "status": "COMPLETED",
                "created_at": now.created_at,
                "updated_at": now.created_at,
                "inputs": {},
            }
            for i in range(1200)
        ],
    )
    db.session.commit()
    fetches: list[int] = []
    from webapp.sessions import exports

    original = exports._csv

    def counting(rows: Any) -> Any:
        for chunk in original(rows):
            fetches.append(chunk.count("\n"))
            yield chunk

    exports._csv = counting  # type: ignore[assignment]
    try:
        response = browser_client.get(f"/ui/flows/{flow.id}/sessions.csv")
        text = response.get_data(as_text=True)
    finally:
        exports._csv = original  # type: ignore[assignment]
    assert text.count("\n") == 1202  # header + 1,201 sessions
    assert len(fetches) > 10 and max(fetches) <= 101  # streamed in pieces of at most 100 lines


def test_compare_keeps_steps_of_different_branches_on_separate_lines() -> None:
    from webapp.sessions.page_data import RunView, align

    def runs(*names: str) -> list[RunView]:
        return [
            RunView(f"r{i}", n, n, "PROMPT", i, 1, "COMPLETED", None, None, n, n, None, None, None)
            for i, n in enumerate(names)
        ]

    lines = align(runs("start", "route", "billing", "done"), runs("start", "route", "technical", "done"))
    assert [(s.a and s.a.step_name, s.b and s.b.step_name) for s in lines] == [
        ("start", "start"),
        ("route", "route"),
        ("billing", None),
        (None, "technical"),
        ("done", "done"),
    ]
