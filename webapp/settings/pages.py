"""Settings pages: API keys (admins create and revoke), personal access tokens, members.

Each page works with htmx (forms swap the page's panel in place) and without JavaScript
(POST, then a 303 redirect to the page; a new secret rides along once in the session).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, redirect, request, session, url_for
from werkzeug.wrappers import Response as BaseResponse

from webapp.auth.browser import Viewer, page_auth, page_viewer, require_admin
from webapp.domain.errors import ApiError
from webapp.extensions import db
from webapp.models import Membership
from webapp.models.types import utcnow
from webapp.pages import init_blueprint, render_page, see_other, wants_fragment
from webapp.services import accounts
from webapp.settings import bp, queries

NEW_SECRET = "_new_secret"
PANEL = "settings-panel"
Context = Callable[[Viewer], dict[str, Any]]


def _show(template: str, context: dict[str, Any], status: int = 200) -> Response:
    response = render_page(template, fragments={PANEL: "panel"}, status=status, **context)
    # New secrets and credential lists must not be kept by any cache, nor restored from history.
    response.headers["Cache-Control"] = "no-store"
    return response


def _page(template: str, build: Context, kind: str) -> Response:
    viewer = page_viewer()
    new = session.pop(NEW_SECRET, None)
    new = new if isinstance(new, dict) and new.get("kind") == kind else None
    return _show(template, {**build(viewer), "new_secret": new})


def _written(endpoint: str, template: str, build: Context, new: dict[str, str] | None = None) -> BaseResponse:
    db.session.commit()
    if wants_fragment():
        return _show(template, {**build(page_viewer()), "new_secret": new})
    if new is not None:
        session[NEW_SECRET] = new
    return redirect(url_for(endpoint), 303)


def _refused(template: str, build: Context, err: ApiError) -> Response:
    db.session.rollback()
    if err.status not in (409, 422):
        raise err
    context = {**build(page_viewer()), "error": str(err.detail), "form": request.form, "new_secret": None}
    # base.html's htmx config swaps 409 and 422 answers, so the panel comes back with the message.
    return _show(template, context, err.status)


@bp.get("/")
@page_auth
def index() -> BaseResponse:
    """Open the first settings page."""
    return redirect(url_for("settings.api_keys_page"))


init_blueprint(bp)


# API keys -------------------------------------------------------------------------------------------

API_KEYS = "settings/api_keys.html"


def _api_keys(viewer: Viewer) -> dict[str, Any]:
    rows = db.session.execute(queries.api_keys_of(viewer.org_id)).all()
    return {"viewer": viewer, "keys": rows, "section": "api_keys", "now": utcnow()}


@bp.get("/api-keys")
@page_auth
def api_keys_page() -> Response:
    """List the organisation's API keys."""
    return _page(API_KEYS, _api_keys, "api_key")


@bp.post("/api-keys")
@page_auth
def create_api_key() -> BaseResponse:
    """Create an API key (admins) and show it once."""
    viewer = require_admin()
    try:
        key, new = accounts.create_api_key(viewer.org_id, request.form.get("name", ""), viewer.user.id)
    except ApiError as err:
        return _refused(API_KEYS, _api_keys, err)
    secret = {"kind": "api_key", "id": key.id, "name": key.name, "secret": new.secret}
    return _written("settings.api_keys_page", API_KEYS, _api_keys, secret)


@bp.post("/api-keys/<key_id>/revoke")
@page_auth
def revoke_api_key(key_id: str) -> BaseResponse:
    """Revoke an API key (admins): it stops working at once."""
    viewer = require_admin()
    accounts.revoke_api_key(viewer.org_id, key_id)
    return _written("settings.api_keys_page", API_KEYS, _api_keys)


# Personal access tokens -----------------------------------------------------------------------------

TOKENS = "settings/tokens.html"


def _tokens(viewer: Viewer) -> dict[str, Any]:
    rows = db.session.execute(queries.tokens_of(viewer.user.id)).scalars().all()
    return {
        "viewer": viewer,
        "tokens": rows,
        "lifetimes": accounts.TOKEN_LIFETIMES_DAYS,
        "section": "tokens",
        "now": utcnow(),
    }


@bp.get("/tokens")
@page_auth
def tokens_page() -> Response:
    """List the user's personal access tokens."""
    return _page(TOKENS, _tokens, "token")


@bp.post("/tokens")
@page_auth
def create_token() -> BaseResponse:
    """Create a personal access token with an expiry and show it once."""
    viewer = page_viewer()
    try:
        days = int(request.form.get("days", ""))
    except ValueError:
        days = 0
    try:
        token, new = accounts.create_token(viewer.user.id, request.form.get("name", ""), days)
    except ApiError as err:
        return _refused(TOKENS, _tokens, err)
    secret = {"kind": "token", "id": token.id, "name": token.name, "secret": new.secret}
    return _written("settings.tokens_page", TOKENS, _tokens, secret)


@bp.post("/tokens/<token_id>/revoke")
@page_auth
def revoke_token(token_id: str) -> BaseResponse:
    """Revoke one of the user's tokens."""
    accounts.revoke_token(page_viewer().user.id, token_id)
    return _written("settings.tokens_page", TOKENS, _tokens)


# Members --------------------------------------------------------------------------------------------

MEMBERS = "settings/members.html"


def _members(viewer: Viewer) -> dict[str, Any]:
    rows = db.session.execute(queries.members_of(viewer.org_id)).all()
    return {"viewer": viewer, "members": rows, "roles": accounts.ROLES, "section": "members"}


@bp.get("/members")
@page_auth
def members_page() -> Response:
    """List the organisation's members."""
    return _page(MEMBERS, _members, "member")


@bp.post("/members")
@page_auth
def add_member() -> BaseResponse:
    """Add someone by email (admins); they get in at their first sign-in."""
    viewer = require_admin()
    try:
        accounts.add_member(viewer.org_id, request.form.get("email", ""), request.form.get("role", "member"))
    except ApiError as err:
        return _refused(MEMBERS, _members, err)
    return _written("settings.members_page", MEMBERS, _members)


@bp.post("/members/<int:membership_id>/role")
@page_auth
def change_role(membership_id: int) -> BaseResponse:
    """Change a member's role (admins); the last admin stays admin."""
    viewer = require_admin()
    try:
        membership = accounts.change_role(viewer.org_id, membership_id, request.form.get("role", ""))
    except ApiError as err:
        return _refused(MEMBERS, _members, err)
    return _after_member_change(membership.user_id == viewer.user.id)


@bp.post("/members/<int:membership_id>/remove")
@page_auth
def remove_member(membership_id: int) -> BaseResponse:
    """Remove a member (admins); the last admin cannot be removed."""
    viewer = require_admin()
    target = db.session.get(Membership, membership_id)
    removes_self = target is not None and target.user_id == viewer.user.id
    try:
        accounts.remove_member(viewer.org_id, membership_id)
    except ApiError as err:
        return _refused(MEMBERS, _members, err)
    return _after_member_change(removes_self)


def _after_member_change(changed_self: bool) -> BaseResponse:
    if not changed_self:
        return _written("settings.members_page", MEMBERS, _members)
    # The admin changed their own access: the whole page (menus, buttons) must be redrawn.
    db.session.commit()
    return see_other(url_for("settings.members_page"))
