"""Creating and checking API keys and personal access tokens (stored as SHA-256 only)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

API_KEY_PREFIX = "lfk_"
TOKEN_PREFIX = "lfp_"


@dataclass(frozen=True)
class NewSecret:
    """A freshly made secret: shown once, then only its hash remains."""

    secret: str
    prefix: str
    last4: str
    digest: str


def digest(secret: str) -> str:
    """Return the SHA-256 of a secret (keys are random, so a fast hash is enough)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def make_secret(prefix: str) -> NewSecret:
    """Make a new key or token: the prefix and 43 URL-safe random characters."""
    secret = prefix + secrets.token_urlsafe(32)
    return NewSecret(secret=secret, prefix=secret[:8], last4=secret[-4:], digest=digest(secret))


def matches(secret: str, stored_digest: str) -> bool:
    """Compare a presented secret with a stored digest in constant time."""
    return hmac.compare_digest(digest(secret), stored_digest)
