"""Fixtures for sign-in tests: one real OpenID provider for the whole run, reset before each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.auth.idp import Provider, running_provider


@pytest.fixture(scope="session")
def provider() -> Iterator[Provider]:
    with running_provider() as running:
        yield running


@pytest.fixture
def idp(provider: Provider) -> Provider:
    """The provider, with its probe cleared and PKCE checked."""
    provider.probe.reset()
    return provider
