"""The benchmarks' app, on a database migrated from scratch (a helper: `python -m benchmarks` skips it)."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import text

from webapp import create_app
from webapp.extensions import db


def migrated_app(config: dict[str, Any]) -> Flask:
    """Create the app and migrate its database to head; a PostgreSQL database's schema is dropped first."""
    app = create_app(config)
    with app.app_context():
        from flask_migrate import upgrade

        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()
    return app
