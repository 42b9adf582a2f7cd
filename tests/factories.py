"""make_* data helpers: build organisations, credentials, flows and sessions for tests."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from webapp.auth.credentials import API_KEY_PREFIX, TOKEN_PREFIX, make_secret
from webapp.domain.ids import new_org_id
from webapp.domain.schemas import FlowCreate, FlowVersionCreate
from webapp.extensions import db
from webapp.models import ApiKey, Flow, Membership, Organisation, PersonalAccessToken, Session, User
from webapp.models.types import utcnow
from webapp.services import flows as flow_service
from webapp.services import sessions as session_service


def make_org(name: str = "Acme") -> Organisation:
    """Create an organisation."""
    org = Organisation(id=new_org_id(), name=name)
    db.session.add(org)
    db.session.commit()
    return org


def make_api_key(org: Organisation, name: str = "test") -> str:
    """Create an API key for `org` and return the secret."""
    new = make_secret(API_KEY_PREFIX)
    db.session.add(ApiKey(org_id=org.id, name=name, prefix=new.prefix, last4=new.last4, key_hash=new.digest))
    db.session.commit()
    return new.secret


def make_user(
    email: str = "ada@example.com", orgs: tuple[Organisation, ...] = (), role: str = "member"
) -> User:
    """Create a user who is a member of `orgs` (the first is their default)."""
    user = User(
        email=email, name=email.split("@")[0].title(), issuer="https://idp.test", sub=str(uuid.uuid4())
    )
    db.session.add(user)
    db.session.flush()
    for org in orgs:
        db.session.add(Membership(user_id=user.id, org_id=org.id, role=role))
        db.session.flush()
    db.session.commit()
    return user


def make_token(user: User, expires_in: timedelta | None = timedelta(days=30)) -> str:
    """Create a personal access token for `user` and return the secret."""
    new = make_secret(TOKEN_PREFIX)
    expires_at = None if expires_in is None else utcnow() + expires_in
    db.session.add(
        PersonalAccessToken(
            user_id=user.id,
            name="test",
            prefix=new.prefix,
            last4=new.last4,
            token_hash=new.digest,
            expires_at=expires_at,
        )
    )
    db.session.commit()
    return new.secret


def graph(*names: str, loop: bool = False) -> dict[str, Any]:
    """Return a version body: START, then PROMPT steps named `names`, then END; optionally a loop."""
    steps = [
        {"id": str(uuid.uuid4()), "name": "start", "step_type": "START", "prompt_template": {"type": "text"}}
    ]
    for name in names:
        steps.append(
            {
                "id": str(uuid.uuid4()),
                "name": name,
                "step_type": "PROMPT",
                "prompt_template": {"type": "text", "template": f"Do {name}: {{{{ inputs }}}}"},
            }
        )
    steps.append(
        {"id": str(uuid.uuid4()), "name": "end", "step_type": "END", "prompt_template": {"type": "text"}}
    )
    transitions = [
        {"id": str(uuid.uuid4()), "source_step_id": a["id"], "target_step_id": b["id"], "label": None}
        for a, b in zip(steps, steps[1:], strict=False)
    ]
    if loop and len(steps) > 2:
        transitions.append(
            {
                "id": str(uuid.uuid4()),
                "source_step_id": steps[-2]["id"],
                "target_step_id": steps[1]["id"],
                "label": "again",
            }
        )
    return {"steps": steps, "step_transitions": transitions}


def make_flow(
    org: Organisation,
    name: str = "Triage",
    *,
    description: str | None = "A test flow",
    versions: int = 1,
    steps: tuple[str, ...] = ("ask",),
    loop: bool = False,
    publish: bool = True,
    archived: bool = False,
) -> Flow:
    """Create a flow with `versions` versions (the last published unless publish=False)."""
    flow = flow_service.create_flow(org.id, FlowCreate(name=name, description=description))
    for _ in range(versions):
        body = FlowVersionCreate.model_validate({**graph(*steps, loop=loop), "publish": publish})
        flow_service.create_version(flow, body)
    if archived:
        flow_service.archive_flow(flow)
    db.session.commit()
    return flow


def make_session(
    flow: Flow,
    status: str = "NEW",
    *,
    inputs: dict[str, Any] | None = None,
    steps_count: int = 0,
    error: str | None = None,
    version_id: str | None = None,
    run: bool = False,
) -> Session:
    """Create a session of the flow (its current version unless named) in `status`."""
    session = session_service.start_session(flow, version_id, inputs or {}, run=run)
    if status != "NEW":
        session_service.set_status(session, status)
    session.steps_count = steps_count
    session.error = error
    db.session.commit()
    return session
