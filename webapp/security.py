"""Browser security: cookie flags, security headers, CSRF for cookie-authenticated requests, rate limits."""

from __future__ import annotations

import hashlib
import math
import secrets
import time
from datetime import timedelta

from flask import Flask, Response, current_app, request, session
from flask_limiter.util import get_remote_address
from werkzeug.middleware.proxy_fix import ProxyFix

from webapp.errors import is_page_request
from webapp.extensions import csrf, limiter

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SESSION_COOKIE = "session"
SECURE_SESSION_COOKIE = "__Host-session"


def secure_cookies(app: Flask) -> bool:
    """Tell whether the app is served over https: Secure, __Host- cookies and HSTS."""
    value = app.config.get("SECURE_COOKIES")
    if value is None:
        return str(app.config.get("PREFERRED_URL_SCHEME", "http")).lower() == "https"
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def init_app(app: Flask) -> None:
    """Configure cookies, proxies, rate limits, CSRF and the security headers."""
    _configure_cookies(app)
    hops = int(app.config.get("PROXY_HOPS") or 0)
    if hops > 0:
        # Behind a reverse proxy: trust exactly `hops` X-Forwarded-* entries (client IP, https, host).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)  # type: ignore[method-assign]
    _configure_limiter(app)
    csrf.init_app(app)
    app.before_request(_expire_session)
    app.before_request(_check_csrf)
    app.after_request(_security_headers)


def _configure_cookies(app: Flask) -> None:
    secure = secure_cookies(app)
    app.config["SECURE_COOKIES"] = secure
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    if secure:
        # __Host- makes the browser refuse the cookie unless it is Secure, Path=/ and has no Domain.
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["SESSION_COOKIE_NAME"] = SECURE_SESSION_COOKIE
        app.config["SESSION_COOKIE_DOMAIN"] = None
        app.config["SESSION_COOKIE_PATH"] = "/"
        app.config["PREFERRED_URL_SCHEME"] = "https"
    else:
        app.config["SESSION_COOKIE_NAME"] = SESSION_COOKIE
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(minutes=int(app.config["SESSION_IDLE_MINUTES"]))


def _configure_limiter(app: Flask) -> None:
    config = app.config
    if not config.get("RATELIMIT_STORAGE_URI"):
        config["RATELIMIT_STORAGE_URI"] = config.get("REDIS_URL") or "memory://"
    if app.testing:
        # Each test app counts on its own, even when the suite shares one Redis.
        config["RATELIMIT_KEY_PREFIX"] = f"{config['RATELIMIT_KEY_PREFIX']}-{secrets.token_hex(6)}"
    config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    config.setdefault("RATELIMIT_HEADERS_ENABLED", False)
    # One shared budget per credential (or user, or address) across every route.
    config["RATELIMIT_APPLICATION"] = api_limit
    config["RATELIMIT_APPLICATION_EXEMPT_WHEN"] = _exempt_from_api_limit
    limiter.init_app(app)


def api_limit() -> str:
    """Return the configured limit shared by all of a client's requests."""
    return str(current_app.config["RATELIMIT_API"])


def login_limit() -> str:
    """Return the configured limit on sign-in attempts per address."""
    return str(current_app.config["RATELIMIT_LOGIN"])


def _exempt_from_api_limit() -> bool:
    return request.endpoint in ("static", "meta.healthz")


def rate_limit_key() -> str:
    """Key a request by its API credential, else its signed-in user, else its address."""
    secret = request.headers.get("Api-key") or _bearer_value()
    if secret:
        return "cred:" + hashlib.sha256(secret.strip().encode()).hexdigest()[:32]
    user_id = session.get("user_id")
    if user_id:
        return f"user:{user_id}"
    return f"ip:{get_remote_address()}"


def _bearer_value() -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def _expire_session() -> None:
    # Idle expiry is the signed cookie's max age; this is the absolute limit since sign-in.
    login_at = session.get("login_at")
    max_age = int(current_app.config["SESSION_MAX_HOURS"]) * 3600
    if login_at is not None and time.time() - float(login_at) > max_age:
        session.clear()


def _check_csrf() -> None:
    if request.method not in UNSAFE_METHODS:
        return
    # An Api-key or Authorization header is never sent by a browser on its own: no CSRF risk.
    if request.headers.get("Api-key") is not None or request.headers.get("Authorization") is not None:
        return
    # An API call with neither a header nor a signed-in session is answered 401 by the API itself.
    if not is_page_request() and not session.get("user_id"):
        return
    csrf.protect()


def content_security_policy() -> str:
    """Return the CSP: only this origin, plus the identity provider as a form target for sign-in/out."""
    from webapp.auth.oidc import provider_origins

    form_action = " ".join(["'self'", *provider_origins()])
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
        f"frame-ancestors 'none'; form-action {form_action}"
    )


def _security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", content_security_policy())
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
    if current_app.config["SECURE_COOKIES"]:
        headers.setdefault(
            "Strict-Transport-Security",
            f"max-age={int(current_app.config['HSTS_SECONDS'])}; includeSubDomains",
        )
    if response.status_code == 429 and "Retry-After" not in headers:
        headers["Retry-After"] = str(_retry_after())
    return response


def _retry_after() -> int:
    current = limiter.current_limit
    if current is None:
        return 60
    return max(1, math.ceil(current.reset_at - time.time()))
