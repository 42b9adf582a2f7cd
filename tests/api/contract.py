"""Helpers for contract tests: the shared JSON Schema, the OpenAPI document, SQL counting, DB snapshots."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from sqlalchemy import event, select

from webapp.api.openapi import document
from webapp.extensions import db

REPO = Path(__file__).resolve().parents[2]
# In CI the clone sits beside a copy of shared/; locally /work/main sits beside /work/shared.
CONTRACT = REPO.parent / "shared" / "contract"


@cache
def live_flow_schema() -> dict[str, Any]:
    """Return the contract's JSON Schema of GET /live_flows/."""
    return json.loads((CONTRACT / "live_flow_read.schema.json").read_text())


def contract_validator(definition: str | None = None) -> Draft202012Validator:
    """Return a validator for the whole response, or for one of the contract's $defs."""
    schema = live_flow_schema()
    if definition is not None:
        schema = {"$ref": f"#/$defs/{definition}", "$defs": schema["$defs"]}
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def assert_valid(validator: Draft202012Validator, data: Any) -> None:
    """Fail with every schema error, not only the first."""
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(data)]
    assert not errors, "\n".join(errors[:20])


def openapi_response_schema(method: str, template: str, status: int) -> dict[str, Any] | None:
    """Return the documented JSON schema of one answer (None when it has no body)."""
    doc = document()
    operation = doc["paths"][template][method.lower()]
    assert str(status) in operation["responses"], f"{method} {template} does not document {status}"
    response = operation["responses"][str(status)]
    content = response.get("content", {}).get("application/json")
    if content is None:
        return None
    # OpenAPI 3.1 schemas are JSON Schema 2020-12; carry the components so "#/components/..." resolves.
    return {**content["schema"], "components": doc["components"]}


def assert_conforms(response: Any, method: str, template: str) -> None:
    """Check an answer against the OpenAPI document: documented status, body schema and headers."""
    schema = openapi_response_schema(method, template, response.status_code)
    operation = document()["paths"][template][method.lower()]
    for header in operation["responses"][str(response.status_code)].get("headers", {}):
        if header != "Link":  # Link is documented as absent on the last page
            assert header in response.headers, f"{method} {template} {response.status_code}: no {header}"
    if schema is None:
        assert response.get_data() == b""
        return
    assert response.mimetype == "application/json"
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    assert_valid(validator, response.get_json())


@contextmanager
def count_statements() -> Iterator[list[str]]:
    """Collect the SQL statements the engine runs inside the block."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def snapshot() -> dict[str, list[tuple[str, ...]]]:
    """Return every row of every table, as text, in primary-key order."""
    db.session.commit()
    tables = {}
    for table in db.metadata.sorted_tables:
        rows = db.session.execute(select(table).order_by(*table.primary_key.columns)).all()
        tables[table.name] = [tuple(_text(v) for v in row) for row in rows]
    db.session.commit()
    return tables


def _text(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)  # JSONB reorders keys; compare content
    return repr(value)
