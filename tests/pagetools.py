"""Helpers for page tests: htmx request headers, SQL statement capture, a tiny HTML element finder."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from sqlalchemy import event

from webapp.extensions import db


def hx(target: str | None = None, **extra: str) -> dict[str, str]:
    """Return the headers htmx sends for a plain (not boosted) request aimed at `target`."""
    headers = {"HX-Request": "true", **extra}
    if target:
        headers["HX-Target"] = target
    return headers


@contextmanager
def statements() -> Iterator[list[str]]:
    """Capture the SQL statements executed inside the block."""
    seen: list[str] = []

    def capture(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
        seen.append(" ".join(sql.split()))

    engine = db.engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", capture)


def session_reads(sqls: list[str]) -> list[str]:
    """Return the statements that select columns of session rows (not an aggregate over them)."""
    out = []
    for sql in sqls:
        head = sql.split(" FROM ", 1)[0]
        if not sql.startswith("SELECT"):
            continue
        if "sessions." in head and not any(fn in head for fn in ("count(", "sum(", "max(")):
            out.append(sql)
    return out


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text: str = ""
    children: list[Element] = field(default_factory=list)

    def has_class(self, name: str) -> bool:
        return name in self.attrs.get("class", "").split()


class _Finder(HTMLParser):
    VOID = {"input", "br", "img", "meta", "link", "hr", "col", "source", "path", "circle", "rect", "line"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.all: list[Element] = []
        self.stack: list[Element] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        el = Element(tag, {k: v or "" for k, v in attrs})
        self.all.append(el)
        if self.stack:
            self.stack[-1].children.append(el)
        if tag not in self.VOID:
            self.stack.append(el)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        el = Element(tag, {k: v or "" for k, v in attrs})
        self.all.append(el)
        if self.stack:
            self.stack[-1].children.append(el)

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                break

    def handle_data(self, data: str) -> None:
        for el in self.stack:
            el.text += data


def elements(html: str) -> list[Element]:
    """Parse HTML into a flat list of elements (each with its text and children)."""
    finder = _Finder()
    finder.feed(html)
    return finder.all


def by_id(html: str, element_id: str) -> Element | None:
    """Return the element with this id, if any."""
    return next((e for e in elements(html) if e.attrs.get("id") == element_id), None)


def oob(html: str) -> list[Element]:
    """Return the out-of-band elements of an htmx answer."""
    return [e for e in elements(html) if "hx-swap-oob" in e.attrs]
