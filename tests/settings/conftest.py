"""Fixtures for the settings pages: an admin's browser and a plain member's."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests import factories
from tests.browser import signed_in


@pytest.fixture
def plain_member(org: Any) -> Any:
    """A user who is a member (not admin) of `org`."""
    return factories.make_user("bob@example.com", (org,), role="member")


@pytest.fixture
def member_client(app: Flask, plain_member: Any, org: Any) -> FlaskClient:
    return signed_in(app, plain_member, org)
