"""CSV and JSON exports of a flow's filtered sessions, streamed row by row from a server-side cursor."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from typing import Any

import orjson
from flask import Response, abort, request, stream_with_context

from webapp.auth.browser import page_auth, page_viewer
from webapp.domain.ids import is_uuid
from webapp.domain.serialize import session_read
from webapp.domain.statuses import ACTIVE, ALL_STATUSES
from webapp.extensions import db
from webapp.pages import iso
from webapp.sessions import bp
from webapp.sessions import queries as sq

# Rows fetched per round trip; only this many are in memory at once (yield_per = server-side cursor on PG).
BATCH = 500
CSV_COLUMNS = (
    "id",
    "status",
    "version",
    "steps_count",
    "created_at",
    "started_at",
    "finished_at",
    "updated_at",
    "error",
    "output",
    "inputs",
)


def _rows(flow_id: str) -> tuple[str, Iterator[Any]]:
    """Check the flow, then return its name and an iterator over its filtered sessions."""
    viewer = page_viewer()
    name = db.session.execute(sq.export_flow(viewer.org_id, flow_id)).scalar() if is_uuid(flow_id) else None
    if name is None:
        abort(404, "There is no such flow in this organisation.")
    status = request.args.get("status", "").upper()
    statuses = sorted(ACTIVE) if status == "ACTIVE" else [status] if status in ALL_STATUSES else []
    version = request.args.get("sv", "")
    query = sq.export_rows(viewer.org_id, flow_id, statuses, version if is_uuid(version) else None)
    result = db.session.execute(query.execution_options(yield_per=BATCH))
    return name, iter(result)


def _download(name: str, ext: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in name.lower()).strip("-") or "flow"
    return f'attachment; filename="{safe}-sessions.{ext}"'


def _export(
    flow_id: str, ext: str, mimetype: str, write: Callable[[Iterator[Any]], Iterator[Any]]
) -> Response:
    """Stream the flow's filtered sessions, written by `write`, as a download."""
    name, rows = _rows(flow_id)
    return Response(
        stream_with_context(write(rows)),
        mimetype=mimetype,
        headers={"Content-Disposition": _download(name, ext), "Cache-Control": "no-store"},
    )


@bp.get("/ui/flows/<flow_id>/sessions.csv")
@page_auth
def export_csv(flow_id: str) -> Response:
    """Stream the flow's filtered sessions as CSV (one line per session, inputs as JSON)."""
    return _export(flow_id, "csv", "text/csv", _csv)


@bp.get("/ui/flows/<flow_id>/sessions.json")
@page_auth
def export_json(flow_id: str) -> Response:
    """Stream the flow's filtered sessions as a JSON array of SessionRead objects (the API's shape)."""
    return _export(flow_id, "json", "application/json", _json)


def _csv(rows: Iterator[Any]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for i, r in enumerate(rows, start=1):
        writer.writerow(
            (
                r.id,
                r.status,
                r.version_number,
                r.steps_count,
                iso(r.created_at),
                iso(r.started_at),
                iso(r.finished_at),
                iso(r.updated_at),
                r.error or "",
                r.output or "",
                json.dumps(r.inputs, ensure_ascii=False, separators=(",", ":")),
            )
        )
        if i % 100 == 0:
            yield _drain(buffer)
    yield _drain(buffer)


def _json(rows: Iterator[Any]) -> Iterator[bytes]:
    yield b"["
    for i, r in enumerate(rows):
        yield (b",\n" if i else b"\n") + orjson.dumps(session_read(r, r.doc))
    yield b"\n]\n"


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
