"""Sign-in pages (the OIDC flow lands here with its own issue)."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("auth", __name__, url_prefix="/auth")


@bp.get("/login")
def login() -> str:
    """Show the sign-in page."""
    return render_template("auth/login.html")


@bp.get("/no-membership")
def no_membership() -> tuple[str, int]:
    """Tell a signed-in user that they belong to no organisation."""
    return render_template("auth/no_membership.html"), 403
