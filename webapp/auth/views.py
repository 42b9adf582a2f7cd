"""Sign-in and sign-out with OpenID Connect, the no-membership page and the organisation switcher."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_limiter.util import get_remote_address
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response as BaseResponse

from webapp.auth import oidc
from webapp.auth.accounts import record_sign_in
from webapp.auth.browser import Viewer, current_viewer, safe_next, start_browser_session
from webapp.extensions import db, limiter
from webapp.models import User
from webapp.security import login_limit

bp = Blueprint("auth", __name__, url_prefix="/auth")

LOGIN_LIMIT_MESSAGE = "Too many sign-in attempts from this address. Wait a minute, then try again."
login_rate_limit = limiter.shared_limit(
    login_limit,
    scope="login",
    key_func=lambda: f"ip:{get_remote_address()}",
    error_message=LOGIN_LIMIT_MESSAGE,
)


@bp.app_context_processor
def _account() -> dict[str, Any]:
    return {"account_viewer": _account_viewer}


def _account_viewer() -> Viewer | None:
    # Error pages render this too, possibly while the database is down: never fail the page over it.
    try:
        return current_viewer() if session.get("user_id") else None
    except SQLAlchemyError:
        db.session.rollback()
        return None


@bp.after_request
def _no_store(response: Response) -> Response:
    # Sign-in pages carry state and errors that must not be cached or replayed from history.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/login")
def login() -> BaseResponse | str:
    """Show the sign-in page (or go on, when already signed in)."""
    next_url = safe_next(request.args.get("next"))
    if session.get("user_id") and current_viewer() is not None:
        return redirect(next_url or url_for("flows.flow_list_page"))
    return render_template(
        "auth/login.html",
        configured=oidc.configured(),
        dev_provider=bool(current_app.config.get("OIDC_DEV_PROVIDER")),
        provider_name=current_app.config.get("OIDC_PROVIDER_NAME"),
        issuer=current_app.config.get("OIDC_ISSUER"),
        next_url=next_url,
        signed_out=request.args.get("signed_out") == "1",
    )


@bp.post("/login")
@login_rate_limit
def start_login() -> BaseResponse | tuple[str, int]:
    """Send the browser to the identity provider, with state, nonce and a PKCE challenge."""
    if not oidc.configured():
        abort(404, "Sign-in is not configured.")
    try:
        return redirect(oidc.start(safe_next(request.form.get("next"))))
    except oidc.SignInError as err:
        return _sign_in_failed(err)


@bp.get("/callback")
@login_rate_limit
def callback() -> BaseResponse | tuple[str, int]:
    """Finish the sign-in the provider sent back, and start a fresh session for the user."""
    if not oidc.configured():
        abort(404, "Sign-in is not configured.")
    state = request.args.get("state")
    next_url = safe_next(oidc.pending_next(state))
    try:
        identity = oidc.finish()
    except oidc.SignInError as err:
        return _sign_in_failed(err)
    user = record_sign_in(identity)
    start_browser_session(user, identity.id_token)
    if current_viewer() is None:
        return redirect(url_for("auth.no_membership"))
    return redirect(next_url or url_for("flows.flow_list_page"))


@bp.post("/logout")
def logout() -> BaseResponse:
    """Forget the session here, then end it at the provider when it offers that."""
    id_token = session.get("id_token_hint")
    session.clear()
    after = url_for("auth.login", signed_out=1, _external=True)
    provider_url = oidc.logout_url(id_token, after) if oidc.configured() else None
    return redirect(provider_url or url_for("auth.login", signed_out=1))


@bp.get("/no-membership")
def no_membership() -> BaseResponse | tuple[str, int]:
    """Tell a signed-in user that they belong to no organisation."""
    if not session.get("user_id"):
        return redirect(url_for("auth.login"))
    if current_viewer() is not None:
        return redirect(url_for("flows.flow_list_page"))
    user = db.session.get(User, session["user_id"])
    return render_template("auth/no_membership.html", user=user), 403


@bp.post("/org")
def switch_org() -> BaseResponse:
    """Make another of the user's organisations the current one (like Current-Org-Id)."""
    viewer = current_viewer()
    if viewer is None:
        return redirect(url_for("auth.login"))
    org_id = request.form.get("org_id", "")
    if org_id not in {org.id for org, _ in viewer.orgs}:
        abort(403, "You are not a member of that organisation.")
    session["org_id"] = org_id
    return redirect(
        safe_next(request.form.get("next"), sections_only=True) or url_for("flows.flow_list_page")
    )


def _sign_in_failed(err: oidc.SignInError) -> tuple[str, int]:
    # Nothing was written to the session: a refused sign-in signs nobody in.
    return render_template("auth/error.html", message=err.message, code=err.status), err.status
