"""Browser pages for flows."""

from __future__ import annotations

from flask import render_template

from webapp.flows import bp


@bp.get("/ui/flows")
def flow_list_page() -> str:
    """Show the organisation's flows."""
    return render_template("flows/list.html")
