"""Flask extensions, created once and bound to the app in create_app()."""

from __future__ import annotations

from authlib.integrations.flask_client import OAuth
from flask_limiter import Limiter
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from htmx_flask import Htmx
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Deterministic constraint names keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)
migrate = Migrate(render_as_batch=True)
htmx = Htmx()
# Never pass cache= (GHSA-fg6f-75jq-6523): the login state lives in the signed session cookie.
oauth = OAuth()
csrf = CSRFProtect()
# Limits, keys and storage are set in webapp/security.py from the app's config.
limiter = Limiter(key_func=lambda: _rate_limit_key())


def _rate_limit_key() -> str:
    from webapp.security import rate_limit_key

    return rate_limit_key()
