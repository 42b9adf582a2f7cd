"""API.md "Limits and bad input": sizes, content types, malformed JSON, unknown fields, check order."""

from __future__ import annotations

import io
import json

import pytest

from tests.api.contract import assert_conforms, snapshot
from tests.factories import graph, make_flow, make_org, make_session

MIB = 1024 * 1024
MISSING = "3c90c3cc-0d44-4b50-8888-8dd25736052a"


def padded(size: int) -> bytes:
    """A JSON body of exactly `size` bytes: {"inputs": {"pad": "xxx…"}}."""
    shell = b'{"inputs": {"pad": ""}}'
    body = shell.replace(b'""', b'"' + b"x" * (size - len(shell)) + b'"')
    assert len(body) == size
    json.loads(body)
    return body


def assert_fastapi_422(response, loc=None) -> None:
    assert response.status_code == 422
    detail = response.get_json()["detail"]
    assert isinstance(detail, list) and detail
    for item in detail:
        assert set(item) == {"loc", "msg", "type"}
        assert isinstance(item["loc"], list) and item["loc"][0] in ("body", "query", "header")
        assert isinstance(item["msg"], str) and isinstance(item["type"], str)
    if loc is not None:
        assert loc in [item["loc"] for item in detail], detail


@pytest.fixture
def flow(api):
    return make_flow(api.org)


# ---- size --------------------------------------------------------------------------------------


def test_a_body_of_exactly_one_mebibyte_is_accepted(api, flow):
    response = api.post(f"/live_flows/{flow.id}/sessions", data=padded(MIB), content_type="application/json")

    assert response.status_code == 201
    assert len(response.get_json()["inputs"]["pad"]) == MIB - len(b'{"inputs": {"pad": ""}}')


def test_a_body_one_byte_over_a_mebibyte_is_413_and_creates_nothing(api, flow):
    api.get("/flows/")  # stamp the key's last use now, so the snapshot below stays still
    before = snapshot()

    response = api.post(
        f"/live_flows/{flow.id}/sessions", data=padded(MIB + 1), content_type="application/json"
    )

    assert response.status_code == 413
    assert isinstance(response.get_json()["detail"], str)
    assert snapshot() == before
    assert_conforms(response, "POST", "/live_flows/{flow_id}/sessions")


def test_a_streamed_body_without_content_length_is_cut_at_a_mebibyte(api, flow):
    def send(size):
        return api.post(
            f"/live_flows/{flow.id}/sessions",
            input_stream=io.BytesIO(padded(size)),
            headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
            environ_overrides={"wsgi.input_terminated": True},
        )

    assert send(MIB + 1).status_code == 413
    assert send(MIB).status_code == 201


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/flows/"),
        ("PATCH", "/flows/{flow}"),
        ("POST", "/flows/{flow}/versions"),
        ("PATCH", "/sessions/{s}"),
    ],
)
def test_every_body_taking_endpoint_refuses_more_than_a_mebibyte(api, flow, method, path):
    session = make_session(flow, "RUNNING")

    response = api.open(
        method,
        path.format(flow=flow.id, s=session.id),
        data=b" " * (MIB + 1),
        content_type="application/json",
    )

    assert response.status_code == 413


# ---- content type, malformed JSON, empty bodies -------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None],
)
def test_a_body_that_is_not_json_is_415(api, content_type):
    headers = {"Content-Type": content_type} if content_type else {}

    response = api.post("/flows/", data=b'{"name": "x"}', headers=headers)

    assert response.status_code == 415
    assert isinstance(response.get_json()["detail"], str)


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "application/merge-patch+json"])
def test_json_content_types_with_parameters_or_suffixes_are_accepted(api, content_type):
    response = api.post("/flows/", data=b'{"name": "x"}', headers={"Content-Type": content_type})

    assert response.status_code == 201


@pytest.mark.parametrize(
    "raw", [b"{", b'{"name": "x",}', b"{'name': 'x'}", b"NaN", b'{"name": "x"} trailing', b"\xff\xfe"]
)
def test_malformed_json_is_400(api, raw):
    response = api.post("/flows/", data=raw, content_type="application/json")

    assert response.status_code == 400
    assert isinstance(response.get_json()["detail"], str)


@pytest.mark.parametrize("raw", [b"[]", b'"name"', b"null", b"42"])
def test_json_that_is_not_an_object_is_422_at_body(api, raw):
    assert_fastapi_422(api.post("/flows/", data=raw, content_type="application/json"), ["body"])


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/json", "application/octet-stream"])
def test_an_empty_body_is_an_empty_object_whatever_its_content_type(api, flow, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    versions = api.get(f"/flows/{flow.id}/versions").get_json()
    session = make_session(flow, "RUNNING")

    create = api.post("/flows/", headers=headers)
    publish = api.post(f"/flows/{flow.id}/versions/{versions[0]['id']}/publish", headers=headers)
    start = api.post(f"/live_flows/{flow.id}/sessions", headers=headers, data=b"")
    cancel = api.post(f"/sessions/{session.id}/cancel", headers=headers)

    assert_fastapi_422(create, ["body", "name"])  # {} lacks the required name
    assert (publish.status_code, start.status_code, cancel.status_code) == (200, 201, 200)


# ---- unknown fields -----------------------------------------------------------------------------


def test_unknown_fields_are_refused_at_every_level_of_the_projects_objects(api, flow):
    session = make_session(flow, "RUNNING")
    versions = api.get(f"/flows/{flow.id}/versions").get_json()
    body = graph("ask")
    nested_step = {**body, "steps": [{**body["steps"][0], "x": 1}, *body["steps"][1:]]}
    nested_transition = {**body, "step_transitions": [{**body["step_transitions"][0], "x": 1}]}
    cases = [
        ("POST", "/flows/", {"name": "n", "x": 1}, ["body", "x"]),
        ("PATCH", f"/flows/{flow.id}", {"x": 1}, ["body", "x"]),
        ("POST", f"/flows/{flow.id}/versions", {**body, "x": 1}, ["body", "x"]),
        ("POST", f"/flows/{flow.id}/versions", nested_step, ["body", "steps", 0, "x"]),
        ("POST", f"/flows/{flow.id}/versions", nested_transition, ["body", "step_transitions", 0, "x"]),
        ("POST", f"/flows/{flow.id}/versions/{versions[0]['id']}/publish", {"x": 1}, ["body", "x"]),
        ("POST", f"/live_flows/{flow.id}/sessions", {"x": 1}, ["body", "x"]),
        ("PATCH", f"/sessions/{session.id}", {"x": 1}, ["body", "x"]),
        ("POST", f"/sessions/{session.id}/cancel", {"x": 1}, ["body", "x"]),
    ]
    before = snapshot()

    for method, path, payload, loc in cases:
        response = api.open(method, path, json=payload)
        assert_fastapi_422(response, loc)
        assert response.get_json()["detail"][0]["type"] == "extra_forbidden"

    assert snapshot() == before


def test_inputs_and_prompt_templates_take_any_keys(api, flow):
    body = graph("ask")
    body["steps"][1]["prompt_template"] = {"type": "text", "template": "t", "anything": {"x": 1}}

    assert api.post(f"/flows/{flow.id}/versions", json=body).status_code == 201
    assert api.post(f"/live_flows/{flow.id}/sessions", json={"inputs": {"x": {"y": 1}}}).status_code == 201


@pytest.mark.parametrize(
    ("path", "payload", "loc"),
    [
        ("/flows/", {"name": "a\u0000b"}, ["body", "name"]),
        ("/live_flows/{flow}/sessions", {"inputs": {"k": ["ok", "\u0000"]}}, ["body", "inputs", "k", 1]),
        ("/live_flows/{flow}/sessions", {"inputs": {"\u0000": 1}}, ["body", "inputs", "\u0000"]),
    ],
)
def test_nul_characters_are_422_on_every_database(api, flow, path, payload, loc):
    # PostgreSQL text and JSONB cannot store U+0000; SQLite could, so both refuse it alike.
    assert_fastapi_422(api.post(path.format(flow=flow.id), json=payload), loc)


@pytest.mark.parametrize("query", ["q=a%00b", "q=" + "x" * 201])
def test_a_bad_q_is_422(api, query):
    assert_fastapi_422(api.get(f"/live_flows/?{query}"), ["query", "q"])


# ---- the order of the checks --------------------------------------------------------------------


def test_checks_run_in_the_contracts_order(api, client, flow):
    session = make_session(flow, "COMPLETED")
    api.get("/flows/")  # stamp the key's last use now, so the snapshot below stays still
    stale = {"If-Match": '"stale"'}
    huge = {"data": b" " * (MIB + 1), "content_type": "application/json"}
    bad = {"data": b"{", "content_type": "application/json"}
    foreign_org = make_org("Other").id
    anon = type(api)(client, None, api.org)
    before = snapshot()

    def status(client_, method, path, headers=None, **kwargs):
        return client_.open(method, path, headers=headers or {}, **kwargs).status_code

    s = f"/sessions/{session.id}"
    missing = f"/sessions/{MISSING}"
    # 401 before everything: the malformed org, the missing resource, the stale ETag and the bad body.
    assert status(anon, "PATCH", missing, {**stale, "Current-Org-Id": "bad"}, **huge) == 401
    # 400/403 (organisation) before 404.
    assert status(api, "PATCH", missing, {**stale, "Current-Org-Id": "bad"}, **huge) == 400
    assert status(api, "PATCH", missing, {**stale, "Current-Org-Id": foreign_org}, **huge) == 403
    # 404 before 412 and the body.
    assert status(api, "PATCH", missing, stale, **huge) == 404
    # 412 before the body.
    assert status(api, "PATCH", s, stale, **huge) == 412
    assert status(api, "PATCH", s, stale, **bad) == 412
    # The body (413, then 415, then 400, then 422) before the state rules (409 for a final session).
    assert status(api, "PATCH", s, data=b" " * (MIB + 1), content_type="text/plain") == 413
    assert status(api, "PATCH", s, data=b"{", content_type="text/plain") == 415
    assert status(api, "PATCH", s, **bad) == 400
    assert status(api, "PATCH", s, json={"status": "SOMETHING"}) == 422
    assert status(api, "PATCH", s, json={"status": "RUNNING"}) == 409
    assert status(api, "POST", f"{s}/cancel", json={"x": 1}) == 422
    assert status(api, "POST", f"{s}/cancel") == 409
    # POST /live_flows/{id}/sessions: 404 before the body, the body before 409.
    archived = make_flow(api.org, "archived", archived=True)
    before = snapshot()
    assert status(api, "POST", f"/live_flows/{MISSING}/sessions", **bad) == 404
    assert status(api, "POST", f"/live_flows/{MISSING}/sessions", {"Idempotency-Key": "k"}, **bad) == 404
    assert status(api, "POST", f"/live_flows/{archived.id}/sessions", json={"inputs": 1}) == 422
    assert status(api, "POST", f"/live_flows/{archived.id}/sessions", json={}) == 409
    assert snapshot() == before


def test_a_battery_of_refused_requests_changes_nothing(api, client, flow):
    live = make_session(flow, "RUNNING", steps_count=2)
    final = make_session(flow, "FAILED")
    draft = make_flow(api.org, "draft", publish=False)
    archived = make_flow(api.org, "archived", archived=True)
    versions = api.get(f"/flows/{flow.id}/versions").get_json()
    anon = type(api)(client, None, api.org)
    refused = [
        (anon, "POST", "/flows/", {"json": {"name": "x"}}),
        (api, "POST", "/flows/", {"json": {"name": ""}}),
        (
            api,
            "POST",
            "/flows/",
            {"json": {"name": "x"}, "headers": {"Current-Org-Id": "org_u13TesTDumMyEe5P"}},
        ),
        (api, "POST", "/flows/", {"data": b"{", "content_type": "application/json"}),
        (api, "POST", "/flows/", {"data": b'{"name": "x"}', "content_type": "text/plain"}),
        (api, "POST", "/flows/", {"data": padded(MIB + 1), "content_type": "application/json"}),
        (api, "PATCH", f"/flows/{flow.id}", {"json": {"name": None}}),
        (api, "DELETE", f"/flows/{MISSING}", {}),
        (api, "POST", f"/flows/{flow.id}/versions", {"json": {"steps": []}}),
        (api, "POST", f"/flows/{archived.id}/versions", {"json": graph("x")}),
        (api, "POST", f"/flows/{flow.id}/versions/{MISSING}/publish", {}),
        (api, "POST", f"/flows/{archived.id}/versions/{versions[0]['id']}/publish", {}),
        (api, "POST", f"/live_flows/{draft.id}/sessions", {"json": {}}),
        (api, "POST", f"/live_flows/{archived.id}/sessions", {"json": {}}),
        (api, "POST", f"/live_flows/{flow.id}/sessions", {"json": {"flow_version_id": MISSING}}),
        (
            api,
            "POST",
            f"/live_flows/{flow.id}/sessions",
            {"json": {"inputs": "x"}, "headers": {"Idempotency-Key": "a"}},
        ),
        (api, "PATCH", f"/sessions/{live.id}", {"json": {"steps_count": 1}}),
        (api, "PATCH", f"/sessions/{live.id}", {"json": {"status": "NEW"}}),
        (
            api,
            "PATCH",
            f"/sessions/{live.id}",
            {"json": {"status": "COMPLETED"}, "headers": {"If-Match": '"x"'}},
        ),
        (api, "PATCH", f"/sessions/{final.id}", {"json": {}}),
        (api, "POST", f"/sessions/{final.id}/cancel", {}),
        (api, "POST", f"/sessions/{final.id}/run", {}),
    ]
    api.get("/flows/")  # stamp the key's last use now
    before = snapshot()

    statuses = [c.open(method, path, **kwargs).status_code for c, method, path, kwargs in refused]

    assert all(400 <= s < 500 for s in statuses), statuses
    assert snapshot() == before


def test_an_unknown_path_is_a_json_404_and_a_wrong_method_a_json_405(api):
    missing = api.get("/nothing/here")
    wrong = api.open("PUT", "/live_flows/")

    assert (missing.status_code, missing.get_json()) == (404, {"detail": "Not Found"})
    assert (wrong.status_code, wrong.get_json()) == (405, {"detail": "Method Not Allowed"})
    assert "GET" in wrong.headers["Allow"]


def nested(levels: int) -> bytes:
    """A session body whose deepest JSON container sits `levels` levels down (the body itself is 1)."""
    lists = levels - 3  # the body, inputs and inputs.a are the first three levels
    return b'{"inputs": {"a": ' + b"[" * (lists + 1) + b"]" * (lists + 1) + b"}}"


def test_json_nested_64_levels_is_accepted_and_65_is_422(api, flow):
    path = f"/live_flows/{flow.id}/sessions"

    deep_enough = api.post(path, data=nested(64), content_type="application/json")
    too_deep = api.post(path, data=nested(65), content_type="application/json")
    far_too_deep = api.post(path, data=nested(5000), content_type="application/json")

    assert deep_enough.status_code == 201
    assert_fastapi_422(too_deep)
    assert len(too_deep.get_json()["detail"][0]["loc"]) == 65
    assert far_too_deep.status_code in (400, 422)  # the parser's own limit, or ours: never a 500
