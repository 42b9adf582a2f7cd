"""Page plumbing shared by the UI blueprints: page or fragment, redirects after POST, live-poll stamps."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast

from flask import Blueprint, Response, make_response, redirect, render_template, request
from jinja2_fragments.flask import render_block
from sqlalchemy import Select
from werkzeug.wrappers import Response as BaseResponse

from webapp.diagrams import format_duration
from webapp.extensions import db

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# How far back a poll looks for changes: longer than any write transaction stays open between taking its
# updated_at and committing, so a commit that lands "late" (older timestamp) is still seen.
WINDOW = timedelta(seconds=30)
PAGE_SIZE = 25
R = TypeVar("R", bound=BaseResponse)


def wants_fragment() -> bool:
    """Tell whether to answer with a fragment: htmx, and neither boosted nor a history restore."""
    htmx = request.htmx  # type: ignore[attr-defined]
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def render_page(
    template: str,
    *,
    fragments: Mapping[str, str] | None = None,
    status: int = 200,
    **context: Any,
) -> Response:
    """Render the whole page, or (htmx) the block named for the request's HX-Target (default "content")."""
    if wants_fragment():
        target = request.headers.get("HX-Target", "")
        body = render_block(template, (fragments or {}).get(target, "content"), **context)
    else:
        body = render_template(template, **context)
    return add_vary(make_response(body, status))


def render_fragment(template: str, block: str, *, status: int = 200, **context: Any) -> Response:
    """Render one block of a page template (poll answers, out-of-band rows)."""
    return add_vary(make_response(render_block(template, block, **context), status))


def see_other(url: str) -> Response:
    """Redirect after a POST: 303 for a plain form, HX-Redirect (full navigation) for htmx."""
    if request.headers.get("HX-Request") == "true":
        response = make_response("", 204)
        response.headers["HX-Redirect"] = url
        return add_vary(response)
    return add_vary(make_response(redirect(url, 303)))


def unchanged() -> Response:
    """Answer a poll when nothing changed: 204, no body, nothing swapped."""
    return add_vary(make_response("", 204))


def add_vary(response: R) -> R:
    """Mark a page response as varying with the htmx request headers that choose page or fragment."""
    response.vary.add("HX-Request")
    response.vary.add("HX-Target")
    return response


# Live polling -------------------------------------------------------------------------------------


def micros(value: datetime | None) -> int:
    """Return microseconds since the epoch (0 for None)."""
    if value is None:
        return 0
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - EPOCH) // timedelta(microseconds=1)


@dataclass(frozen=True)
class Stamp:
    """What a page has seen: the newest updated_at, and the count and revision sum of rows changed near it."""

    at: int = 0
    count: int = -1
    revs: int = -1
    extra: int = 0

    @property
    def cutoff(self) -> datetime:
        """Return the start of the window a poll checks."""
        return EPOCH + timedelta(microseconds=self.at) - WINDOW

    def encode(self) -> str:
        """Return the stamp as the page holds it."""
        return f"{self.at}.{self.count}.{self.revs}.{self.extra}"

    @classmethod
    def parse(cls, raw: str | None) -> Stamp:
        """Read a stamp a page sent; anything unreadable is a stamp that matches nothing."""
        try:
            at, count, revs, extra = (int(p) for p in (raw or "").split("."))
        except ValueError:
            return cls()
        return cls(max(at, 0), count, revs, extra)


Window = Callable[[datetime], Select]  # the rows changed after a cutoff: rows, revs, newest, extra


def window_stamp(window: Window, at: int) -> Stamp:
    """Compute the stamp for a newest-change time `at`: count and revision sum of the rows in its window."""
    row = db.session.execute(window(Stamp(at).cutoff)).one()
    return Stamp(at, int(row.rows), int(row.revs or 0), micros(row.extra))


def changed_since(window: Window, held: Stamp) -> Stamp | None:
    """Return the new stamp when the scope changed since `held`, else None — one aggregate statement.

    The window holds the rows with updated_at after held.cutoff. Rows only move into it (updated_at grows)
    and every change bumps a revision, so its (count, revision sum) changes with every insert or update,
    even one committed after a newer one.
    """
    row = db.session.execute(window(held.cutoff)).one()
    now = Stamp(held.at, int(row.rows), int(row.revs or 0), micros(row.extra))
    if (now.count, now.revs, now.extra) == (held.count, held.revs, held.extra):
        return None
    at = max(held.at, micros(row.newest))
    return now if at == held.at else window_stamp(window, at)


# Jinja filters ----------------------------------------------------------------------------------


def ago(value: datetime | None, now: datetime | None = None) -> str:
    """Format a time as "just now", "5 min ago", "3 h ago", "2 d ago" or a date."""
    if value is None:
        return "—"
    seconds = ((now or datetime.now(UTC)) - value).total_seconds()
    if seconds < 45:
        return "just now"
    if seconds < 3600:
        return f"{max(1, round(seconds / 60))} min ago"
    if seconds < 86400:
        return f"{round(seconds / 3600)} h ago"
    if seconds < 86400 * 30:
        return f"{round(seconds / 86400)} d ago"
    return value.strftime("%-d %b %Y")


def duration(start: datetime | None, end: datetime | None) -> str:
    """Format the time between two instants (running ones count to now)."""
    if start is None:
        return ""
    ms = max(((end or datetime.now(UTC)) - start).total_seconds() * 1000, 0)
    if ms >= 3_600_000:
        hours, minutes = divmod(round(ms / 60_000), 60)
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return format_duration(ms)


def iso(value: datetime | None) -> str:
    """Format a time as ISO 8601 UTC with a Z."""
    return "" if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def utc(value: datetime | None) -> str:
    """Format a time for people, in UTC, to the second."""
    return "—" if value is None else value.astimezone(UTC).strftime("%-d %b %Y, %H:%M:%S UTC")


def pretty_json(value: Any) -> str:
    """Format a JSON value indented, keys in their stored order."""
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def short_id(value: str) -> str:
    """Shorten a UUID to its first 8 characters for tables."""
    return value[:8]


def specific(message: Any) -> bool:
    """Tell whether an error message says more than werkzeug's stock description of its status."""
    from werkzeug.exceptions import default_exceptions

    stock = {exc.description for exc in default_exceptions.values()}
    return bool(message) and isinstance(message, str) and message not in stock


def init_blueprint(bp: Blueprint) -> None:
    """Register the shared filters, and Vary on every /ui response of the blueprint."""
    for name, func in {
        "ago": ago,
        "duration": duration,
        "iso": iso,
        "utc": utc,
        "pretty_json": pretty_json,
        "short_id": short_id,
        "format_duration": format_duration,
        "micros": micros,
        "specific": specific,
    }.items():
        bp.add_app_template_filter(cast(Callable[..., Any], func), name)

    bp.app_context_processor(lambda: {"is_fragment": wants_fragment()})

    @bp.after_request
    def _vary(response: Response) -> Response:
        return add_vary(response) if request.path.startswith("/ui") else response
