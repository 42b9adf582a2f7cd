"""One organisation never sees another's data: a foreign resource is the same 404 as a missing one."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.api.contract import snapshot
from tests.factories import make_flow, make_org, make_session
from webapp.extensions import db
from webapp.models import FlowVersion

MISSING = "3c90c3cc-0d44-4b50-8888-8dd25736052a"
FLOW_ENDPOINTS = [
    ("GET", "/live_flows/{flow}"),
    ("GET", "/live_flows/{flow}/sessions"),
    ("POST", "/live_flows/{flow}/sessions"),
    ("GET", "/flows/{flow}"),
    ("PATCH", "/flows/{flow}"),
    ("DELETE", "/flows/{flow}"),
    ("GET", "/flows/{flow}/versions"),
    ("POST", "/flows/{flow}/versions"),
    ("GET", "/flows/{flow}/versions/{version}"),
    ("POST", "/flows/{flow}/versions/{version}/publish"),
]
SESSION_ENDPOINTS = [
    ("GET", "/sessions/{session}"),
    ("PATCH", "/sessions/{session}"),
    ("POST", "/sessions/{session}/cancel"),
    ("POST", "/sessions/{session}/run"),
    ("GET", "/sessions/{session}/steps"),
]
BODIES = {"PATCH": {"name": "stolen", "status": "CANCELLED"}, "POST": {}}


@pytest.fixture
def foreign():
    other = make_org("Other")
    flow = make_flow(other, "theirs", versions=2)
    old = db.session.execute(
        select(FlowVersion.id).where(FlowVersion.flow_id == flow.id, FlowVersion.number == 1)
    ).scalar_one()
    session = make_session(flow, "NEW")
    return {"flow": flow.id, "version": old, "session": session.id}


def answer(api, method: str, template: str, ids: dict) -> tuple[int, object]:
    response = api.open(method, template.format(**ids), json=BODIES.get(method))
    return response.status_code, response.get_json()


@pytest.mark.parametrize(("method", "template"), FLOW_ENDPOINTS + SESSION_ENDPOINTS)
def test_another_organisations_resource_is_answered_like_a_missing_one(api, foreign, method, template):
    mine = make_flow(api.org, "mine")
    missing = {"flow": MISSING, "version": MISSING, "session": MISSING}
    api.get("/flows/")  # the key's last_used_at is stamped now, at most once a minute
    before = snapshot()

    for_foreign = answer(api, method, template, foreign)
    for_missing = answer(api, method, template, missing)

    assert for_foreign[0] == 404
    assert for_foreign == for_missing
    assert snapshot() == before  # nothing of theirs changed
    assert mine.id not in str(for_foreign)


@pytest.mark.parametrize(("method", "template"), [e for e in FLOW_ENDPOINTS if "{version}" in e[1]])
def test_another_organisations_version_under_my_flow_is_answered_like_a_missing_one(
    api, foreign, method, template
):
    mine = make_flow(api.org, "mine")

    for_foreign = answer(api, method, template, {"flow": mine.id, "version": foreign["version"]})
    for_missing = answer(api, method, template, {"flow": mine.id, "version": MISSING})

    assert for_foreign == for_missing == (404, {"detail": "Flow version not found"})


def test_lists_never_show_another_organisations_flows_or_sessions(api, foreign):
    mine = make_flow(api.org, "mine")
    make_session(mine, "RUNNING")

    everything = [
        api.get("/live_flows/").get_data(as_text=True),
        api.get("/flows/").get_data(as_text=True),
        api.get("/flows/?archived=true").get_data(as_text=True),
        api.get(f"/live_flows/{mine.id}/sessions").get_data(as_text=True),
    ]

    for text in everything:
        for foreign_id in foreign.values():
            assert foreign_id not in text
        assert "theirs" not in text


def test_a_session_cannot_be_started_with_another_organisations_version(api, foreign):
    mine = make_flow(api.org, "mine")

    response = api.post(f"/live_flows/{mine.id}/sessions", json={"flow_version_id": foreign["version"]})

    assert response.status_code == 422
    assert foreign["version"] not in response.get_data(as_text=True)
