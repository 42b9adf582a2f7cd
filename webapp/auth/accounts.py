"""Turn a validated OpenID identity into a user: by (issuer, sub), else link a pre-invited email."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from webapp.auth.oidc import Identity
from webapp.database import begin_write
from webapp.extensions import db
from webapp.models import User
from webapp.models.types import utcnow


def record_sign_in(identity: Identity) -> User:
    """Find or create the user for `identity`, keep email and name current, stamp the login."""
    try:
        return _record(identity)
    except IntegrityError:
        # Two first sign-ins of the same person raced; the other one created the user.
        db.session.rollback()
        return _record(identity)


def trusted_email(identity: Identity) -> str | None:
    """Return the identity's email if the provider vouches for it, else None."""
    if not identity.email:
        return None
    if identity.email_verified or not current_app.config["OIDC_REQUIRE_VERIFIED_EMAIL"]:
        return identity.email
    return None


def _record(identity: Identity) -> User:
    db.session.commit()  # end any read transaction, so the write one below takes the lock at once
    begin_write()
    user = db.session.execute(
        select(User).where(User.issuer == identity.issuer, User.sub == identity.sub)
    ).scalar_one_or_none()
    email = trusted_email(identity)
    if user is None and email is not None:
        # `members add EMAIL` creates a user with no (issuer, sub) yet: the first verified sign-in claims it.
        user = (
            db.session.execute(
                select(User)
                .where(User.email == email, User.issuer.is_(None), User.sub.is_(None))
                .order_by(User.created_at)
            )
            .scalars()
            .first()
        )
        if user is not None:
            user.issuer, user.sub = identity.issuer, identity.sub
    if user is None:
        user = User(issuer=identity.issuer, sub=identity.sub)
        db.session.add(user)
    if email is not None:
        user.email = email
    if identity.name:
        user.name = identity.name
    user.last_login_at = utcnow()
    db.session.commit()
    return user
