"""/openapi.json: a valid OpenAPI 3.1 document that every real answer of every endpoint conforms to."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate

from tests.api.contract import assert_conforms, live_flow_schema
from tests.conftest import ApiClient
from tests.factories import graph, make_flow, make_org, make_session
from webapp.api.openapi import document

MISSING = "3c90c3cc-0d44-4b50-8888-8dd25736052a"
PAGE_PREFIXES = ("/ui", "/auth", "/static")


def test_the_document_is_valid_openapi_3_1_and_is_what_the_endpoint_serves(client):
    response = client.get("/openapi.json")

    assert response.status_code == 200
    assert response.get_json() == document()
    assert response.get_json()["openapi"].startswith("3.1")
    validate(response.get_json())


def test_every_api_route_is_documented_and_every_documented_path_is_routed(app):
    routed = set()
    for rule in app.url_map.iter_rules():
        path = rule.rule
        if path == "/" or path.startswith(PAGE_PREFIXES):
            continue
        template = path.replace("<", "{").replace(">", "}")
        routed |= {(template, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    documented = {(path, method) for path, item in document()["paths"].items() for method in item}

    assert routed == documented


def test_response_objects_carry_exactly_the_contracts_keys():
    components = document()["components"]["schemas"]
    contract = live_flow_schema()["$defs"]

    for name in ("LiveFlowRead", "FlowVersionRead", "StepRead", "StepTransitionRead", "SessionRead"):
        ours, theirs = components[name], contract[name]
        assert ours["additionalProperties"] is False, name
        assert list(ours["properties"]) == list(theirs["properties"]), name
        assert set(ours["required"]) == set(theirs["required"]), name
    flow_read = components["FlowRead"]
    assert set(flow_read["properties"]) == set(contract["LiveFlowRead"]["properties"]) - {"sessions"} | {
        "archived_at"
    }


def test_request_objects_refuse_unknown_fields_except_prompt_templates_and_inputs():
    components = document()["components"]["schemas"]

    for name in ("EmptyBody", "FlowCreate", "FlowUpdate", "FlowVersionCreate", "StepCreate", "SessionCreate"):
        assert components[name]["additionalProperties"] is False, name
    assert components["SessionPatch"]["additionalProperties"] is False
    assert components["StepTransitionCreate"]["additionalProperties"] is False
    assert components["PromptTemplate"]["additionalProperties"] is True
    assert components["SessionCreate"]["properties"]["inputs"]["additionalProperties"] is True


@pytest.fixture
def world(api, client):
    flow = make_flow(api.org, versions=2, loop=True)
    versions = api.get(f"/flows/{flow.id}/versions").get_json()
    sessions = {status: make_session(flow, status).id for status in ("NEW", "RUNNING", "COMPLETED")}
    for _ in range(3):
        make_session(flow, "FAILED", error="boom")
    return {
        "flow": flow.id,
        "old": versions[1]["id"],
        "sessions": sessions,
        "archived": make_flow(api.org, "archived", archived=True).id,
        "anon": ApiClient(client, None, api.org),
        "other_org": make_org("Other").id,
    }


def test_every_answer_of_every_endpoint_conforms_to_the_document(api, world):
    f, old, s = world["flow"], world["old"], world["sessions"]
    anon = world["anon"]
    big = {"data": b" " * (1024 * 1024 + 1), "content_type": "application/json"}
    text = {"data": b"{}", "content_type": "text/plain"}
    bad = {"data": b"{", "content_type": "application/json"}
    cases = [
        # (client, method, template, url, kwargs, status)
        (api, "GET", "/live_flows/", "/live_flows/?sessions_limit=2", {}, 200),
        (api, "GET", "/live_flows/", "/live_flows/?sessions_limit=-1", {}, 422),
        (anon, "GET", "/live_flows/", "/live_flows/", {}, 401),
        (api, "GET", "/live_flows/", "/live_flows/", {"headers": {"Current-Org-Id": "x"}}, 400),
        (
            api,
            "GET",
            "/live_flows/",
            "/live_flows/",
            {"headers": {"Current-Org-Id": world["other_org"]}},
            403,
        ),
        (api, "GET", "/live_flows/{flow_id}", f"/live_flows/{f}", {}, 200),
        (api, "GET", "/live_flows/{flow_id}", f"/live_flows/{MISSING}", {}, 404),
        (api, "GET", "/live_flows/{flow_id}", f"/live_flows/{f}?session_status=X", {}, 422),
        (api, "GET", "/live_flows/{flow_id}/sessions", f"/live_flows/{f}/sessions?limit=2", {}, 200),
        (api, "GET", "/live_flows/{flow_id}/sessions", f"/live_flows/{f}/sessions?before={MISSING}", {}, 422),
        (api, "POST", "/live_flows/{flow_id}/sessions", f"/live_flows/{f}/sessions", {"json": {}}, 201),
        (api, "POST", "/live_flows/{flow_id}/sessions", f"/live_flows/{f}/sessions", big, 413),
        (api, "POST", "/live_flows/{flow_id}/sessions", f"/live_flows/{f}/sessions", text, 415),
        (api, "POST", "/live_flows/{flow_id}/sessions", f"/live_flows/{f}/sessions", bad, 400),
        (api, "POST", "/live_flows/{flow_id}/sessions", f"/live_flows/{world['archived']}/sessions", {}, 409),
        (api, "GET", "/sessions/{session_id}", f"/sessions/{s['RUNNING']}", {}, 200),
        (api, "GET", "/sessions/{session_id}", f"/sessions/{MISSING}", {}, 404),
        (
            api,
            "PATCH",
            "/sessions/{session_id}",
            f"/sessions/{s['RUNNING']}",
            {"json": {"steps_count": 1}},
            200,
        ),
        (
            api,
            "PATCH",
            "/sessions/{session_id}",
            f"/sessions/{s['RUNNING']}",
            {"json": {"steps_count": 0}},
            422,
        ),
        (
            api,
            "PATCH",
            "/sessions/{session_id}",
            f"/sessions/{s['RUNNING']}",
            {"headers": {"If-Match": '"x"'}},
            412,
        ),
        (api, "PATCH", "/sessions/{session_id}", f"/sessions/{s['COMPLETED']}", {"json": {}}, 409),
        (api, "POST", "/sessions/{session_id}/run", f"/sessions/{s['NEW']}/run", {}, 202),
        (api, "POST", "/sessions/{session_id}/run", f"/sessions/{s['COMPLETED']}/run", {}, 409),
        (api, "GET", "/sessions/{session_id}/steps", f"/sessions/{s['COMPLETED']}/steps", {}, 200),
        (api, "POST", "/sessions/{session_id}/cancel", f"/sessions/{s['RUNNING']}/cancel", {}, 200),
        (api, "POST", "/sessions/{session_id}/cancel", f"/sessions/{s['RUNNING']}/cancel", {}, 409),
        (api, "POST", "/flows/", "/flows/", {"json": {"name": "n"}}, 201),
        (api, "POST", "/flows/", "/flows/", {"json": {"name": ""}}, 422),
        (api, "GET", "/flows/", "/flows/", {}, 200),
        (api, "GET", "/flows/", "/flows/?archived=true", {}, 200),
        (api, "GET", "/flows/{flow_id}", f"/flows/{world['archived']}", {}, 200),
        (api, "PATCH", "/flows/{flow_id}", f"/flows/{f}", {"json": {"description": "d"}}, 200),
        (api, "PATCH", "/flows/{flow_id}", f"/flows/{f}", {"json": {"name": None}}, 422),
        (api, "GET", "/flows/{flow_id}/versions", f"/flows/{f}/versions", {}, 200),
        (api, "GET", "/flows/{flow_id}/versions/{version_id}", f"/flows/{f}/versions/{old}", {}, 200),
        (api, "GET", "/flows/{flow_id}/versions/{version_id}", f"/flows/{f}/versions/{MISSING}", {}, 404),
        (api, "POST", "/flows/{flow_id}/versions", f"/flows/{f}/versions", {"json": graph("x")}, 201),
        (api, "POST", "/flows/{flow_id}/versions", f"/flows/{f}/versions", {"json": {"steps": []}}, 422),
        (
            api,
            "POST",
            "/flows/{flow_id}/versions",
            f"/flows/{world['archived']}/versions",
            {"json": graph()},
            409,
        ),
        (
            api,
            "POST",
            "/flows/{flow_id}/versions/{version_id}/publish",
            f"/flows/{f}/versions/{old}/publish",
            {},
            200,
        ),
        (api, "DELETE", "/flows/{flow_id}", f"/flows/{f}", {}, 204),
        (api, "DELETE", "/flows/{flow_id}", f"/flows/{MISSING}", {}, 404),
        (anon, "GET", "/healthz", "/healthz", {}, 200),
    ]
    covered = set()

    for client, method, template, url, kwargs, status in cases:
        response = client.open(method, url, **kwargs)
        assert response.status_code == status, (method, url, response.get_json())
        assert_conforms(response, method, template)
        covered.add((template, method.lower()))

    documented = {(path, method) for path, item in document()["paths"].items() for method in item}
    assert documented - covered == {("/openapi.json", "get")}
