"""Live Flows: watch an organisation's LLM flows and their sessions, live."""

from __future__ import annotations

from typing import Any

from flask import Flask, redirect, url_for

from webapp.config import defaults
from webapp.extensions import db, htmx, migrate


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create and configure the Live Flows app."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder="../templates",
        static_folder="../static",
    )
    app.config.from_mapping(defaults(app.instance_path))
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env()
    if test_config is not None:
        app.config.from_mapping(test_config)

    # Imported here so that importing the package stays cheap and free of cycles.
    from webapp import cli, database, errors, runner, security
    from webapp.api.meta import bp as meta_bp
    from webapp.auth import oidc
    from webapp.auth.views import bp as auth_bp
    from webapp.flows import bp as flows_bp
    from webapp.sessions import bp as sessions_bp
    from webapp.settings import bp as settings_bp

    db.init_app(app)
    migrate.init_app(app, db, directory=str(app.root_path + "/../migrations"))
    htmx.init_app(app)
    database.init_app(app)
    errors.init_app(app)
    security.init_app(app)
    oidc.init_app(app)
    runner.init_app(app)
    cli.init_app(app)
    for blueprint in (meta_bp, auth_bp, flows_bp, sessions_bp, settings_bp):
        app.register_blueprint(blueprint)

    app.add_url_rule("/", "index", lambda: redirect(url_for("flows.flow_list_page")))
    return app
