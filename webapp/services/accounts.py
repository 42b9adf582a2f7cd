"""Members, API keys and personal access tokens: the rules, shared by the settings pages and the CLI.

Services flush; callers commit.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TypeVar

from sqlalchemy import Select, func, select

from webapp.auth.credentials import API_KEY_PREFIX, TOKEN_PREFIX, NewSecret, make_secret
from webapp.domain.errors import ApiError
from webapp.extensions import db
from webapp.models import ApiKey, Membership, PersonalAccessToken, User
from webapp.models.types import utcnow

ROLES = ("admin", "member")
TOKEN_LIFETIMES_DAYS = (7, 30, 90, 365)
NAME_MAX = 200
# Deliberately loose: the identity provider is the judge of addresses; this only catches typos.
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
Credential = TypeVar("Credential", ApiKey, PersonalAccessToken)


def clean_name(value: str | None, what: str) -> str:
    """Return a stripped label of 1 to 200 characters, else a 422 saying what is wrong."""
    name = (value or "").strip()
    if not name:
        raise ApiError(422, f"Give the {what} a name.")
    if len(name) > NAME_MAX:
        raise ApiError(422, f"The {what}'s name is longer than {NAME_MAX} characters.")
    return name


def create_api_key(org_id: str, name: str, created_by_id: str | None) -> tuple[ApiKey, NewSecret]:
    """Create an organisation API key; the secret is returned once, only its hash is kept."""
    new = make_secret(API_KEY_PREFIX)
    key = ApiKey(
        org_id=org_id,
        name=clean_name(name, "key"),
        prefix=new.prefix,
        last4=new.last4,
        key_hash=new.digest,
        created_by_id=created_by_id,
    )
    db.session.add(key)
    db.session.flush()
    return key, new


def revoke_api_key(org_id: str, key_id: str) -> ApiKey:
    """Revoke one of the organisation's keys (again is fine); another organisation's is 404."""
    return _revoke(select(ApiKey).where(ApiKey.id == key_id, ApiKey.org_id == org_id))


def create_token(user_id: str, name: str, days: int) -> tuple[PersonalAccessToken, NewSecret]:
    """Create a personal access token that expires in `days` days; the secret is returned once."""
    if days not in TOKEN_LIFETIMES_DAYS:
        raise ApiError(422, "Choose one of the offered lifetimes.")
    new = make_secret(TOKEN_PREFIX)
    token = PersonalAccessToken(
        user_id=user_id,
        name=clean_name(name, "token"),
        prefix=new.prefix,
        last4=new.last4,
        token_hash=new.digest,
        expires_at=utcnow() + timedelta(days=days),
    )
    db.session.add(token)
    db.session.flush()
    return token, new


def revoke_token(user_id: str, token_id: str) -> PersonalAccessToken:
    """Revoke one of the user's tokens (again is fine); anyone else's is 404."""
    return _revoke(
        select(PersonalAccessToken).where(
            PersonalAccessToken.id == token_id, PersonalAccessToken.user_id == user_id
        )
    )


def _revoke(query: Select[Credential]) -> Credential:
    """Revoke the credential `query` finds (again is fine); none found is 404."""
    credential = db.session.execute(query).scalar_one_or_none()
    if credential is None:
        raise ApiError(404, "Not found")
    if credential.revoked_at is None:
        credential.revoked_at = utcnow()
    db.session.flush()
    return credential


def add_member(org_id: str, email: str, role: str) -> Membership:
    """Grant the person with this email a role; they may not have signed in yet."""
    email = (email or "").strip().lower()
    if not EMAIL_RE.match(email) or len(email) > 320:
        raise ApiError(422, "Enter an email address, like ada@example.com.")
    _check_role(role)
    users = db.session.execute(select(User).where(func.lower(User.email) == email)).scalars().all()
    # Prefer the account that has signed in most recently; else the invitation waiting for them.
    user = max(
        users, key=lambda u: (u.last_login_at is not None, u.last_login_at or u.created_at), default=None
    )
    if user is None:
        user = User(email=email)
        db.session.add(user)
        db.session.flush()
    membership = _membership(org_id, user.id)
    if membership is None:
        membership = Membership(user_id=user.id, org_id=org_id, role=role)
        db.session.add(membership)
    elif membership.role != role:
        return change_role(org_id, membership.id, role)
    db.session.flush()
    return membership


def change_role(org_id: str, membership_id: int, role: str) -> Membership:
    """Change a member's role; the organisation always keeps at least one admin."""
    _check_role(role)
    membership = _get(org_id, membership_id)
    if membership.role == "admin" and role != "admin":
        _keep_an_admin(org_id, "demote")
    membership.role = role
    db.session.flush()
    return membership


def remove_member(org_id: str, membership_id: int) -> None:
    """Remove a member from the organisation; the last admin cannot be removed."""
    membership = _get(org_id, membership_id)
    if membership.role == "admin":
        _keep_an_admin(org_id, "remove")
    db.session.delete(membership)
    db.session.flush()


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ApiError(422, "The role must be admin or member.")


def _get(org_id: str, membership_id: int) -> Membership:
    membership = db.session.execute(
        select(Membership)
        .where(Membership.id == membership_id, Membership.org_id == org_id)
        .with_for_update()
    ).scalar_one_or_none()
    if membership is None:
        raise ApiError(404, "Not found")
    return membership


def _membership(org_id: str, user_id: str) -> Membership | None:
    return db.session.execute(
        select(Membership).where(Membership.org_id == org_id, Membership.user_id == user_id)
    ).scalar_one_or_none()


def _keep_an_admin(org_id: str, verb: str) -> None:
    # Lock the admins' rows (PostgreSQL) so two concurrent demotions cannot both pass the count.
    admins = db.session.execute(
        select(Membership.id).where(Membership.org_id == org_id, Membership.role == "admin").with_for_update()
    ).all()
    if len(admins) <= 1:
        raise ApiError(409, f"You cannot {verb} the last admin: make someone else admin first.")
