"""GET /live_flows/, /live_flows/{id}, /live_flows/{id}/sessions and POST /live_flows/{id}/sessions."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from tests.api.contract import assert_conforms, assert_valid, contract_validator
from tests.factories import make_api_key, make_flow, make_org, make_session
from webapp.domain.statuses import ALL_STATUSES
from webapp.extensions import db
from webapp.models import Flow, FlowVersion, Session, Step, StepTransition

SEED_TIME = "%Y-%m-%dT%H:%M:%SZ"


def stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime(SEED_TIME)


def expected_version(version_id: str) -> dict:
    """Build a FlowVersionRead from the step and transition rows, independently of the stored JSON."""
    version = db.session.execute(select(FlowVersion).where(FlowVersion.id == version_id)).scalar_one()
    steps = db.session.execute(
        select(Step).where(Step.version_id == version.id).order_by(Step.position)
    ).scalars()
    transitions = db.session.execute(
        select(StepTransition)
        .where(StepTransition.version_id == version.id)
        .order_by(StepTransition.position)
    ).scalars()
    created = stamp(version.created_at)
    return {
        "id": version.id,
        "flow_id": version.flow_id,
        "steps": [
            {
                "id": s.id,
                "name": s.name,
                "step_type": s.step_type,
                "prompt_template": s.prompt_template,
                "created_at": created,
                "updated_at": created,
            }
            for s in steps
        ],
        "step_transitions": [
            {
                "source_step_id": t.source_step_id,
                "target_step_id": t.target_step_id,
                "label": t.label,
                "id": t.id,
            }
            for t in transitions
        ],
        "created_at": created,
        "updated_at": created,
    }


def expected_session(session: Session) -> dict:
    return {
        "id": session.id,
        "steps_count": session.steps_count,
        "inputs": session.inputs,
        "error": session.error,
        "status": session.status,
        "flow_version": expected_version(session.flow_version_id),
        "created_at": stamp(session.created_at),
        "updated_at": stamp(session.updated_at),
    }


def sessions_of(flow: Flow) -> list[Session]:
    """The flow's sessions, newest first (creation order)."""
    return list(
        db.session.execute(
            select(Session).where(Session.flow_id == flow.id).order_by(Session.pk.desc())
        ).scalars()
    )


@pytest.fixture
def catalogue(api):
    """Three live flows (one with a loop and an older version still in use), a draft and an archived one."""
    triage = make_flow(api.org, "Support triage", versions=2, steps=("classify", "answer"), loop=True)
    old_version = db.session.execute(
        select(FlowVersion.id).where(FlowVersion.flow_id == triage.id, FlowVersion.number == 1)
    ).scalar_one()
    for status in ALL_STATUSES:
        make_session(triage, status, inputs={"message": f"about {status}"}, steps_count=2)
    make_session(triage, "FAILED", version_id=old_version, error="timeout", steps_count=1)
    writer = make_flow(api.org, "Blog writer", steps=("outline", "draft"), loop=True, description=None)
    make_session(writer, "RUNNING", inputs={"topic": "htmx", "n": [1, 2.5, None, True]})
    leads = make_flow(api.org, "Lead scoring")
    make_flow(api.org, "Draft only", publish=False)
    make_flow(api.org, "Retired", archived=True)
    return {"triage": triage, "writer": writer, "leads": leads, "old_version": old_version}


def test_live_flows_match_the_contract_schema_and_the_stored_values(api, catalogue):
    response = api.get("/live_flows/")

    assert response.status_code == 200
    body = response.get_json()
    assert_valid(contract_validator(), body)
    flows = [catalogue["leads"], catalogue["writer"], catalogue["triage"]]
    expected = []
    for flow in flows:
        db.session.refresh(flow)
        expected.append(
            {
                "name": flow.name,
                "description": flow.description,
                "id": flow.id,
                "organisation_id": api.org.id,
                "current_version": expected_version(flow.current_version_id),
                "sessions": [expected_session(s) for s in sessions_of(flow)],
                "created_at": stamp(flow.created_at),
                "updated_at": stamp(flow.updated_at),
            }
        )
    assert body == expected


def test_live_flows_are_newest_first_and_leave_out_drafts_archived_flows_and_other_orgs(api, catalogue):
    other = make_org("Other")
    make_flow(other, "Support triage elsewhere")

    names = [f["name"] for f in api.get("/live_flows/").get_json()]

    assert names == ["Lead scoring", "Blog writer", "Support triage"]


def test_live_flows_embed_sessions_of_every_status_with_loops_and_older_versions(api, catalogue):
    [triage] = [f for f in api.get("/live_flows/").get_json() if f["name"] == "Support triage"]

    assert sorted({s["status"] for s in triage["sessions"]}) == sorted(ALL_STATUSES)
    labels = [t["label"] for t in triage["current_version"]["step_transitions"]]
    assert labels == [None, None, None, "again"]
    versions = {s["flow_version"]["id"] for s in triage["sessions"]}
    assert versions == {triage["current_version"]["id"], catalogue["old_version"]}
    [failed_old] = [s for s in triage["sessions"] if s["flow_version"]["id"] == catalogue["old_version"]]
    assert (failed_old["status"], failed_old["error"], failed_old["steps_count"]) == ("FAILED", "timeout", 1)


def test_embedded_sessions_with_the_same_timestamp_keep_creation_order_newest_first(api):
    flow = make_flow(api.org)
    made = [make_session(flow) for _ in range(5)]
    instant = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    for session in made:
        session.created_at = session.updated_at = instant
    db.session.commit()

    [body] = api.get("/live_flows/").get_json()

    assert [s["id"] for s in body["sessions"]] == [s.id for s in reversed(made)]
    assert {s["created_at"] for s in body["sessions"]} == {"2024-01-02T03:04:05Z"}


def test_flows_with_the_same_timestamp_keep_creation_order_newest_first(api):
    made = [make_flow(api.org, f"flow {i}") for i in range(3)]
    for flow in made:
        flow.created_at = datetime(2024, 1, 1, tzinfo=UTC)
    db.session.commit()

    ids = [f["id"] for f in api.get("/live_flows/").get_json()]

    assert ids == [f.id for f in reversed(made)]


@pytest.mark.parametrize("limit", [0, 1, 3, 1000])
def test_sessions_limit_keeps_each_flows_newest_sessions(api, limit):
    flows = [make_flow(api.org, name) for name in ("a", "b")]
    made = {flow.id: [make_session(flow).id for _ in range(4)] for flow in flows}

    body = api.get(f"/live_flows/?sessions_limit={limit}").get_json()

    for flow in body:
        assert [s["id"] for s in flow["sessions"]] == list(reversed(made[flow["id"]]))[:limit]


def test_sessions_limit_defaults_to_one_hundred(api):
    flow = make_flow(api.org)
    for _ in range(101):
        db.session.add(
            Session(org_id=api.org.id, flow_id=flow.id, flow_version_id=flow.current_version_id, inputs={})
        )
    db.session.commit()

    [body] = api.get("/live_flows/").get_json()

    assert len(body["sessions"]) == 100
    newest = sessions_of(flow)[:100]
    assert [s["id"] for s in body["sessions"]] == [s.id for s in newest]


@pytest.mark.parametrize("value", ["-1", "1001", "ten", "1.5", "", "1_0"])
def test_a_bad_sessions_limit_is_422(api, value):
    make_flow(api.org)

    response = api.get("/live_flows/", query_string={"sessions_limit": value})

    assert response.status_code == 422
    assert response.get_json()["detail"][0]["loc"] == ["query", "sessions_limit"]


def test_session_status_filters_the_embedded_sessions_before_taking_the_newest(api):
    flow = make_flow(api.org)
    failed = [make_session(flow, "FAILED").id for _ in range(3)]
    for _ in range(5):
        make_session(flow, "COMPLETED")
    cancelled = make_session(flow, "CANCELLED").id
    quiet = make_flow(api.org, "no failures")
    make_session(quiet, "NEW")

    body = api.get("/live_flows/?session_status=FAILED&session_status=CANCELLED&sessions_limit=2").get_json()

    by_name = {f["name"]: f for f in body}
    assert [s["id"] for s in by_name["Triage"]["sessions"]] == [cancelled, failed[-1]]
    assert by_name["no failures"]["sessions"] == []  # filters sessions, never the flows


def test_an_unknown_session_status_is_422_with_its_position(api):
    response = api.get("/live_flows/?session_status=NEW&session_status=DONE")

    assert response.status_code == 422
    assert response.get_json()["detail"][0]["loc"] == ["query", "session_status", 1]


def test_q_matches_names_containing_it_case_insensitively(api):
    for name in ("Support Triage", "triage v2", "Blog writer", "100% fun", "1000 fun"):
        make_flow(api.org, name)

    def names(q):
        return [f["name"] for f in api.get("/live_flows/", query_string={"q": q}).get_json()]

    assert names("TRIAGE") == ["triage v2", "Support Triage"]
    assert names("%") == ["100% fun"]  # LIKE wildcards are matched literally
    assert names("_") == []
    assert names("nothing") == []
    assert len(names("")) == 5


def test_q_folds_the_case_of_any_letter_on_every_database(api):
    for name in ("ÄRGER bot", "Straße", "other"):
        make_flow(api.org, name)

    def names(q):
        return [f["name"] for f in api.get("/live_flows/", query_string={"q": q}).get_json()]

    assert names("ärger") == ["ÄRGER bot"]
    assert names("ÄrGeR") == ["ÄRGER bot"]
    assert names("STRASSE") == []  # folding is lower-casing, not casefolding: both databases agree
    assert names("STRAẞE") == ["Straße"]


def test_live_flow_detail_is_the_same_object_as_in_the_list(api, catalogue):
    listed = {f["id"]: f for f in api.get("/live_flows/?sessions_limit=3&session_status=FAILED").get_json()}

    for flow_id, flow in listed.items():
        response = api.get(f"/live_flows/{flow_id}?sessions_limit=3&session_status=FAILED")
        assert response.status_code == 200
        assert response.get_json() == flow
        assert_valid(contract_validator("LiveFlowRead"), response.get_json())


@pytest.mark.parametrize("which", ["draft", "archived", "unknown", "malformed", "other org"])
def test_live_flow_detail_of_a_flow_that_is_not_live_is_the_one_404(api, which):
    flow_id = {
        "draft": lambda: make_flow(api.org, publish=False).id,
        "archived": lambda: make_flow(api.org, archived=True).id,
        "unknown": lambda: "3c90c3cc-0d44-4b50-8888-8dd25736052a",
        "malformed": lambda: "not-a-uuid",
        "other org": lambda: make_flow(make_org("Other")).id,
    }[which]()

    for path in (f"/live_flows/{flow_id}", f"/live_flows/{flow_id}/sessions"):
        response = api.get(path)
        assert (response.status_code, response.get_json()) == (404, {"detail": "Live flow not found"})


def test_live_flow_detail_accepts_an_upper_case_id(api):
    flow = make_flow(api.org)

    assert api.get(f"/live_flows/{flow.id.upper()}").get_json()["id"] == flow.id


# ---- GET /live_flows/{id}/sessions ---------------------------------------------------------


def test_flow_sessions_are_listed_newest_first_in_the_contract_shape(api, catalogue):
    flow = catalogue["triage"]

    response = api.get(f"/live_flows/{flow.id}/sessions")

    assert response.status_code == 200
    assert "Link" not in response.headers
    assert response.get_json() == [expected_session(s) for s in sessions_of(flow)]
    for session in response.get_json():
        assert_valid(contract_validator("SessionRead"), session)
    assert_conforms(response, "GET", "/live_flows/{flow_id}/sessions")


def test_flow_sessions_filter_by_repeated_status(api):
    flow = make_flow(api.org)
    made = {status: make_session(flow, status).id for status in ALL_STATUSES}

    body = api.get(f"/live_flows/{flow.id}/sessions?status=NEW&status=WAITING").get_json()

    assert [s["id"] for s in body] == [made["WAITING"], made["NEW"]]


def test_flow_sessions_pages_follow_link_rel_next_keeping_the_other_parameters(api):
    flow = make_flow(api.org)
    other = make_flow(api.org, "other")
    made = []
    for i in range(7):
        made.append(make_session(flow, "FAILED" if i % 2 else "COMPLETED").id)
        make_session(other, "FAILED")
    wanted = list(reversed(made))

    seen, url, pages = [], f"/live_flows/{flow.id}/sessions?limit=3&status=FAILED&status=COMPLETED", 0
    while url:
        response = api.get(url)
        assert response.status_code == 200
        seen += [s["id"] for s in response.get_json()]
        pages += 1
        link = response.headers.get("Link")
        url = None
        if link:
            assert link.endswith('>; rel="next"')
            url = link[1 : link.index(">")]
            query = parse_qs(urlsplit(url).query)
            assert query["limit"] == ["3"]
            assert query["status"] == ["FAILED", "COMPLETED"]
            assert urlsplit(url).path == f"/live_flows/{flow.id}/sessions"
    assert seen == wanted
    assert pages == 3


def test_flow_sessions_last_full_page_has_no_link(api):
    flow = make_flow(api.org)
    for _ in range(3):
        make_session(flow)

    response = api.get(f"/live_flows/{flow.id}/sessions?limit=3")

    assert len(response.get_json()) == 3
    assert "Link" not in response.headers


def test_flow_sessions_before_starts_after_that_session(api):
    flow = make_flow(api.org)
    made = [make_session(flow).id for _ in range(5)]

    body = api.get(f"/live_flows/{flow.id}/sessions?before={made[3]}").get_json()

    assert [s["id"] for s in body] == [made[2], made[1], made[0]]


@pytest.mark.parametrize("before", ["unknown", "other flow", "malformed"])
def test_flow_sessions_with_an_unknown_before_is_422(api, before):
    flow = make_flow(api.org)
    make_session(flow)
    value = {
        "unknown": "3c90c3cc-0d44-4b50-8888-8dd25736052a",
        "other flow": make_session(make_flow(api.org, "other")).id,
        "malformed": "yesterday",
    }[before]

    response = api.get(f"/live_flows/{flow.id}/sessions", query_string={"before": value})

    assert response.status_code == 422
    assert response.get_json()["detail"][0]["loc"] == ["query", "before"]


@pytest.mark.parametrize("query", ["limit=0", "limit=1001", "limit=x", "status=DONE", "status=new"])
def test_flow_sessions_bad_query_parameters_are_422(api, query):
    flow = make_flow(api.org)

    response = api.get(f"/live_flows/{flow.id}/sessions?{query}")

    assert response.status_code == 422
    assert response.get_json()["detail"][0]["loc"][:2] == ["query", query.split("=")[0]]


# ---- POST /live_flows/{id}/sessions --------------------------------------------------------


def test_starting_a_session_answers_201_with_location_and_the_new_session(api):
    flow = make_flow(api.org, versions=2)

    response = api.post(f"/live_flows/{flow.id}/sessions", json={"inputs": {"message": "hi", "n": 2}})

    assert response.status_code == 201
    body = response.get_json()
    assert response.headers["Location"] == f"/sessions/{body['id']}"
    session = db.session.execute(select(Session).where(Session.id == body["id"])).scalar_one()
    assert body == expected_session(session)
    assert (body["status"], body["steps_count"], body["error"]) == ("NEW", 0, None)
    assert body["inputs"] == {"message": "hi", "n": 2}
    assert body["flow_version"]["id"] == flow.current_version_id
    assert session.run is False
    assert api.get(response.headers["Location"]).get_json() == body
    assert_conforms(response, "POST", "/live_flows/{flow_id}/sessions")


@pytest.mark.parametrize("content_type", [None, "text/plain"])
def test_starting_a_session_with_no_body_uses_empty_inputs(api, content_type):
    flow = make_flow(api.org)
    headers = {"Content-Type": content_type} if content_type else {}

    response = api.post(f"/live_flows/{flow.id}/sessions", headers=headers)

    assert response.status_code == 201
    assert response.get_json()["inputs"] == {}


def test_starting_a_session_of_a_named_older_version(api):
    flow = make_flow(api.org, versions=3)
    first = db.session.execute(
        select(FlowVersion.id).where(FlowVersion.flow_id == flow.id, FlowVersion.number == 1)
    ).scalar_one()

    response = api.post(f"/live_flows/{flow.id}/sessions", json={"flow_version_id": first.upper()})

    assert response.status_code == 201
    assert response.get_json()["flow_version"]["id"] == first


def test_starting_a_session_of_another_flows_version_is_422(api):
    flow = make_flow(api.org)
    other = make_flow(api.org, "other")

    response = api.post(f"/live_flows/{flow.id}/sessions", json={"flow_version_id": other.current_version_id})

    assert response.status_code == 422
    assert response.get_json()["detail"][0]["loc"] == ["body", "flow_version_id"]
    assert db.session.execute(select(func.count()).select_from(Session)).scalar() == 0


def test_starting_a_session_of_an_unknown_or_foreign_flow_is_404(api):
    foreign = make_flow(make_org("Other"))

    for flow_id in ("3c90c3cc-0d44-4b50-8888-8dd25736052a", foreign.id, "nope"):
        response = api.post(f"/live_flows/{flow_id}/sessions", json={})
        assert (response.status_code, response.get_json()) == (404, {"detail": "Live flow not found"})


@pytest.mark.parametrize("state", ["draft", "archived"])
def test_starting_a_session_of_a_flow_that_is_not_live_is_409(api, state):
    flow = make_flow(api.org, publish=False) if state == "draft" else make_flow(api.org, archived=True)
    version_id = db.session.execute(select(FlowVersion.id).where(FlowVersion.flow_id == flow.id)).scalar_one()

    for body in ({}, {"flow_version_id": version_id}):
        response = api.post(f"/live_flows/{flow.id}/sessions", json=body)
        assert response.status_code == 409
        assert isinstance(response.get_json()["detail"], str)
    assert db.session.execute(select(func.count()).select_from(Session)).scalar() == 0


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"inputs": []}, ["body", "inputs"]),
        ({"inputs": None}, ["body", "inputs"]),
        ({"flow_version_id": "v1"}, ["body", "flow_version_id"]),
        ({"run": "perhaps"}, ["body", "run"]),
        ({"surprise": 1}, ["body", "surprise"]),
    ],
)
def test_starting_a_session_with_a_bad_body_is_422(api, body, loc):
    flow = make_flow(api.org)

    response = api.post(f"/live_flows/{flow.id}/sessions", json=body)

    assert response.status_code == 422
    assert response.get_json()["detail"][0]["loc"] == loc


def test_inputs_are_free_form_at_every_depth(api):
    flow = make_flow(api.org)
    inputs = {"a": {"anything": [1, {"goes": True}], "extra": None}, "ü": "ünïcode"}

    response = api.post(f"/live_flows/{flow.id}/sessions", json={"inputs": inputs})

    assert response.status_code == 201
    assert response.get_json()["inputs"] == inputs


def test_a_started_session_appears_first_in_the_live_flow(api):
    flow = make_flow(api.org)
    make_session(flow, "COMPLETED")

    new_id = api.post(f"/live_flows/{flow.id}/sessions", json={}).get_json()["id"]

    [listed] = api.get("/live_flows/").get_json()
    assert listed["sessions"][0]["id"] == new_id


def test_sessions_of_other_organisations_never_leak_into_embedded_sessions(api):
    flow = make_flow(api.org)
    other_org = make_org("Other")
    # A session row pointing at our flow but owned by another org cannot be created through the API;
    # what matters is that the other org's own flows and sessions never show.
    other = make_flow(other_org, "Triage")
    make_session(other, "RUNNING")
    mine = make_session(flow, "RUNNING")

    [listed] = api.get("/live_flows/").get_json()
    assert [s["id"] for s in listed["sessions"]] == [mine.id]
    other_key = make_api_key(other_org)
    theirs = api.client.get("/live_flows/", headers={"Api-key": other_key}).get_json()
    assert [f["id"] for f in theirs] == [other.id]


def test_updated_at_of_a_session_moves_and_is_shown_to_the_second(api):
    flow = make_flow(api.org)
    session = make_session(flow)
    session.updated_at = datetime(2030, 5, 6, 7, 8, 9, 987654, tzinfo=UTC)
    db.session.commit()

    [listed] = api.get("/live_flows/").get_json()

    assert listed["sessions"][0]["updated_at"] == "2030-05-06T07:08:09Z"
