"""Selects behind the settings pages."""

from __future__ import annotations

from sqlalchemy import Select, case, select

from webapp.models import ApiKey, Membership, PersonalAccessToken, User


def api_keys_of(org_id: str) -> Select[ApiKey, User]:
    """Select the organisation's API keys with their creators: active ones first, newest first."""
    return (
        select(ApiKey, User)
        .outerjoin(User, User.id == ApiKey.created_by_id)
        .where(ApiKey.org_id == org_id)
        .order_by(case((ApiKey.revoked_at.is_(None), 0), else_=1), ApiKey.created_at.desc())
    )


def tokens_of(user_id: str) -> Select[PersonalAccessToken]:
    """Select the user's personal access tokens: active ones first, newest first."""
    return (
        select(PersonalAccessToken)
        .where(PersonalAccessToken.user_id == user_id)
        .order_by(
            case((PersonalAccessToken.revoked_at.is_(None), 0), else_=1),
            PersonalAccessToken.created_at.desc(),
        )
    )


def members_of(org_id: str) -> Select[Membership, User]:
    """Select the organisation's memberships with their users: admins first, then by email."""
    return (
        select(Membership, User)
        .join(User, User.id == Membership.user_id)
        .where(Membership.org_id == org_id)
        .order_by(case((Membership.role == "admin", 0), else_=1), User.email, Membership.id)
    )
