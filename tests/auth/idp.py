"""A real OpenID provider for tests: oidc-provider-mock over HTTP in a thread, behind a probe.

The probe records every request the provider receives (so tests can see PKCE and the token request on the
wire) and can make the provider stricter or lie: oidc-provider-mock 0.3.x does not check PKCE, so the probe
checks S256(code_verifier) against the code's code_challenge at the token endpoint, as RFC 7636 requires.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from webapp.devidp import provider_app

CLIENT_ID = "live-flows-test"
CLIENT_SECRET = "test-client-secret"


@dataclass
class Seen:
    """One request the provider received."""

    method: str
    path: str
    args: dict[str, str]
    form: dict[str, str]


@dataclass
class Probe:
    """WSGI middleware in front of the provider: records traffic, enforces PKCE, can rewrite discovery."""

    app: Any
    seen: list[Seen] = field(default_factory=list)
    enforce_pkce: bool = True
    discovery_changes: dict[str, str] = field(default_factory=dict)
    challenges: dict[str, tuple[str, str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self.lock:
            self.seen.clear()
            self.enforce_pkce = True
            self.discovery_changes = {}

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        body = request.get_data(cache=True)
        environ["wsgi.input"] = io.BytesIO(body)
        form = {k: v[0] for k, v in parse_qs(body.decode("latin-1")).items()} if body else {}
        seen = Seen(request.method, request.path, dict(request.args), form)
        with self.lock:
            self.seen.append(seen)
        if request.path == "/oauth2/token" and self.enforce_pkce:
            refusal = self._check_verifier(form)
            if refusal is not None:
                return refusal(environ, start_response)
        response = Response.from_app(self.app, environ)
        if request.path == "/oauth2/authorize" and request.method == "POST":
            self._remember_challenge(response, seen.args)
        if request.path == "/.well-known/openid-configuration" and self.discovery_changes:
            document = json.loads(response.get_data())
            document.update(self.discovery_changes)
            response.set_data(json.dumps(document))
        return response(environ, start_response)

    def _remember_challenge(self, response: Response, args: dict[str, str]) -> None:
        code = parse_qs(urlsplit(response.headers.get("Location", "")).query).get("code", [None])[0]
        if code and args.get("code_challenge"):
            self.challenges[code] = (args["code_challenge"], args.get("code_challenge_method", "plain"))

    def _check_verifier(self, form: dict[str, str]) -> Response | None:
        challenge, method = self.challenges.get(form.get("code", ""), (None, None))
        if challenge is None:
            return None
        verifier = form.get("code_verifier", "")
        if method != "S256" or s256(verifier) != challenge:
            body = {"error": "invalid_grant", "error_description": "PKCE verification failed"}
            return Response(json.dumps(body), 400, content_type="application/json")
        return None


def s256(verifier: str) -> str:
    """Return the S256 code challenge of a PKCE verifier."""
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class _Quiet(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


@dataclass
class Provider:
    """A running provider: its issuer URL, its probe and helpers that act as the user's browser there."""

    server: BaseWSGIServer
    probe: Probe

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def config(self, **extra: Any) -> dict[str, Any]:
        """Return the app configuration that points at this provider."""
        return {
            "OIDC_ISSUER": self.issuer,
            "OIDC_CLIENT_ID": CLIENT_ID,
            "OIDC_CLIENT_SECRET": CLIENT_SECRET,
            **extra,
        }

    def set_user(self, sub: str, **claims: Any) -> None:
        """Define the claims the provider asserts for `sub`."""
        requests.put(f"{self.issuer}/users/{sub}", json=claims, timeout=5).raise_for_status()

    def authorize(self, authorization_url: str, sub: str | None = None, *, deny: bool = False) -> str:
        """Act as the browser on the provider's form; return the callback URL it redirects to."""
        data = {"action": "deny"} if deny else {"sub": sub or ""}
        answer = requests.post(authorization_url, data=data, allow_redirects=False, timeout=5)
        assert answer.status_code == 302, answer.text[:500]
        return answer.headers["Location"]

    def requests_to(self, path: str) -> list[Seen]:
        """Return the recorded requests to `path`."""
        with self.probe.lock:
            return [seen for seen in self.probe.seen if seen.path == path]


@contextmanager
def running_provider() -> Iterator[Provider]:
    """Run a provider (requiring a nonce) on a free port of 127.0.0.1 while the block runs."""
    probe = Probe(provider_app(users=()))
    server = make_server("127.0.0.1", 0, probe, threaded=True, request_handler=_Quiet)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield Provider(server, probe)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(2)
