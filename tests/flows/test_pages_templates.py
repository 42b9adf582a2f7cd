"""Every page template stays CSP-clean, and every error status has its own friendly page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask, abort
from flask.testing import FlaskClient
from werkzeug.exceptions import MethodNotAllowed

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
MINE = ["base.html", "_macros.html", "flows", "sessions", "errors"]


def _files() -> list[Path]:
    out: list[Path] = []
    for name in MINE:
        path = TEMPLATES / name
        out += sorted(path.rglob("*.html")) if path.is_dir() else [path]
    return out


@pytest.mark.parametrize("path", _files(), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_templates_have_no_inline_script_style_or_event_handlers(path: Path) -> None:
    text = path.read_text()
    assert not re.search(r"\sstyle\s*=", text), "style attribute"
    assert not re.search(r"<style\b", text), "<style> element"
    assert not re.search(r"<script(?![^>]*\bsrc=)", text), "inline <script>"
    assert not re.search(r"\s(hx-on|on[a-z]+)\s*[:=]", text), "event handler attribute"


def test_base_configures_htmx_without_eval_or_injected_styles(client: FlaskClient) -> None:
    text = (TEMPLATES / "base.html").read_text()
    assert '"allowEval":false' in text and '"includeIndicatorStyles":false' in text
    assert '"selfRequestsOnly":true' in text and '"historyRestoreAsHxRequest":false' in text


CODES = {
    400: "That request didn’t make sense",
    403: "You can’t see this",
    404: "Not found",
    405: "That action isn’t available here",
    409: "That can’t be done right now",
    422: "Please check the input",
    429: "Slow down a little",
    500: "Something went wrong on our side",
    503: "Temporarily unavailable",
}


@pytest.mark.parametrize("code", sorted(CODES))
def test_each_error_status_has_a_friendly_page(app: Flask, code: int) -> None:
    def boom() -> None:
        if code == 405:
            raise MethodNotAllowed(["GET"], description=f"Detail for {code}")
        abort(code, f"Detail for {code}")

    app.add_url_rule(f"/ui/boom-{code}", f"boom_{code}", boom)
    response = app.test_client().get(f"/ui/boom-{code}")
    html = response.get_data(as_text=True)
    assert response.status_code == code
    assert f"Error {code}" in html and CODES[code] in html
    assert f"Detail for {code}" in html
    assert '<header class="topbar">' in html


def test_a_stock_description_is_not_repeated_under_the_explanation(client: FlaskClient) -> None:
    html = client.get("/ui/no-such-page").get_data(as_text=True)
    assert "Not found" in html
    assert "The requested URL was not found on the server" not in html
