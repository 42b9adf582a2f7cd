"""A small populated world for the cross-cutting security tests, and a way to see if the database moved."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests import factories
from webapp.extensions import db
from webapp.models import ApiKey, Membership, PersonalAccessToken

# Bookkeeping a read may stamp (at most once a minute per credential): not a state change a user makes.
BOOKKEEPING = {"last_used_at"}


@dataclass
class World:
    org: Any
    admin: Any
    flow: Any
    session: Any
    api_key: str
    token: str
    ids: dict[str, str]


@pytest.fixture
def world(app: Flask) -> World:
    org = factories.make_org("Acme")
    admin = factories.make_user("ada@example.com", (org,), role="admin")
    factories.make_user("bob@example.com", (org,), role="member")
    flow = factories.make_flow(org, "Triage", versions=2, steps=("ask", "answer"))
    session = factories.make_session(flow, "RUNNING", inputs={"q": "hi"}, steps_count=1)
    api_key = factories.make_api_key(org)
    token = factories.make_token(admin)
    ids = {
        "flow_id": flow.id,
        "version_id": flow.current_version_id,
        "session_id": session.id,
        "key_id": db.session.execute(select(ApiKey.id)).scalar_one(),
        "token_id": db.session.execute(select(PersonalAccessToken.id)).scalar_one(),
        "membership_id": str(
            db.session.execute(select(Membership.id).order_by(Membership.id.desc())).scalars().first()
        ),
    }
    return World(org, admin, flow, session, api_key, token, ids)


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Return every row of every table (bookkeeping columns left out)."""
    db.session.commit()
    db.session.expire_all()
    tables: dict[str, list[tuple[Any, ...]]] = {}
    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns if c.name not in BOOKKEEPING]
        rows = db.session.execute(select(*columns)).all()
        tables[table.name] = sorted((tuple(row) for row in rows), key=repr)
    return tables
