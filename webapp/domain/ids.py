"""Identifier formats: organisation ids, UUIDs and credential secrets."""

from __future__ import annotations

import re
import secrets
import string
import uuid

ORG_ID_RE = re.compile(r"^org_[A-Za-z0-9]{16,}$")
_ALNUM = string.ascii_letters + string.digits


def new_org_id() -> str:
    """Return a new organisation id: org_ and 20 alphanumerics."""
    return "org_" + "".join(secrets.choice(_ALNUM) for _ in range(20))


def is_org_id(value: str) -> bool:
    """Tell whether a string is a well-formed organisation id."""
    return bool(ORG_ID_RE.fullmatch(value))


def is_uuid(value: str) -> bool:
    """Tell whether a string is a canonical lower-case UUID."""
    try:
        return str(uuid.UUID(value)) == value
    except (ValueError, AttributeError, TypeError):
        return False


def canonical_uuid(value: str) -> str | None:
    """Return a UUID written in either case as its canonical lower-case string, or None."""
    lowered = value.lower()
    return lowered if is_uuid(lowered) else None
