"""The flow list page: page vs fragment, search and filters in the URL, and its live poll."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask.testing import FlaskClient

from tests import factories
from tests.pagetools import by_id, elements, hx, oob, session_reads, statements
from webapp.extensions import db
from webapp.models.types import utcnow
from webapp.services import sessions as session_service


def _rows(html: str) -> list[str]:
    return [e.attrs["id"].removeprefix("flow-") for e in elements(html) if e.has_class("flow-row")]


def _names(html: str) -> list[str]:
    return [e.text.strip() for e in elements(html) if e.has_class("flow-name")]


def _poll_args(html: str) -> dict[str, str]:
    state = by_id(html, "flow-list-poll-state")
    assert state is not None
    return {c.attrs["name"]: c.attrs["value"] for c in state.children if c.tag == "input"}


def test_the_flow_list_is_a_full_page_with_live_flows_first(browser_client: FlaskClient, org: Any) -> None:
    factories.make_flow(org, "Zeta draft", publish=False)
    factories.make_flow(org, "Alpha archived", archived=True)
    factories.make_flow(org, "Mid live")
    response = browser_client.get("/ui/flows")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.startswith("<!doctype html>")
    assert "HX-Request" in response.headers["Vary"]
    assert _names(html) == ["Mid live", "Zeta draft", "Alpha archived"]


def test_an_htmx_request_gets_only_the_list_fragment(browser_client: FlaskClient, org: Any) -> None:
    factories.make_flow(org, "Triage")
    response = browser_client.get("/ui/flows?q=tri", headers=hx("flow-list"))
    html = response.get_data(as_text=True)
    assert "<html" not in html
    assert html.lstrip().startswith('<section id="flow-list"')
    assert _names(html) == ["Triage"]
    assert "HX-Request" in response.headers["Vary"]


def test_boosted_and_history_restore_requests_get_the_full_page(
    browser_client: FlaskClient, org: Any
) -> None:
    factories.make_flow(org, "Triage")
    boosted = browser_client.get("/ui/flows", headers=hx("flow-list", **{"HX-Boosted": "true"}))
    restore = browser_client.get("/ui/flows", headers=hx(**{"HX-History-Restore-Request": "true"}))
    assert "<!doctype html>" in boosted.get_data(as_text=True)
    assert "<!doctype html>" in restore.get_data(as_text=True)


def test_search_and_state_filters_live_in_the_query_string(browser_client: FlaskClient, org: Any) -> None:
    factories.make_flow(org, "Billing triage")
    factories.make_flow(org, "Billing draft", publish=False)
    factories.make_flow(org, "Lead scoring")
    assert _names(browser_client.get("/ui/flows?q=BILL").get_data(as_text=True)) == [
        "Billing triage",
        "Billing draft",
    ]
    assert _names(browser_client.get("/ui/flows?q=bill&state=draft").get_data(as_text=True)) == [
        "Billing draft"
    ]
    assert _names(browser_client.get("/ui/flows?state=live").get_data(as_text=True)) == [
        "Billing triage",
        "Lead scoring",
    ]


def test_a_search_with_no_match_shows_an_empty_state(browser_client: FlaskClient, org: Any) -> None:
    factories.make_flow(org, "Triage")
    html = browser_client.get("/ui/flows?q=zzz").get_data(as_text=True)
    assert "No flows match" in html and "zzz" in html


def test_the_list_is_paged(browser_client: FlaskClient, org: Any) -> None:
    for i in range(27):
        factories.make_flow(org, f"Flow {i:02d}", publish=False)
    first = browser_client.get("/ui/flows").get_data(as_text=True)
    second = browser_client.get("/ui/flows?page=2").get_data(as_text=True)
    assert len(_names(first)) == 25
    assert _names(second) == ["Flow 25", "Flow 26"]
    assert "Page 2 of 2" in second


def test_rows_show_counts_per_status_steps_and_a_sparkline(browser_client: FlaskClient, org: Any) -> None:
    flow = factories.make_flow(org, "Triage", steps=("a", "b"))
    for status in ("RUNNING", "FAILED", "FAILED", "COMPLETED"):
        factories.make_session(flow, status)
    html = browser_client.get("/ui/flows").get_data(as_text=True)
    counts = {
        e.attrs["class"].split()[1].removeprefix("count--"): e.text.split()[0]
        for e in elements(html)
        if e.has_class("count")
    }
    assert counts == {
        "new": "0",
        "running": "1",
        "waiting": "0",
        "completed": "1",
        "failed": "2",
        "cancelled": "0",
    }
    assert "4 sessions started in the last 24 hours" in html
    row = by_id(html, f"flow-{flow.id}")
    assert row is not None and "data-active" in row.attrs
    assert ">4</td>" in html  # start, a, b, end


def test_other_organisations_flows_are_not_listed(browser_client: FlaskClient, org: Any) -> None:
    other = factories.make_org("Other")
    factories.make_flow(other, "Secret flow")
    factories.make_flow(org, "Mine")
    assert _names(browser_client.get("/ui/flows").get_data(as_text=True)) == ["Mine"]


def test_a_signed_out_visitor_is_sent_to_sign_in(client: FlaskClient) -> None:
    response = client.get("/ui/flows")
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


def test_an_unchanged_poll_is_a_204_that_reads_no_session_row(browser_client: FlaskClient, org: Any) -> None:
    flow = factories.make_flow(org, "Triage")
    for _ in range(3):
        factories.make_session(flow, "RUNNING")
    args = _poll_args(browser_client.get("/ui/flows").get_data(as_text=True))
    with statements() as sqls:
        response = browser_client.get("/ui/flows/changes", query_string=args, headers=hx())
    assert response.status_code == 204
    assert response.get_data() == b""
    assert "HX-Request" in response.headers["Vary"]
    assert session_reads(sqls) == []
    assert len([s for s in sqls if "FROM sessions" in s]) == 1  # the one aggregate check


def test_a_changed_session_sends_only_its_flow_row_out_of_band(browser_client: FlaskClient, org: Any) -> None:
    busy = factories.make_flow(org, "Busy")
    quiet = factories.make_flow(org, "Quiet")
    session = factories.make_session(busy, "RUNNING")
    done = factories.make_session(quiet, "COMPLETED")
    done.updated_at = utcnow() - timedelta(minutes=10)  # outside the poll's look-back window
    db.session.commit()
    args = _poll_args(browser_client.get("/ui/flows").get_data(as_text=True))
    session_service.set_status(session, "COMPLETED")
    session_service.touch(session)
    db.session.commit()
    response = browser_client.get("/ui/flows/changes", query_string=args, headers=hx())
    html = response.get_data(as_text=True)
    swapped = [e.attrs["id"] for e in oob(html)]
    assert response.status_code == 200
    assert swapped == [f"flow-{busy.id}", "flow-list-poll-state"]
    row = by_id(html, f"flow-{busy.id}")
    assert row is not None and row.has_class("is-flash") and "data-active" not in row.attrs
    new_args = _poll_args(html)
    assert new_args["stamp"] != args["stamp"] and new_args["flows"] == args["flows"]
    again = browser_client.get("/ui/flows/changes", query_string=new_args, headers=hx())
    assert again.status_code == 204


def test_a_new_flow_redraws_the_whole_list(browser_client: FlaskClient, org: Any) -> None:
    factories.make_flow(org, "First")
    args = _poll_args(browser_client.get("/ui/flows").get_data(as_text=True))
    factories.make_flow(org, "Second")
    html = browser_client.get("/ui/flows/changes", query_string=args, headers=hx()).get_data(as_text=True)
    section = by_id(html, "flow-list")
    assert section is not None and section.attrs["hx-swap-oob"] == "true"
    assert _names(html) == ["First", "Second"]


def test_a_row_re_sent_inside_the_look_back_window_keeps_its_revision(
    browser_client: FlaskClient, org: Any
) -> None:
    # live.js skips out-of-band rows whose data-rev matches the one on the page.
    busy, quiet = factories.make_flow(org, "Busy"), factories.make_flow(org, "Quiet")
    session = factories.make_session(busy, "RUNNING")
    factories.make_session(quiet, "COMPLETED")
    page = browser_client.get("/ui/flows").get_data(as_text=True)
    before = by_id(page, f"flow-{quiet.id}")
    session_service.touch(session)
    db.session.commit()
    html = browser_client.get("/ui/flows/changes", query_string=_poll_args(page), headers=hx()).get_data(
        as_text=True
    )
    after = by_id(html, f"flow-{quiet.id}")
    changed = by_id(html, f"flow-{busy.id}")
    assert before is not None and after is not None and changed is not None
    assert after.attrs["data-rev"] == before.attrs["data-rev"]
