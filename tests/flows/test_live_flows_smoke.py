from __future__ import annotations

from tests.factories import make_flow, make_session


def test_live_flows_lists_a_published_flow_with_its_sessions(api):
    flow = make_flow(api.org, "Triage")
    session = make_session(flow, "RUNNING", steps_count=2)
    response = api.get("/live_flows/")
    assert response.status_code == 200
    [body] = response.json
    assert body["id"] == flow.id
    assert [s["id"] for s in body["sessions"]] == [session.id]
    assert body["sessions"][0]["status"] == "RUNNING"
