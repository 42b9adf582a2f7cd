"""`make run`'s development OpenID provider: beside the app, never when a real issuer is configured."""

from __future__ import annotations

import json
import sys

import pytest
import requests

from webapp import devidp

# The child prints what it was given and proves the provider answers while it runs.
CHILD = """
import json, os, urllib.request
issuer = os.environ.get("FLASK_OIDC_ISSUER")
document = None
if os.environ.get("FLASK_OIDC_DEV_PROVIDER"):
    document = json.load(urllib.request.urlopen(issuer + "/.well-known/openid-configuration", timeout=5))
print(json.dumps({"issuer": issuer, "dev": os.environ.get("FLASK_OIDC_DEV_PROVIDER"),
                  "client": os.environ.get("FLASK_OIDC_CLIENT_ID"), "document": document}))
"""


def run_child(capfd: pytest.CaptureFixture[str]) -> dict[str, object]:
    assert devidp.main(["--", sys.executable, "-c", CHILD]) == 0
    return json.loads(capfd.readouterr().out.strip().splitlines()[-1])


def test_without_an_issuer_the_command_runs_beside_a_development_provider(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("FLASK_OIDC_ISSUER", raising=False)
    monkeypatch.setenv("DEV_IDP_PORT", "0")

    seen = run_child(capfd)

    assert seen["dev"] == "true" and seen["client"] == devidp.CLIENT_ID
    assert isinstance(seen["document"], dict)
    assert seen["document"]["issuer"] == seen["issuer"]
    with pytest.raises(requests.ConnectionError):  # stopped with the command
        requests.get(f"{seen['issuer']}/.well-known/openid-configuration", timeout=2)


def test_with_an_issuer_configured_no_development_provider_is_started(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FLASK_OIDC_ISSUER", "https://login.example.com")
    monkeypatch.delenv("FLASK_OIDC_DEV_PROVIDER", raising=False)
    monkeypatch.delenv("FLASK_OIDC_CLIENT_ID", raising=False)

    seen = run_child(capfd)

    assert seen == {"issuer": "https://login.example.com", "dev": None, "client": None, "document": None}
