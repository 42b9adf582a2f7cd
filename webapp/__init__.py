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

    db.init_app(app)
    migrate.init_app(app, db, directory=str(app.root_path + "/../migrations"))
    htmx.init_app(app)

    from webapp import database, errors

    database.init_app(app)
    errors.init_app(app)

    from webapp import security
    from webapp.auth import oidc

    security.init_app(app)
    oidc.init_app(app)

    from webapp.api.meta import bp as meta_bp
    from webapp.auth.views import bp as auth_bp
    from webapp.flows import bp as flows_bp
    from webapp.sessions import bp as sessions_bp

    app.register_blueprint(meta_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(flows_bp)
    app.register_blueprint(sessions_bp)

    from webapp.settings import bp as settings_bp

    app.register_blueprint(settings_bp)

    from webapp import cli

    cli.init_app(app)

    from webapp import runner

    runner.init_app(app)

    app.add_url_rule("/", "index", lambda: redirect(url_for("flows.flow_list_page")))
    return app
