"""Browser pages for sessions."""

from __future__ import annotations
