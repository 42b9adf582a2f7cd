"""Text helpers shared by layout and rendering: width estimates, truncation, XML-safe escaping."""

from __future__ import annotations

import re
import unicodedata
from html import escape

# XML 1.0 forbids most C0 controls even when escaped, so user text must be scrubbed, not just escaped.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_WHITESPACE = re.compile(r"\s+")

ELLIPSIS = "\u2026"


def clean(text: object) -> str:
    """Return `text` as a single-line string holding only XML-legal characters."""
    return _WHITESPACE.sub(" ", _XML_INVALID.sub("", "" if text is None else str(text))).strip()


def xml(text: object) -> str:
    """Escape `text` for use in XML character data or a double-quoted attribute."""
    return escape(clean(text), quote=True)


def char_em(ch: str) -> float:
    """Estimate the advance width of one character in ems for a sans-serif UI font."""
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return 1.0
    if ch in "iljI.,:;'|!()[]{} ":
        return 0.3
    if ch in "mwMW@%":
        return 0.85
    if ch.isupper():
        return 0.7
    if ch.isdigit():
        return 0.64
    # Calibrated on DejaVu Sans, one of the widest common UI fonts, so boxes rarely clip elsewhere.
    return 0.6


def text_width(text: str, size: float) -> float:
    """Estimate the rendered width in px of `text` at font `size` (no DOM to measure with)."""
    return sum(char_em(ch) for ch in text) * size


def truncate(text: str, size: float, max_width: float) -> str:
    """Shorten `text` with an ellipsis so that it fits `max_width` px at font `size`."""
    if text_width(text, size) <= max_width:
        return text
    budget = max_width - char_em(ELLIPSIS) * size
    out: list[str] = []
    used = 0.0
    for ch in text:
        used += char_em(ch) * size
        if used > budget:
            break
        out.append(ch)
    return "".join(out).rstrip() + ELLIPSIS
