"""The signed-in browser user and their current organisation, for pages."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Response, abort, g, redirect, request, session, url_for
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Membership, Organisation, User

F = TypeVar("F", bound=Callable[..., Any])
# Where the organisation switcher may return to: pages that exist in every organisation.
SECTION_PATHS = ("/ui/flows", "/ui/settings/api-keys", "/ui/settings/tokens", "/ui/settings/members")


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


def page_viewer() -> Viewer:
    """Return the viewer inside a @page_auth view, which only lets signed-in members in."""
    viewer = current_viewer()
    assert viewer is not None  # page_auth guarantees it
    return viewer


def page_auth(view: F) -> F:
    """Require a signed-in member; others go to the sign-in page (or the no-membership page)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not session.get("user_id"):
            return _to_login()
        viewer = current_viewer()
        if viewer is None:
            if db.session.get(User, session["user_id"]) is None:
                session.clear()
                return _to_login()
            return _go(url_for("auth.no_membership"))
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _to_login() -> Response:
    # Come back here after signing in, but only to a page that can be fetched with GET.
    here = request.headers.get("HX-Current-URL") if _is_htmx() else request.full_path.rstrip("?")
    if request.method != "GET" and not _is_htmx():
        here = None
    next_url = safe_next(_path_of(here)) if here else None
    return _go(url_for("auth.login", next=next_url) if next_url else url_for("auth.login"))


def _go(url: str) -> Response:
    if _is_htmx():
        # A fragment request must not swap the sign-in page into a table: make htmx navigate.
        response = Response("", 401)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url)  # type: ignore[return-value]


def _is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def _path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def safe_next(value: str | None, *, sections_only: bool = False) -> str | None:
    """Return `value` if it is a path inside the app's pages, else None (no open redirects)."""
    if not value or len(value) > 2000:
        return None
    if any(ord(c) < 0x21 or c == "\\" for c in value):
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not value.startswith("/") or value.startswith("//"):
        return None
    if not (parts.path == "/ui" or parts.path.startswith("/ui/")):
        return None
    if sections_only:
        return parts.path if parts.path in SECTION_PATHS else None
    return value


def start_browser_session(user: User, id_token_hint: str | None = None) -> None:
    """Replace whatever the browser's session held with a fresh one for `user` (no fixation)."""
    session.clear()
    session.permanent = True
    session["user_id"] = user.id
    session["login_at"] = int(time.time())
    org_ids = [org.id for org, _ in _memberships(user.id)]
    if org_ids:
        session["org_id"] = org_ids[0]
    if id_token_hint:
        session["id_token_hint"] = id_token_hint
    g.pop("viewer", None)


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
    orgs = _memberships(user_id)
    if not orgs:
        return None
    chosen = next(((o, r) for o, r in orgs if o.id == session.get("org_id")), orgs[0])
    return Viewer(user=user, org=chosen[0], role=chosen[1], orgs=orgs)


def _memberships(user_id: str) -> list[tuple[Organisation, str]]:
    rows = db.session.execute(
        select(Organisation, Membership.role)
        .join(Membership, Membership.org_id == Organisation.id)
        .where(Membership.user_id == user_id)
        .order_by(Membership.id)
    ).all()
    return [(org, role) for org, role in rows]
