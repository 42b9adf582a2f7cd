"""Fixtures: app (a fresh database per test), client, runner, authenticated clients, factories."""

from __future__ import annotations

import contextvars
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, g
from flask.testing import FlaskClient, FlaskCliRunner
from flask_migrate import upgrade
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import create_engine, text

from tests import factories
from webapp import create_app
from webapp.extensions import db

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")


def _config(uri: str, instance: Path) -> dict[str, Any]:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": uri,
        "SERVER_NAME": None,
        # Runner tasks stay in memory; tests execute them with current_runner().drain().
        "RUNNER_QUEUE": "memory",
    }


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Run the migrations once: into a template SQLite file, or into TEST_DATABASE_URL."""
    if TEST_DATABASE_URL:
        engine = create_engine(TEST_DATABASE_URL)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        uri = TEST_DATABASE_URL
    else:
        uri = "sqlite:///" + str(tmp_path_factory.mktemp("template") / "template.db")
    app = create_app(_config(uri, tmp_path_factory.mktemp("instance")))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return uri


@pytest.fixture
def database_uri(migrated_database: str, tmp_path: Path) -> Iterator[str]:
    """Give each test a fresh database: a copy of the template, or emptied PostgreSQL tables."""
    if TEST_DATABASE_URL:
        yield migrated_database
        engine = create_engine(migrated_database)
        with engine.begin() as conn:
            tables = [t.name for t in db.metadata.sorted_tables]
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        engine.dispose()
    else:
        path = tmp_path / "test.db"
        shutil.copyfile(migrated_database.removeprefix("sqlite:///"), path)
        yield f"sqlite:///{path}"


@pytest.fixture
def app_config() -> dict[str, Any]:
    """Extra configuration for the test's app; a test module overrides this fixture to change it."""
    return {}


@pytest.fixture
def app(database_uri: str, tmp_path: Path, app_config: dict[str, Any]) -> Iterator[Flask]:
    """Create an app on a fresh database, inside an app context."""
    app = create_app({**_config(database_uri, tmp_path), **app_config})
    # Requests of the test client reuse this app context, and with it `g`: start each with a fresh g.
    app.before_request_funcs.setdefault(None, []).insert(0, _fresh_g)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def _fresh_g() -> None:
    g.__dict__.clear()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def org(app: Flask) -> Any:
    return factories.make_org("Acme")


@pytest.fixture
def api_key(org: Any) -> str:
    return factories.make_api_key(org)


class ApiClient:
    """A test client that sends an API key (and optional extra headers) on every request."""

    def __init__(self, client: FlaskClient, key: str | None, org: Any) -> None:
        self.client = client
        self.key = key
        self.org = org

    def open(self, method: str, url: str, headers: dict[str, str] | None = None, **kwargs: Any) -> Any:
        """Send a request the way a real server would run it: its own app context, g and database
        session (torn down after the answer), after the test's own changes are committed."""
        db.session.commit()
        auth = {"Api-key": self.key} if self.key else {}
        response = contextvars.Context().run(
            self.client.open, url, method=method, headers={**auth, **(headers or {})}, **kwargs
        )
        db.session.commit()  # end the test's read snapshot, so it sees what the request wrote
        return response

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.open("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> Any:
        return self.open("POST", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> Any:
        return self.open("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> Any:
        return self.open("DELETE", url, **kwargs)


@pytest.fixture
def api(client: FlaskClient, api_key: str, org: Any) -> ApiClient:
    """An API client authenticated with an API key of `org`."""
    return ApiClient(client, api_key, org)


@pytest.fixture
def member(org: Any) -> Any:
    """A user who is an admin of `org`."""
    return factories.make_user("ada@example.com", (org,), role="admin")


@pytest.fixture
def browser_client(client: FlaskClient, member: Any, org: Any) -> FlaskClient:
    """A test client signed in (cookie session) as `member`, scoped to `org`."""
    with client.session_transaction() as sess:
        sess["user_id"] = member.id
        sess["org_id"] = org.id
        sess["csrf_token"] = raw_token = secrets.token_hex(20)
    # Like base.html's hx-headers: every request of this browser carries the session's CSRF token.
    signed = URLSafeTimedSerializer(client.application.secret_key, salt="wtf-csrf-token").dumps(raw_token)
    client.environ_base["HTTP_X_CSRFTOKEN"] = signed
    return client
