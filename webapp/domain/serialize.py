"""The seed's JSON shapes, produced in one place for the API, the exports and the tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from webapp.domain.schemas import FlowVersionRead, format_timestamp


def version_doc(
    version_id: str,
    flow_id: str,
    created_at: datetime,
    steps: list[dict[str, Any]],
    transitions: list[dict[str, Any]],
) -> str:
    """Return a version's FlowVersionRead JSON; versions are immutable, so it is written once."""
    doc = FlowVersionRead.model_validate(
        {
            "id": version_id,
            "flow_id": flow_id,
            "steps": [{**s, "created_at": created_at, "updated_at": created_at} for s in steps],
            "step_transitions": transitions,
            "created_at": created_at,
            "updated_at": created_at,
        }
    )
    return doc.model_dump_json()


def fragment(doc: str | None) -> orjson.Fragment | None:
    """Wrap stored JSON so orjson splices it without parsing it again."""
    return None if doc is None else orjson.Fragment(doc)


def session_json(
    *,
    id: str,
    steps_count: int,
    inputs: dict[str, Any],
    error: str | None,
    status: str,
    version_doc: str,
    created_at: datetime,
    updated_at: datetime,
) -> dict[str, Any]:
    """Return a SessionRead."""
    return {
        "id": id,
        "steps_count": steps_count,
        "inputs": inputs,
        "error": error,
        "status": status,
        "flow_version": orjson.Fragment(version_doc),
        "created_at": format_timestamp(created_at),
        "updated_at": format_timestamp(updated_at),
    }


def session_read(session: Any, version_doc: str) -> dict[str, Any]:
    """Return the SessionRead of a Session, or of a row with the same columns, run on `version_doc`."""
    return session_json(
        id=session.id,
        steps_count=session.steps_count,
        inputs=session.inputs,
        error=session.error,
        status=session.status,
        version_doc=version_doc,
        created_at=session.created_at,
        updated_at=session.updated_at,
    )


def flow_json(
    *,
    id: str,
    org_id: str,
    name: str,
    description: str | None,
    version_doc: str | None,
    created_at: datetime,
    updated_at: datetime,
    sessions: list[dict[str, Any]] | None = None,
    archived_at: datetime | None = None,
) -> dict[str, Any]:
    """Return a LiveFlowRead when `sessions` is given, else a FlowRead."""
    data: dict[str, Any] = {
        "name": name,
        "description": description,
        "id": id,
        "organisation_id": org_id,
        "current_version": fragment(version_doc),
    }
    if sessions is not None:
        data["sessions"] = sessions
    data["created_at"] = format_timestamp(created_at)
    data["updated_at"] = format_timestamp(updated_at)
    if sessions is None:
        data["archived_at"] = None if archived_at is None else format_timestamp(archived_at)
    return data


def etag(session_id: str, revision: int) -> str:
    """Return a session's strong ETag."""
    return f'"{session_id}.{revision}"'
