"""A development OpenID provider next to the app, for `make run` — never for production.

    python -m webapp.devidp -- flask --app webapp run --port 5000

runs oidc-provider-mock (a dev dependency) on http://127.0.0.1:5001 in a thread, points the command it
starts at it (FLASK_OIDC_ISSUER, FLASK_OIDC_CLIENT_ID, FLASK_OIDC_CLIENT_SECRET, FLASK_OIDC_DEV_PROVIDER)
and stops it when the command ends. When FLASK_OIDC_ISSUER is already set, a real provider is configured:
the command runs as it is and no development provider is started.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any

from jinja2 import ChoiceLoader, FileSystemLoader
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

HOST = "127.0.0.1"
DEFAULT_PORT = 5001
CLIENT_ID = "live-flows-dev"
CLIENT_SECRET = "live-flows-dev-secret"
DEMO_USERS = (("demo@example.com", "Demo User"),)
TEMPLATES = os.path.join(os.path.dirname(__file__), "..", "templates", "devidp")


def provider_app(users: Sequence[tuple[str, str]] = DEMO_USERS) -> Any:
    """Build the development provider: any email typed in its form signs in as a verified address."""
    import flask
    from authlib.deprecate import AuthlibDeprecationWarning

    with warnings.catch_warnings():
        # oidc-provider-mock 0.3 still imports authlib.jose, which Authlib 1.7+ deprecates.
        warnings.simplefilter("ignore", AuthlibDeprecationWarning)
        import oidc_provider_mock
        from oidc_provider_mock._storage import storage

    app = oidc_provider_mock.app(
        require_nonce=True,
        user_claims=[_user(email, name) for email, name in users],
    )
    # The mock wraps itself in Werkzeug's interactive debugger; a sign-in page needs no remote console.
    app.debug = False
    app.wsgi_app = getattr(app.wsgi_app, "app", app.wsgi_app)  # type: ignore[method-assign]
    # Its own cookie name: on 127.0.0.1 the app's "session" cookie is shared across ports.
    app.config["SESSION_COOKIE_NAME"] = "dev_idp_session"
    # Local look and a "development provider" banner instead of the mock's CDN stylesheet.
    app.jinja_loader = ChoiceLoader([FileSystemLoader(TEMPLATES), app.jinja_loader])  # type: ignore[list-item]

    @app.before_request
    def _verified_email_users() -> None:
        request = flask.request
        if request.method == "POST" and request.endpoint == "oidc-provider-mock.authorize":
            sub = (request.form.get("sub") or "").strip()
            if "@" in sub and storage.get_user(sub) is None:
                storage.store_user(_user(sub, sub.split("@")[0].replace(".", " ").title()))

    return app


def _user(email: str, name: str) -> Any:
    from oidc_provider_mock import User

    return User(sub=email, claims={"email": email, "email_verified": True, "name": name})


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Keep the app's console for the app's own log."""


@contextmanager
def running(port: int = DEFAULT_PORT, app: Any = None) -> Iterator[BaseWSGIServer]:
    """Serve the development provider on 127.0.0.1:`port` in a thread while the block runs."""
    server = make_server(HOST, port, app or provider_app(), threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(2)


def issuer_of(server: BaseWSGIServer) -> str:
    """Return the issuer URL of a running provider (the mock names itself by its host URL)."""
    return f"http://{HOST}:{server.server_port}"


def main(argv: Sequence[str]) -> int:
    """Run the command in `argv` with a development provider beside it, unless one is configured."""
    command = list(argv[1:] if argv and argv[0] == "--" else argv)
    if not command:
        print(__doc__, file=sys.stderr)
        return 2
    if os.environ.get("FLASK_OIDC_ISSUER"):
        print("FLASK_OIDC_ISSUER is set: using that provider, no development provider.", file=sys.stderr)
        return subprocess.call(command)
    port = int(os.environ.get("DEV_IDP_PORT", DEFAULT_PORT))
    with ExitStack() as stack:
        try:
            server = stack.enter_context(running(port))
        except OSError as err:
            print(f"Cannot start the development OpenID provider on {HOST}:{port} ({err}).", file=sys.stderr)
            print(
                "Free the port, set DEV_IDP_PORT, or set FLASK_OIDC_ISSUER to a real provider.",
                file=sys.stderr,
            )
            return 1
        issuer = issuer_of(server)
        env = {
            **os.environ,
            "FLASK_OIDC_ISSUER": issuer,
            "FLASK_OIDC_CLIENT_ID": CLIENT_ID,
            "FLASK_OIDC_CLIENT_SECRET": CLIENT_SECRET,
            "FLASK_OIDC_DEV_PROVIDER": "true",
        }
        print(
            f" * Development OpenID provider (oidc-provider-mock) on {issuer}: not for production",
            file=sys.stderr,
        )
        print(" * Sign in as demo@example.com (or any email: this provider vouches for it)", file=sys.stderr)
        return _run(command, env)


def _run(command: list[str], env: dict[str, str]) -> int:
    child = subprocess.Popen(command, env=env)
    try:
        return child.wait()
    except KeyboardInterrupt:
        # Ctrl-C reached the child too (same process group); give it a moment to stop cleanly.
        try:
            return child.wait(10)
        except subprocess.TimeoutExpired:
            child.terminate()
            return child.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
