"""OpenID Connect sign-in with Authlib's Flask client: discovery, PKCE (S256), state, nonce, ID token."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.flask_client import FlaskOAuth2App
from flask import Flask, current_app, has_app_context, request, session, url_for
from joserfc.errors import JoseError

from webapp.extensions import oauth

log = logging.getLogger(__name__)

CLIENT_NAME = "oidc"
EXTENSION_KEY = "live_flows.oidc"
STATE_PREFIX = f"_state_{CLIENT_NAME}_"
# Each abandoned login leaves its state in the cookie; keep only the newest few so it stays small.
MAX_PENDING_LOGINS = 3
# Longer ID tokens are not kept for id_token_hint: the session cookie must stay well under 4 KB.
MAX_ID_TOKEN_HINT = 1500
ID_TOKEN_LEEWAY_S = 60


class SignInError(Exception):
    """A sign-in that cannot go on; the message is shown to the user as it is."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Identity:
    """Who the identity provider says signed in, from a validated ID token."""

    issuer: str
    sub: str
    email: str | None
    email_verified: bool
    name: str | None
    id_token: str | None


def init_app(app: Flask) -> None:
    """Bind Authlib to the app and build its OpenID Connect client when an issuer is configured."""
    oauth.init_app(app)
    app.extensions.pop(EXTENSION_KEY, None)
    if configured(app):
        app.extensions[EXTENSION_KEY] = _make_client(app)


def configured(app: Flask | None = None) -> bool:
    """Tell whether sign-in is configured (an issuer and a client id)."""
    config = (app or current_app).config
    return bool(config.get("OIDC_ISSUER") and config.get("OIDC_CLIENT_ID"))


def _make_client(app: Flask) -> FlaskOAuth2App:
    # One client per app (not oauth.register's process-wide cache), so each app keeps its own issuer.
    config = app.config
    secret = config.get("OIDC_CLIENT_SECRET") or None
    framework = oauth.framework_integration_cls(CLIENT_NAME, None)
    return oauth.oauth2_client_cls(  # type: ignore[no-any-return]
        framework,
        CLIENT_NAME,
        client_id=config["OIDC_CLIENT_ID"],
        client_secret=secret,
        server_metadata_url=discovery_url(config["OIDC_ISSUER"]),
        client_kwargs={
            "scope": config["OIDC_SCOPES"],
            "code_challenge_method": "S256",
            "token_endpoint_auth_method": "client_secret_basic" if secret else "none",
            "default_timeout": float(config["OIDC_TIMEOUT_S"]),
        },
    )


def discovery_url(issuer: str) -> str:
    """Return the issuer's OpenID Connect discovery document URL."""
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def client() -> FlaskOAuth2App:
    """Return the app's OpenID Connect client; sign-in must be configured."""
    found = current_app.extensions.get(EXTENSION_KEY)
    if found is None:
        raise SignInError("Sign-in is not configured.", 404)
    return found  # type: ignore[no-any-return]


def metadata() -> dict[str, Any]:
    """Return the provider's discovery document, after checking that it names the configured issuer."""
    oidc = client()
    try:
        document = oidc.load_server_metadata()
    except (requests.RequestException, ValueError) as err:
        log.warning("OpenID provider discovery failed: %s", err)
        raise SignInError("The identity provider cannot be reached. Try again in a moment.", 502) from err
    issuer = current_app.config["OIDC_ISSUER"]
    if document.get("issuer") != issuer:
        # Forget the document so that a corrected provider is picked up without a restart.
        oidc.server_metadata = {}
        log.error("OpenID discovery names issuer %r, configured %r", document.get("issuer"), issuer)
        raise SignInError(
            "The identity provider's discovery document names a different issuer than the one "
            "configured, so sign-in is refused. An administrator must fix OIDC_ISSUER.",
            502,
        )
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not document.get(key):
            raise SignInError(f"The identity provider's discovery document has no {key}.", 502)
    return document


def provider_origins() -> list[str]:
    """Return the origins the browser is sent to for sign-in and sign-out (for CSP form-action)."""
    if not has_app_context() or not configured():
        return []
    found = current_app.extensions.get(EXTENSION_KEY)
    urls = [current_app.config["OIDC_ISSUER"]]
    if found is not None:
        urls += [
            found.server_metadata.get(k) or "" for k in ("authorization_endpoint", "end_session_endpoint")
        ]
    origins: list[str] = []
    for url in urls:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
        if origin and origin not in origins:
            origins.append(origin)
    return origins


def redirect_uri() -> str:
    """Return the callback URL registered with the provider."""
    configured_uri = current_app.config.get("OIDC_REDIRECT_URI")
    return str(configured_uri) if configured_uri else url_for("auth.callback", _external=True)


def start(next_url: str | None) -> str:
    """Begin a sign-in: remember state, nonce, PKCE verifier and `next`; return the provider's URL."""
    metadata()
    oidc = client()
    callback = redirect_uri()
    rv = oidc.create_authorization_url(callback)
    # Only what the callback needs is stored (Authlib's authorize_redirect would also keep the whole URL).
    oidc.save_authorize_data(
        state=rv["state"],
        redirect_uri=callback,
        code_verifier=rv["code_verifier"],
        nonce=rv["nonce"],
        next=next_url,
    )
    prune_pending_logins()
    return str(rv["url"])


def prune_pending_logins(keep: int = MAX_PENDING_LOGINS) -> None:
    """Drop all but the newest `keep` unfinished sign-in states from the session."""
    pending = sorted(
        (key for key in session if key.startswith(STATE_PREFIX)),
        key=lambda key: float((session.get(key) or {}).get("exp") or 0),
        reverse=True,
    )
    for key in pending[keep:]:
        session.pop(key, None)


def pending_next(state: str | None) -> str | None:
    """Return the `next` stored with a pending sign-in, if that state is known."""
    data = client().framework.get_state_data(session, state) if state else None
    return (data or {}).get("next")


def finish() -> Identity:
    """Complete a sign-in at the callback: check state, redeem the code, validate the ID token."""
    oidc = client()
    state = request.args.get("state")
    error = request.args.get("error")
    if error:
        if state:
            oidc.framework.clear_state_data(session, state)
        raise SignInError(_provider_error(error, request.args.get("error_description")), 400)
    if not state or oidc.framework.get_state_data(session, state) is None:
        raise SignInError(
            "This sign-in response does not belong to a sign-in started in this browser, or it was "
            "already used. Please start again.",
            400,
        )
    document = metadata()
    try:
        token = oidc.authorize_access_token(claims_options=claims_options(), leeway=ID_TOKEN_LEEWAY_S)
    except OAuthError as err:
        log.warning("OpenID token request refused: %s %s", err.error, err.description)
        raise SignInError(
            f"The identity provider refused the sign-in ({err.error}). Please start again."
        ) from err
    except JoseError as err:
        log.warning("ID token rejected: %r", err)
        raise SignInError("The identity provider's ID token is not valid, so sign-in is refused.") from err
    except (requests.RequestException, ValueError) as err:
        # Unreachable, or an answer that is not the JSON token response.
        log.warning("OpenID token request failed: %s", err)
        raise SignInError("The identity provider cannot be reached. Try again in a moment.", 502) from err
    claims = token.get("userinfo")
    if not claims:
        raise SignInError("The identity provider returned no ID token, so sign-in is refused.")
    id_token = token.get("id_token")
    email = claims.get("email")
    return Identity(
        issuer=str(document["issuer"]),
        sub=str(claims["sub"]),
        email=str(email).strip().lower() if email else None,
        email_verified=claims.get("email_verified") is True,
        name=str(claims["name"]).strip()[:200] if claims.get("name") else None,
        id_token=id_token if id_token and len(id_token) <= MAX_ID_TOKEN_HINT else None,
    )


def claims_options() -> dict[str, Any]:
    """Return the ID token claim rules: this issuer, this client as audience, and an expiry."""
    config = current_app.config
    return {
        "iss": {"essential": True, "value": config["OIDC_ISSUER"]},
        # Authlib alone only checks aud through azp; name the client explicitly.
        "aud": {"essential": True, "value": config["OIDC_CLIENT_ID"]},
        "sub": {"essential": True},
        "exp": {"essential": True},
        "iat": {"essential": True},
    }


def logout_url(id_token_hint: str | None, after: str) -> str | None:
    """Return the provider's end-session URL (RP-initiated logout), or None if it has none."""
    try:
        document = metadata()
    except SignInError:
        return None
    if not document.get("end_session_endpoint"):
        return None
    result = client().create_logout_url(
        post_logout_redirect_uri=after,
        id_token_hint=id_token_hint,
        client_id=current_app.config["OIDC_CLIENT_ID"],
    )
    return str(result["url"])


def _provider_error(error: str, description: str | None) -> str:
    if error == "access_denied":
        return "Sign-in was cancelled at the identity provider. You are not signed in."
    detail = f": {description}" if description else ""
    return f"The identity provider could not sign you in ({error}{detail})."[:500]
