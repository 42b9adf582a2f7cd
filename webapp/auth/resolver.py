"""Resolve the request's credential and current organisation, exactly as API.md says."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, TypeVar

from flask import current_app, g, request, session
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from webapp.api.responses import ApiError
from webapp.auth.credentials import API_KEY_PREFIX, TOKEN_PREFIX, digest, matches
from webapp.database import begin_write
from webapp.domain.ids import is_org_id
from webapp.extensions import db
from webapp.models import ApiKey, Membership, PersonalAccessToken
from webapp.models.types import utcnow

F = TypeVar("F", bound=Callable[..., Any])
UNAUTHORIZED_HEADERS = {"WWW-Authenticate": "Bearer"}


@dataclass(frozen=True)
class Principal:
    """Who is asking, and for which organisation."""

    org_id: str
    kind: str  # "api_key" | "token" | "session"
    user_id: str | None = None
    credential_id: str | None = None


def unauthorized(detail: str = "Not authenticated") -> ApiError:
    """Return the 401 every missing or bad credential gets."""
    return ApiError(401, detail, dict(UNAUTHORIZED_HEADERS))


def current_principal() -> Principal:
    """Return the request's principal, resolving it once per request."""
    principal = g.get("principal")
    if principal is None:
        principal = g.principal = _resolve()
    return principal


def api_auth(view: F) -> F:
    """Require a credential and an organisation before the view runs."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        current_principal()
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _resolve() -> Principal:
    header_key = request.headers.get("Api-key")
    bearer = _bearer()
    if header_key is not None:
        return _with_api_key(header_key.strip())
    if bearer is not None:
        if bearer.startswith(TOKEN_PREFIX):
            return _with_token(bearer)
        return _with_api_key(bearer)
    user_id = session.get("user_id")
    if user_id:
        return _for_user(user_id, "session", None, session.get("org_id"))
    raise unauthorized()


def _bearer() -> str | None:
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise unauthorized("Invalid authorization header")
    return value.strip()


def _requested_org() -> str | None:
    value = request.headers.get("Current-Org-Id")
    if value is None:
        return None
    value = value.strip()
    if not is_org_id(value):
        raise ApiError(400, "Malformed Current-Org-Id header")
    return value


def _with_api_key(secret: str) -> Principal:
    if not secret.startswith(API_KEY_PREFIX):
        raise unauthorized("Invalid API key")
    key = db.session.execute(select(ApiKey).where(ApiKey.key_hash == digest(secret))).scalar_one_or_none()
    if key is None or key.revoked_at is not None or not matches(secret, key.key_hash):
        raise unauthorized("Invalid API key")
    principal = Principal(org_id=key.org_id, kind="api_key", credential_id=key.id)
    _touch(ApiKey, key.id, key.last_used_at)
    requested = _requested_org()
    if requested is not None and requested != principal.org_id:
        raise ApiError(403, "This API key does not belong to that organisation")
    return principal


def _with_token(secret: str) -> Principal:
    token = db.session.execute(
        select(PersonalAccessToken).where(PersonalAccessToken.token_hash == digest(secret))
    ).scalar_one_or_none()
    now = utcnow()
    if (
        token is None
        or not matches(secret, token.token_hash)
        or token.revoked_at is not None
        or (token.expires_at is not None and token.expires_at <= now)
    ):
        raise unauthorized("Invalid personal access token")
    token_id, user_id = token.id, token.user_id
    _touch(PersonalAccessToken, token_id, token.last_used_at)
    return _for_user(user_id, "token", token_id, None)


def _for_user(user_id: str, kind: str, credential_id: str | None, fallback_org: str | None) -> Principal:
    requested = _requested_org()
    orgs = user_org_ids(user_id)
    if requested is not None:
        if requested not in orgs:
            raise ApiError(403, "You are not a member of that organisation")
        org_id = requested
    elif fallback_org in orgs:
        org_id = fallback_org  # type: ignore[assignment]
    elif orgs:
        org_id = orgs[0]
    else:
        raise ApiError(403, "You are not a member of any organisation")
    return Principal(org_id=org_id, kind=kind, user_id=user_id, credential_id=credential_id)


def user_org_ids(user_id: str) -> list[str]:
    """Return the user's organisation ids, the default (oldest membership) first."""
    rows = db.session.execute(
        select(Membership.org_id).where(Membership.user_id == user_id).order_by(Membership.id)
    )
    return list(rows.scalars())


def _touch(model: Any, row_id: str, last_used_at: datetime | None) -> None:
    # Recorded at most once a minute per credential, so reads don't all become writes.
    now = utcnow()
    resolution = timedelta(seconds=int(current_app.config["API_KEY_LAST_USED_RESOLUTION_S"]))
    if last_used_at is not None and now - last_used_at < resolution:
        return
    db.session.commit()
    try:
        begin_write()
        db.session.execute(update(model).where(model.id == row_id).values(last_used_at=now))
        db.session.commit()
    except OperationalError:
        # Best effort: a busy database must not refuse the request over a usage stamp.
        db.session.rollback()
