"""Default configuration; instance/config.py and FLASK_* environment variables override it."""

from __future__ import annotations

import os
import secrets
from typing import Any


def defaults(instance_path: str) -> dict[str, Any]:
    """Return the defaults for an app whose instance folder is `instance_path`."""
    return {
        "SECRET_KEY": _instance_secret(instance_path),
        "SQLALCHEMY_DATABASE_URI": "sqlite:///" + os.path.join(instance_path, "liveflows.db"),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        # Seconds SQLite waits for a lock before the request answers 503.
        "SQLITE_BUSY_TIMEOUT_MS": 5000,
        "MAX_BODY_BYTES": 1024 * 1024,
        "API_KEY_LAST_USED_RESOLUTION_S": 60,
        "IDEMPOTENCY_TTL_HOURS": 24,
        "OIDC_ISSUER": None,
        "OIDC_CLIENT_ID": None,
        "OIDC_CLIENT_SECRET": None,
        # Sign-in (webapp/auth/oidc.py); see /work/notes/auth-readme.md for production.
        "OIDC_REDIRECT_URI": None,
        "OIDC_SCOPES": "openid email profile",
        "OIDC_PROVIDER_NAME": None,
        "OIDC_DEV_PROVIDER": False,
        "OIDC_REQUIRE_VERIFIED_EMAIL": True,
        "OIDC_TIMEOUT_S": 10,
        # Browser security (webapp/security.py). SECURE_COOKIES None = on when PREFERRED_URL_SCHEME is https.
        "SECURE_COOKIES": None,
        "HSTS_SECONDS": 31536000,
        "PROXY_HOPS": 0,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_IDLE_MINUTES": 8 * 60,
        "SESSION_MAX_HOURS": 24,
        "WTF_CSRF_CHECK_DEFAULT": False,
        "WTF_CSRF_TIME_LIMIT": None,
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": None,
        "RATELIMIT_KEY_PREFIX": "liveflows",
        "RATELIMIT_API": "600 per minute",
        "RATELIMIT_LOGIN": "20 per minute",
        "REDIS_URL": None,
        "RUNNER_MAX_STEPS": 100,
        # The runner (webapp/runner/; see the README's runner section).
        "RUNNER_QUEUE": "auto",  # auto = redis when REDIS_URL is set, else sqlite in instance/
        "RUNNER_QUEUE_NAME": "liveflows",
        "RUNNER_QUEUE_PATH": None,  # SQLite queue file; default instance/runner-queue.db
        "RUNNER_EMBEDDED": False,  # run a consumer thread inside the web process (make run)
        "RUNNER_THREADS": 2,  # embedded consumer threads
        "RUNNER_STEP_TIMEOUT_S": 60,
        "RUNNER_LEASE_S": 90,  # keep above the step timeout
        "RUNNER_MAX_ATTEMPTS": 3,
        "RUNNER_SWEEP_INTERVAL_S": 5,
        "RUNNER_REQUEUE_NEW_AFTER_S": 60,
        "RUNNER_POLL_MAX_S": 0.5,
        "MODEL_PROVIDER": "echo",
        "MODEL_ECHO_DELAY_MS": 0,
        "MODEL_BASE_URL": "https://api.openai.com/v1",
        "MODEL_API_KEY": None,
        "MODEL_NAME": "gpt-4o-mini",
        "MODEL_TIMEOUT_S": 30,
        "MODEL_MAX_RETRIES": 3,
        "MODEL_RETRY_BACKOFF_S": 1.0,
        "MODEL_RETRY_MAX_BACKOFF_S": 30,
        "JSON_SORT_KEYS": False,
    }


def _instance_secret(instance_path: str) -> str:
    """Read, or create once, a random secret key kept in the instance folder."""
    path = os.path.join(instance_path, "secret_key")
    try:
        with open(path) as fh:
            return fh.read().strip()
    except FileNotFoundError:
        os.makedirs(instance_path, exist_ok=True)
        key = secrets.token_urlsafe(48)
        with open(path, "w") as fh:
            fh.write(key)
        os.chmod(path, 0o600)
        return key
