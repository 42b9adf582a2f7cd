"""POST/GET /flows/, GET/PATCH/DELETE /flows/{id}, versions and publishing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from tests.api.contract import assert_conforms
from tests.factories import graph, make_flow, make_org, make_session
from webapp.extensions import db
from webapp.models import Flow, FlowVersion, Step, StepTransition

LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


def now_stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def age(flow: Flow) -> None:
    """Push a flow's updated_at into the past, so a change shows as a move."""
    flow.updated_at = LONG_AGO
    db.session.commit()


def count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar()


def new_version(api, flow_id: str, body: dict | None = None, **extra):
    return api.post(f"/flows/{flow_id}/versions", json={**(body or graph("ask")), **extra})


# ---- flows ------------------------------------------------------------------------------------


def test_creating_a_flow_answers_201_a_draft_and_its_location(api):
    response = api.post("/flows/", json={"name": "Triage", "description": "Sorts mail"})

    assert response.status_code == 201
    body = response.get_json()
    assert response.headers["Location"] == f"/flows/{body['id']}"
    assert body == {
        "name": "Triage",
        "description": "Sorts mail",
        "id": body["id"],
        "organisation_id": api.org.id,
        "current_version": None,
        "created_at": body["created_at"],
        "updated_at": body["created_at"],
        "archived_at": None,
    }
    assert api.get(response.headers["Location"]).get_json() == body
    assert_conforms(response, "POST", "/flows/")


def test_a_flow_description_is_optional(api):
    assert api.post("/flows/", json={"name": "x"}).get_json()["description"] is None


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({}, ["body", "name"]),
        ({"name": ""}, ["body", "name"]),
        ({"name": "x" * 201}, ["body", "name"]),
        ({"name": 5}, ["body", "name"]),
        ({"name": "x", "description": "d" * 2001}, ["body", "description"]),
        ({"name": "x", "owner": "me"}, ["body", "owner"]),
    ],
)
def test_creating_a_flow_with_a_bad_body_is_422_at_the_field(api, body, loc):
    response = api.post("/flows/", json=body)

    assert response.status_code == 422
    assert [e["loc"] for e in response.get_json()["detail"]] == [loc]
    assert count(Flow) == 0


def test_flow_name_and_description_limits_are_inclusive(api):
    response = api.post("/flows/", json={"name": "n" * 200, "description": "d" * 2000})

    assert response.status_code == 201
    assert len(response.get_json()["name"]) == 200


def test_flow_names_need_not_be_unique(api):
    assert api.post("/flows/", json={"name": "same"}).status_code == 201
    assert api.post("/flows/", json={"name": "same"}).status_code == 201


def test_flow_list_shows_live_and_draft_flows_newest_first_without_archived_or_foreign_ones(api):
    live = make_flow(api.org, "live")
    draft = make_flow(api.org, "draft", publish=False)
    make_flow(api.org, "archived", archived=True)
    make_flow(make_org("Other"), "foreign")

    response = api.get("/flows/")

    body = response.get_json()
    assert [f["id"] for f in body] == [draft.id, live.id]
    assert body[0]["current_version"] is None
    assert body[1]["current_version"]["id"] == live.current_version_id
    assert {f["archived_at"] for f in body} == {None}
    assert_conforms(response, "GET", "/flows/")


def test_flow_list_with_archived_true_shows_only_archived_flows(api):
    make_flow(api.org, "live")
    first = make_flow(api.org, "first archived", archived=True)
    second = make_flow(api.org, "second archived", archived=True, publish=False)

    body = api.get("/flows/?archived=true").get_json()

    assert [f["id"] for f in body] == [second.id, first.id]
    assert all(f["archived_at"] for f in body)
    assert [f["name"] for f in api.get("/flows/?archived=false").get_json()] == ["live"]


def test_flow_list_with_a_bad_archived_value_is_422(api):
    response = api.get("/flows/?archived=maybe")

    assert response.status_code == 422
    assert response.get_json()["detail"][0]["loc"] == ["query", "archived"]


def test_flow_detail_shows_its_current_version(api):
    flow = make_flow(api.org, versions=2)

    response = api.get(f"/flows/{flow.id}")

    body = response.get_json()
    assert body["current_version"]["id"] == flow.current_version_id
    assert body["current_version"]["flow_id"] == flow.id
    assert_conforms(response, "GET", "/flows/{flow_id}")


def test_patching_a_flow_changes_only_the_given_fields_and_moves_updated_at(api):
    flow = make_flow(api.org, "old", description="keep me")
    age(flow)

    response = api.patch(f"/flows/{flow.id}", json={"name": "new"})

    body = response.get_json()
    assert (response.status_code, body["name"], body["description"]) == (200, "new", "keep me")
    assert body["updated_at"] >= now_stamp()[:-3]  # moved to now (to the minute, to be safe)
    assert api.get(f"/flows/{flow.id}").get_json() == body
    assert_conforms(response, "PATCH", "/flows/{flow_id}")


def test_patching_a_flow_description_to_null_clears_it(api):
    flow = make_flow(api.org, description="something")

    assert api.patch(f"/flows/{flow.id}", json={"description": None}).get_json()["description"] is None


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"name": None}, ["body", "name"]),
        ({"name": ""}, ["body", "name"]),
        ({"id": str(uuid.uuid4())}, ["body", "id"]),
        ({"current_version": None}, ["body", "current_version"]),
    ],
)
def test_patching_a_flow_with_a_bad_body_is_422_and_changes_nothing(api, body, loc):
    flow = make_flow(api.org, "unchanged")
    age(flow)

    response = api.patch(f"/flows/{flow.id}", json=body)

    assert response.status_code == 422
    assert response.get_json()["detail"][0]["loc"] == loc
    db.session.refresh(flow)
    assert (flow.name, flow.updated_at) == ("unchanged", LONG_AGO)


def test_deleting_a_flow_archives_it_idempotently_and_keeps_its_sessions_readable(api):
    flow = make_flow(api.org)
    session = make_session(flow, "RUNNING")
    age(flow)

    first = api.delete(f"/flows/{flow.id}")
    archived = api.get(f"/flows/{flow.id}").get_json()
    second = api.delete(f"/flows/{flow.id}")

    assert (first.status_code, first.get_data(), second.status_code) == (204, b"", 204)
    assert archived["archived_at"] is not None
    assert archived["updated_at"] == archived["archived_at"]  # archiving moved updated_at
    assert archived["current_version"]["id"] == flow.current_version_id
    assert api.get(f"/flows/{flow.id}").get_json() == archived  # the second DELETE changed nothing
    assert api.get("/live_flows/").get_json() == []
    assert api.get(f"/live_flows/{flow.id}").status_code == 404
    readable = api.get(f"/sessions/{session.id}")
    assert (readable.status_code, readable.get_json()["status"]) == (200, "RUNNING")
    assert_conforms(first, "DELETE", "/flows/{flow_id}")


def test_an_archived_flow_refuses_new_versions_publishing_and_sessions_with_409(api):
    flow = make_flow(api.org, versions=2)
    old = db.session.execute(
        select(FlowVersion.id).where(FlowVersion.flow_id == flow.id, FlowVersion.number == 1)
    ).scalar_one()
    api.delete(f"/flows/{flow.id}")
    before = (count(FlowVersion), count(Step))

    refused = [
        new_version(api, flow.id),
        api.post(f"/flows/{flow.id}/versions/{old}/publish"),
        api.post(f"/live_flows/{flow.id}/sessions", json={}),
        api.post(f"/live_flows/{flow.id}/sessions", json={"flow_version_id": old}),
    ]

    assert [r.status_code for r in refused] == [409, 409, 409, 409]
    assert all(isinstance(r.get_json()["detail"], str) for r in refused)
    assert (count(FlowVersion), count(Step)) == before
    db.session.refresh(flow)
    assert flow.current_version_id != old


def test_an_archived_flow_still_judges_the_body_before_its_state(api):
    flow = make_flow(api.org, archived=True)

    response = new_version(api, flow.id, {"steps": []})

    assert response.status_code == 422


# ---- versions ---------------------------------------------------------------------------------


def test_a_new_version_keeps_client_ids_and_the_given_order_and_is_published(api):
    flow = make_flow(api.org, publish=False)
    body = graph("b", "a", loop=True)
    body["steps"].reverse()  # any order is kept as given
    body["step_transitions"].reverse()
    age(flow)

    response = new_version(api, flow.id, body)

    assert response.status_code == 201
    version = response.get_json()
    assert response.headers["Location"] == f"/flows/{flow.id}/versions/{version['id']}"
    assert [s["id"] for s in version["steps"]] == [s["id"] for s in body["steps"]]
    assert [s["name"] for s in version["steps"]] == ["end", "a", "b", "start"]
    assert [s["prompt_template"] for s in version["steps"]] == [s["prompt_template"] for s in body["steps"]]
    assert version["step_transitions"] == body["step_transitions"]
    assert version["flow_id"] == flow.id
    assert {s["created_at"] for s in version["steps"]} == {version["created_at"]} == {version["updated_at"]}
    current = api.get(f"/flows/{flow.id}").get_json()
    assert current["current_version"] == version
    assert current["updated_at"] != "2020-01-01T00:00:00Z"  # publishing moved it
    assert_conforms(response, "POST", "/flows/{flow_id}/versions")


def test_a_new_version_without_ids_gets_fresh_server_ids(api):
    flow = make_flow(api.org, publish=False)
    steps = [
        {"name": "start", "step_type": "START", "prompt_template": {"type": "text"}},
        {"name": "end", "step_type": "END", "prompt_template": {"type": "text"}},
    ]

    first = new_version(api, flow.id, {"steps": steps}).get_json()
    second = new_version(api, flow.id, {"steps": steps}).get_json()

    ids = [s["id"] for s in first["steps"] + second["steps"]] + [first["id"], second["id"]]
    assert len(set(ids)) == 6
    assert all(str(uuid.UUID(i)) == i for i in ids)
    assert first["step_transitions"] == []


def test_transitions_may_mix_client_and_server_ids(api):
    flow = make_flow(api.org, publish=False)
    body = graph("ask")
    del body["step_transitions"][0]["id"]
    body["step_transitions"][1]["label"] = "ok"

    version = new_version(api, flow.id, body).get_json()

    assert version["step_transitions"][1]["id"] == body["step_transitions"][1]["id"]
    assert version["step_transitions"][1]["label"] == "ok"
    assert uuid.UUID(version["step_transitions"][0]["id"])
    rows = db.session.execute(
        select(StepTransition.id)
        .where(StepTransition.version_id == version["id"])
        .order_by(StepTransition.position)
    ).scalars()
    assert list(rows) == [t["id"] for t in version["step_transitions"]]


def test_a_version_with_publish_false_keeps_the_current_one(api):
    flow = make_flow(api.org)
    current = flow.current_version_id
    age(flow)

    response = new_version(api, flow.id, publish=False)

    assert response.status_code == 201
    after = api.get(f"/flows/{flow.id}").get_json()
    assert after["current_version"]["id"] == current
    assert after["updated_at"] == "2020-01-01T00:00:00Z"


def test_publishing_rolls_back_and_forward_and_moves_updated_at(api):
    flow = make_flow(api.org, versions=3)
    versions = api.get(f"/flows/{flow.id}/versions").get_json()
    newest, _, oldest = (v["id"] for v in versions)
    age(flow)

    back = api.post(f"/flows/{flow.id}/versions/{oldest}/publish")

    assert back.status_code == 200
    assert back.get_json()["current_version"]["id"] == oldest
    assert back.get_json()["updated_at"] != "2020-01-01T00:00:00Z"
    assert api.get(f"/live_flows/{flow.id}").get_json()["current_version"]["id"] == oldest
    forward = api.post(f"/flows/{flow.id}/versions/{newest}/publish", json={})
    assert forward.get_json()["current_version"]["id"] == newest
    assert_conforms(back, "POST", "/flows/{flow_id}/versions/{version_id}/publish")


def test_publishing_a_draft_makes_it_live(api):
    flow = make_flow(api.org, publish=False)
    [version] = api.get(f"/flows/{flow.id}/versions").get_json()

    api.post(f"/flows/{flow.id}/versions/{version['id']}/publish")

    assert [f["id"] for f in api.get("/live_flows/").get_json()] == [flow.id]


def test_publishing_refuses_a_body_with_fields(api):
    flow = make_flow(api.org, versions=2)
    versions = api.get(f"/flows/{flow.id}/versions").get_json()

    response = api.post(f"/flows/{flow.id}/versions/{versions[1]['id']}/publish", json={"now": True})

    assert response.status_code == 422
    assert response.get_json()["detail"][0]["loc"] == ["body", "now"]
    assert api.get(f"/flows/{flow.id}").get_json()["current_version"]["id"] == versions[0]["id"]


def test_versions_are_listed_newest_first_and_read_one_by_one(api):
    flow = make_flow(api.org, versions=3, publish=False)
    ids = list(
        db.session.execute(
            select(FlowVersion.id).where(FlowVersion.flow_id == flow.id).order_by(FlowVersion.number.desc())
        ).scalars()
    )

    listed = api.get(f"/flows/{flow.id}/versions")

    assert [v["id"] for v in listed.get_json()] == ids
    for version in listed.get_json():
        one = api.get(f"/flows/{flow.id}/versions/{version['id']}")
        assert one.get_json() == version
        assert_conforms(one, "GET", "/flows/{flow_id}/versions/{version_id}")
    assert_conforms(listed, "GET", "/flows/{flow_id}/versions")


def test_a_version_read_through_another_flow_is_404(api):
    flow, other = make_flow(api.org), make_flow(api.org, "other")

    for path in (
        f"/flows/{other.id}/versions/{flow.current_version_id}",
        f"/flows/{other.id}/versions/{flow.current_version_id}/publish",
    ):
        method = "POST" if path.endswith("publish") else "GET"
        response = api.open(method, path)
        assert (response.status_code, response.get_json()) == (404, {"detail": "Flow version not found"})


def test_a_version_is_stored_once_and_never_rewritten(api):
    flow = make_flow(api.org, versions=2)
    versions = api.get(f"/flows/{flow.id}/versions").get_json()
    before = list(db.session.execute(select(FlowVersion.doc).order_by(FlowVersion.pk)).scalars())

    api.post(f"/flows/{flow.id}/versions/{versions[1]['id']}/publish")
    api.patch(f"/flows/{flow.id}", json={"name": "renamed"})
    api.delete(f"/flows/{flow.id}")

    assert list(db.session.execute(select(FlowVersion.doc).order_by(FlowVersion.pk)).scalars()) == before


# ---- version validation -----------------------------------------------------------------------


def _step(name: str, step_type: str = "PROMPT", **extra) -> dict:
    return {"name": name, "step_type": step_type, "prompt_template": {"type": "text"}, **extra}


def _bad_versions(existing_step: str, existing_transition: str) -> list[tuple[str, dict, list]]:
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    start, end = _step("start", "START", id=a), _step("end", "END", id=b)
    return [
        ("no steps", {"steps": []}, ["body", "steps"]),
        ("no START", {"steps": [_step("a"), _step("b")]}, ["body", "steps"]),
        ("two STARTs", {"steps": [_step("a", "START"), _step("b", "START")]}, ["body", "steps"]),
        ("duplicate names", {"steps": [start, _step("end"), _step("end")]}, ["body", "steps", 2, "name"]),
        ("blank name", {"steps": [start, _step("   ")]}, ["body", "steps", 1, "name"]),
        ("empty name", {"steps": [start, _step("")]}, ["body", "steps", 1, "name"]),
        ("long name", {"steps": [start, _step("x" * 201)]}, ["body", "steps", 1, "name"]),
        ("unknown type", {"steps": [start, _step("x", "LOOP")]}, ["body", "steps", 1, "step_type"]),
        (
            "template without type",
            {"steps": [start, {**_step("x"), "prompt_template": {"template": "hi"}}]},
            ["body", "steps", 1, "prompt_template", "type"],
        ),
        (
            "template type not a string",
            {"steps": [start, {**_step("x"), "prompt_template": {"type": 3}}]},
            ["body", "steps", 1, "prompt_template", "type"],
        ),
        (
            "template not an object",
            {"steps": [start, {**_step("x"), "prompt_template": "hi"}]},
            ["body", "steps", 1, "prompt_template"],
        ),
        ("unknown step field", {"steps": [start, _step("x", colour="red")]}, ["body", "steps", 1, "colour"]),
        ("unknown top field", {"steps": [start], "draft": True}, ["body", "draft"]),
        (
            "transition to a step of no version",
            {
                "steps": [start, end],
                "step_transitions": [{"source_step_id": a, "target_step_id": str(uuid.uuid4())}],
            },
            ["body", "step_transitions", 0, "target_step_id"],
        ),
        (
            "transition from a step of another version",
            {
                "steps": [start, end],
                "step_transitions": [{"source_step_id": existing_step, "target_step_id": b}],
            },
            ["body", "step_transitions", 0, "source_step_id"],
        ),
        (
            "unknown transition field",
            {"steps": [start, end], "step_transitions": [{"source_step_id": a, "target_step_id": b, "w": 1}]},
            ["body", "step_transitions", 0, "w"],
        ),
        (
            "transition id not a uuid",
            {
                "steps": [start, end],
                "step_transitions": [{"source_step_id": a, "target_step_id": b, "id": "t1"}],
            },
            ["body", "step_transitions", 0, "id"],
        ),
        ("step id taken", {"steps": [_step("start", "START", id=existing_step)]}, ["body", "steps", 0, "id"]),
        (
            "step id taken by a transition",
            {"steps": [_step("start", "START", id=existing_transition)]},
            ["body", "steps", 0, "id"],
        ),
        (
            "transition id taken",
            {
                "steps": [start, end],
                "step_transitions": [{"source_step_id": a, "target_step_id": b, "id": existing_transition}],
            },
            ["body", "step_transitions", 0, "id"],
        ),
        (
            "same id twice in the request",
            {"steps": [start, _step("end", "END", id=a)]},
            ["body", "steps", 1, "id"],
        ),
        ("publish not a boolean", {"steps": [start], "publish": "later"}, ["body", "publish"]),
    ]


def test_every_invalid_version_is_422_with_the_offending_location_and_nothing_is_stored(api):
    flow = make_flow(api.org)
    step_id = db.session.execute(select(Step.id).limit(1)).scalar_one()
    transition_id = db.session.execute(select(StepTransition.id).limit(1)).scalar_one()
    before = (count(FlowVersion), count(Step), count(StepTransition))

    for case, body, loc in _bad_versions(step_id, transition_id):
        response = new_version(api, flow.id, body)
        assert response.status_code == 422, case
        detail = response.get_json()["detail"]
        assert loc in [e["loc"] for e in detail], (case, detail)
        assert all({"loc", "msg", "type"} == set(e) for e in detail), case
        assert_conforms(response, "POST", "/flows/{flow_id}/versions")
    assert (count(FlowVersion), count(Step), count(StepTransition)) == before


def test_a_prompt_template_may_carry_any_other_keys(api):
    flow = make_flow(api.org, publish=False)
    chat = {"type": "chat", "messages": [{"role": "user", "content": "{{ inputs.q }}"}], "x": {"y": [1]}}
    body = {"steps": [{"name": "start", "step_type": "START", "prompt_template": chat}]}

    version = new_version(api, flow.id, body).get_json()

    assert version["steps"][0]["prompt_template"] == chat


def test_a_version_of_another_organisations_flow_is_404(api):
    foreign = make_flow(make_org("Other"))

    response = new_version(api, foreign.id)

    assert (response.status_code, response.get_json()) == (404, {"detail": "Flow not found"})
    assert count(FlowVersion) == 1
