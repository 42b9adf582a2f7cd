"""The signed-in browser user and their current organisation, for pages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

from flask import abort, g, redirect, request, session, url_for
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Membership, Organisation, User

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Viewer:
    """The signed-in user, their memberships and the organisation the pages are scoped to."""

    user: User
    org: Organisation
    role: str
    orgs: list[tuple[Organisation, str]]

    @property
    def org_id(self) -> str:
        return self.org.id

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def current_viewer() -> Viewer | None:
    """Return the signed-in viewer (resolved once per request), or None."""
    if "viewer" not in g:
        g.viewer = _resolve()
    return g.viewer  # type: ignore[no-any-return]


def page_auth(view: F) -> F:
    """Require a signed-in member; others go to the sign-in page (or the no-membership page)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not session.get("user_id"):
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        viewer = current_viewer()
        if viewer is None:
            if db.session.get(User, session["user_id"]) is None:
                session.clear()
                return redirect(url_for("auth.login"))
            return redirect(url_for("auth.no_membership"))
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def require_admin() -> Viewer:
    """Return the viewer if they administer the current organisation, else 403."""
    viewer = current_viewer()
    if viewer is None or not viewer.is_admin:
        abort(403)
    return viewer


def _resolve() -> Viewer | None:
    user_id = session.get("user_id")
    if not user_id:
        return None
    user = db.session.get(User, user_id)
    if user is None:
        return None
    rows = db.session.execute(
        select(Organisation, Membership.role)
        .join(Membership, Membership.org_id == Organisation.id)
        .where(Membership.user_id == user_id)
        .order_by(Membership.id)
    ).all()
    if not rows:
        return None
    orgs = [(org, role) for org, role in rows]
    chosen = next(((o, r) for o, r in orgs if o.id == session.get("org_id")), orgs[0])
    return Viewer(user=user, org=chosen[0], role=chosen[1], orgs=orgs)
