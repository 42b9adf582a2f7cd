"""The OpenAPI 3.1 document, built from the same pydantic models that validate and shape the API."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from webapp.domain import schemas as s
from webapp.domain.statuses import ALL_STATUSES

REF = "#/components/schemas/{model}"
REQUESTS: list[type[BaseModel]] = [
    s.EmptyBody,
    s.FlowCreate,
    s.FlowUpdate,
    s.FlowVersionCreate,
    s.SessionCreate,
    s.SessionPatch,
]
RESPONSES: list[type[BaseModel]] = [
    s.LiveFlowRead,
    s.FlowRead,
    s.FlowVersionRead,
    s.SessionRead,
    s.StepRunRead,
    s.HTTPError,
    s.HTTPValidationError,
    s.Health,
]


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _array(model: type[BaseModel]) -> dict[str, Any]:
    return {"type": "array", "items": _ref(model)}


def _json(schema: dict[str, Any], description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    content = {"application/json": {"schema": schema}}
    response: dict[str, Any] = {"description": description, "content": content}
    if headers:
        response["headers"] = headers
    return response


def _header(description: str) -> dict[str, Any]:
    return {"description": description, "schema": {"type": "string"}}


LOCATION = {"Location": _header("The new resource's path")}
ETAG = {"ETag": _header("The session's strong entity tag, for If-Match")}
ERROR_HEADERS = {
    "401": {"WWW-Authenticate": _header("Bearer")},
    "503": {"Retry-After": _header("Seconds to wait before retrying")},
}


ERRORS = {
    "401": "Missing, unknown, revoked or expired credential",
    "403": "Current-Org-Id names an organisation this credential may not use",
    "404": "Not found (or another organisation's)",
    "409": "The resource's state forbids this",
    "412": "If-Match does not match the current ETag",
    "413": "Body larger than 1 MiB",
    "415": "Body is not application/json",
    "400": "Malformed JSON or Current-Org-Id",
    "503": "Database busy or down; see Retry-After",
}

UUID_PATH = {"type": "string", "format": "uuid"}


def _path_param(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": UUID_PATH}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


STATUS_ARRAY = {"type": "array", "items": {"type": "string", "enum": list(ALL_STATUSES)}}
HEADERS = [
    {
        "name": "Current-Org-Id",
        "in": "header",
        "required": False,
        "schema": {"type": "string"},
        "description": "The organisation to act in (example: org_u13TesTDumMyEe5P)",
    },
]
IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
    "description": "An ETag of the session; a stale one is 412",
}
IDEMPOTENCY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
    "description": "Replays the first answer to the same key and body within 24 hours",
}


def _op(
    summary: str,
    ok: tuple[str, dict[str, Any] | None, str],
    *,
    body: type[BaseModel] | None = None,
    params: list[dict[str, Any]] | None = None,
    errors: tuple[str, ...] = ("404",),
    public: bool = False,
    headers: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Describe one operation; every authenticated one may answer 400, 401, 403 and 503."""
    code, schema, description = ok
    responses: dict[str, Any] = {code: _json(schema, description) if schema else {"description": description}}
    if headers:
        responses[code]["headers"] = headers
    all_errors = set(errors) | ({"503"} if public else {"400", "401", "403", "503"})
    for err in sorted(all_errors):
        responses[err] = _json(_ref(s.HTTPError), ERRORS[err], ERROR_HEADERS.get(err))
    if body is not None or any(p["in"] == "query" or p is IDEMPOTENCY for p in params or []):
        responses["422"] = _json(_ref(s.HTTPValidationError), "Validation error")
    op: dict[str, Any] = {"summary": summary, "responses": responses}
    op["parameters"] = (params or []) + ([] if public else HEADERS)
    if body is not None:
        op["requestBody"] = {"required": False, "content": {"application/json": {"schema": _ref(body)}}}
    if public:
        op["security"] = []
    return op


def _paths() -> dict[str, Any]:
    flow_id, version_id, session_id = (_path_param(n) for n in ("flow_id", "version_id", "session_id"))
    live_params = [
        _query(
            "sessions_limit",
            {"type": "integer", "minimum": 0, "maximum": 1000, "default": 100},
            "How many of each flow's newest sessions to embed",
        ),
        _query("session_status", STATUS_ARRAY, "Only embed sessions in these statuses"),
        _query("q", {"type": "string", "maxLength": 200}, "Flow name contains (case-insensitive)"),
    ]
    page_params = [
        _query("status", STATUS_ARRAY, "Only these statuses"),
        _query("limit", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}, "Page size"),
        _query("before", {"type": "string", "format": "uuid"}, "The page after this session of the flow"),
    ]
    write = ("404", "409", "413", "415")
    link = {"Link": _header('The next page: <...>; rel="next" (absent on the last page)')}
    return {
        "/live_flows/": {
            "get": _op(
                "List live flows",
                ("200", _array(s.LiveFlowRead), "Live flows, newest first"),
                params=live_params,
                errors=(),
            )
        },
        "/live_flows/{flow_id}": {
            "get": _op(
                "Get a live flow",
                ("200", _ref(s.LiveFlowRead), "The live flow"),
                params=[flow_id, *live_params],
            )
        },
        "/live_flows/{flow_id}/sessions": {
            "get": _op(
                "List a live flow's sessions",
                ("200", _array(s.SessionRead), "Newest first"),
                params=[flow_id, *page_params],
                headers=link,
            ),
            "post": _op(
                "Start a session",
                ("201", _ref(s.SessionRead), "The new session"),
                body=s.SessionCreate,
                params=[flow_id, IDEMPOTENCY],
                errors=write,
                headers={**LOCATION, **ETAG},
            ),
        },
        "/sessions/{session_id}": {
            "get": _op(
                "Get a session",
                ("200", _ref(s.SessionRead), "The session"),
                params=[session_id],
                headers=ETAG,
            ),
            "patch": _op(
                "Report a session's progress",
                ("200", _ref(s.SessionRead), "The changed session"),
                body=s.SessionPatch,
                params=[session_id, IF_MATCH],
                errors=(*write, "412"),
                headers=ETAG,
            ),
        },
        "/sessions/{session_id}/run": {
            "post": _op(
                "Run a NEW session with the built-in runner",
                ("202", _ref(s.SessionRead), "Queued"),
                body=s.EmptyBody,
                params=[session_id, IF_MATCH],
                errors=(*write, "412"),
                headers=ETAG,
            )
        },
        "/sessions/{session_id}/cancel": {
            "post": _op(
                "Cancel a session",
                ("200", _ref(s.SessionRead), "The cancelled session"),
                body=s.EmptyBody,
                params=[session_id, IF_MATCH],
                errors=(*write, "412"),
                headers=ETAG,
            )
        },
        "/sessions/{session_id}/steps": {
            "get": _op(
                "List a session's step runs",
                ("200", _array(s.StepRunRead), "Step runs in order"),
                params=[session_id],
            )
        },
        "/flows/": {
            "get": _op(
                "List flows",
                ("200", _array(s.FlowRead), "Live and draft flows (or only the archived ones), newest first"),
                params=[_query("archived", {"type": "boolean", "default": False}, "Archived flows only")],
                errors=(),
            ),
            "post": _op(
                "Create a flow",
                ("201", _ref(s.FlowRead), "The new flow"),
                body=s.FlowCreate,
                params=[IDEMPOTENCY],
                errors=("409", "413", "415"),
                headers=LOCATION,
            ),
        },
        "/flows/{flow_id}": {
            "get": _op("Get a flow", ("200", _ref(s.FlowRead), "The flow"), params=[flow_id]),
            "patch": _op(
                "Change a flow",
                ("200", _ref(s.FlowRead), "The changed flow"),
                body=s.FlowUpdate,
                params=[flow_id],
                errors=("404", "413", "415"),
            ),
            "delete": _op("Archive a flow (idempotent)", ("204", None, "Archived"), params=[flow_id]),
        },
        "/flows/{flow_id}/versions": {
            "get": _op(
                "List a flow's versions", ("200", _array(s.FlowVersionRead), "Newest first"), params=[flow_id]
            ),
            "post": _op(
                "Create a version",
                ("201", _ref(s.FlowVersionRead), "The new version"),
                body=s.FlowVersionCreate,
                params=[flow_id],
                errors=write,
                headers=LOCATION,
            ),
        },
        "/flows/{flow_id}/versions/{version_id}": {
            "get": _op(
                "Get a version", ("200", _ref(s.FlowVersionRead), "The version"), params=[flow_id, version_id]
            )
        },
        "/flows/{flow_id}/versions/{version_id}/publish": {
            "post": _op(
                "Publish a version (roll forward or back)",
                ("200", _ref(s.FlowRead), "The flow"),
                body=s.EmptyBody,
                params=[flow_id, version_id],
                errors=write,
            )
        },
        "/healthz": {"get": _op("Health", ("200", _ref(s.Health), "App and database answer"), public=True)},
        "/openapi.json": {
            "get": {
                "summary": "This document",
                "security": [],
                "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {}}}},
            }
        },
    }


@cache
def document() -> dict[str, Any]:
    """Return the OpenAPI document (built once; the schemas do not change at run time)."""
    pairs = [(m, "validation") for m in REQUESTS] + [(m, "serialization") for m in RESPONSES]
    _, defs = models_json_schema(pairs, ref_template=REF)  # type: ignore[arg-type]
    components = defs.get("$defs", {})
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Live Flows",
            "version": "1.0.0",
            "description": "Live LLM flows, their versions and sessions. See API.md.",
        },
        "paths": _paths(),
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "API key (lfk_…) or personal access token (lfp_…)",
                },
                "apiKey": {"type": "apiKey", "in": "header", "name": "Api-key"},
            },
        },
        "security": [{"bearer": []}, {"apiKey": []}],
    }
