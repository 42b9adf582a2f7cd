"""Sign-in with OpenID Connect against a real provider: the code flow, PKCE, state, nonce and issuer."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests import factories
from tests.auth.flow import begin, cookie_value, csrf_token, local, pending_states, session_of, sign_in
from tests.auth.idp import Provider, s256
from webapp.auth.oidc import MAX_PENDING_LOGINS
from webapp.cli import add_member
from webapp.extensions import db
from webapp.models import User


@pytest.fixture
def app_config(idp: Provider) -> dict[str, Any]:
    return idp.config()


@pytest.fixture
def invited(org: Any) -> User:
    """ada@example.com, added with `members add` before her first sign-in (no issuer, no sub yet)."""
    return add_member("ada@example.com", org.id, "admin").user


def verified(idp: Provider, sub: str, email: str, name: str = "Ada Lovelace") -> None:
    idp.set_user(sub, email=email, email_verified=True, name=name)


def assert_signed_out(client: FlaskClient) -> None:
    assert "user_id" not in session_of(client)


def test_full_login_links_the_invitation_and_lands_on_the_flow_list(
    client: FlaskClient, idp: Provider, invited: User
) -> None:
    verified(idp, "ada-sub", "Ada@Example.com")

    answer = sign_in(client, idp, "ada-sub")

    assert answer.status_code == 302
    assert answer.headers["Location"] == "/ui/flows"
    db.session.expire_all()
    user = db.session.get(User, invited.id)
    assert (user.issuer, user.sub, user.email, user.name) == (
        idp.issuer,
        "ada-sub",
        "ada@example.com",
        "Ada Lovelace",
    )
    assert user.last_login_at is not None
    assert session_of(client)["user_id"] == invited.id
    assert client.get("/ui/settings/members").status_code == 200


def test_the_authorization_request_carries_state_nonce_and_an_s256_challenge_the_token_request_answers(
    client: FlaskClient, idp: Provider, invited: User
) -> None:
    verified(idp, "ada-sub", "ada@example.com")
    sign_in(client, idp, "ada-sub")

    authorize = idp.requests_to("/oauth2/authorize")[0].args
    token = idp.requests_to("/oauth2/token")[0].form
    assert authorize["response_type"] == "code"
    assert authorize["code_challenge_method"] == "S256"
    assert len(authorize["state"]) >= 20 and len(authorize["nonce"]) >= 20
    assert "openid" in authorize["scope"].split()
    assert len(token["code_verifier"]) >= 43
    assert s256(token["code_verifier"]) == authorize["code_challenge"]
    assert token["grant_type"] == "authorization_code"
    assert token["redirect_uri"] == authorize["redirect_uri"] == "http://localhost/auth/callback"


def tamper_pending(client: FlaskClient, **changes: str) -> None:
    with client.session_transaction() as sess:
        for key in [k for k in sess if k.startswith("_state_oidc_")]:
            entry = dict(sess[key])
            entry["data"] = {**entry["data"], **changes}
            sess[key] = entry


def test_a_wrong_pkce_verifier_fails_where_the_provider_checks_pkce(
    client: FlaskClient, idp: Provider, invited: User
) -> None:
    verified(idp, "ada-sub", "ada@example.com")
    authorization_url = begin(client)
    tamper_pending(client, code_verifier="x" * 50)

    answer = client.get(local(idp.authorize(authorization_url, "ada-sub")))

    assert answer.status_code == 400
    assert "refused the sign-in (invalid_grant)" in answer.get_data(as_text=True)
    assert_signed_out(client)


def test_oidc_provider_mock_0_3_alone_does_not_check_pkce(
    client: FlaskClient, idp: Provider, invited: User
) -> None:
    # Why the probe checks PKCE: without it the provider accepts any verifier (a known gap of 0.3.x).
    idp.probe.enforce_pkce = False
    verified(idp, "ada-sub", "ada@example.com")
    authorization_url = begin(client)
    tamper_pending(client, code_verifier="x" * 50)

    answer = client.get(local(idp.authorize(authorization_url, "ada-sub")))

    assert answer.status_code == 302


def test_a_callback_with_the_state_of_another_browser_is_refused(
    app: Flask, client: FlaskClient, idp: Provider, invited: User
) -> None:
    verified(idp, "ada-sub", "ada@example.com")
    callback = idp.authorize(begin(client), "ada-sub")
    attacker = app.test_client()
    csrf_token(attacker)  # the other browser has a session of its own

    answer = attacker.get(local(callback))

    assert answer.status_code == 400
    assert "does not belong to a sign-in started in this browser" in answer.get_data(as_text=True)
    assert_signed_out(attacker)
    assert client.get(local(callback)).status_code == 302  # the right browser still can


def test_a_callback_used_twice_is_refused_the_second_time(
    client: FlaskClient, idp: Provider, invited: User
) -> None:
    verified(idp, "ada-sub", "ada@example.com")
    callback = idp.authorize(begin(client), "ada-sub")
    assert client.get(local(callback)).status_code == 302
    client.post("/auth/logout", data={"csrf_token": csrf_token(client, "/ui/settings/tokens")})
    assert_signed_out(client)

    answer = client.get(local(callback))

    assert answer.status_code == 400
    assert_signed_out(client)


def test_an_id_token_with_another_nonce_is_refused(client: FlaskClient, idp: Provider, invited: User) -> None:
    verified(idp, "ada-sub", "ada@example.com")
    authorization_url = begin(client)  # the provider puts this request's nonce in the ID token
    tamper_pending(client, nonce="a-nonce-this-browser-never-sent")

    answer = client.get(local(idp.authorize(authorization_url, "ada-sub")))

    assert answer.status_code == 400
    assert "ID token is not valid" in answer.get_data(as_text=True)
    assert_signed_out(client)


def test_access_denied_at_the_provider_shows_a_clear_page_and_signs_nobody_in(
    client: FlaskClient, idp: Provider
) -> None:
    callback = idp.authorize(begin(client), deny=True)
    assert parse_qs(urlsplit(callback).query)["error"] == ["access_denied"]

    answer = client.get(local(callback))

    assert answer.status_code == 400
    assert "Sign-in was cancelled at the identity provider" in answer.get_data(as_text=True)
    assert_signed_out(client)


def test_a_discovery_document_naming_another_issuer_stops_sign_in_before_the_redirect(
    client: FlaskClient, idp: Provider
) -> None:
    idp.probe.discovery_changes = {"issuer": "https://evil.example"}
    token = csrf_token(client)

    answer = client.post("/auth/login", data={"csrf_token": token})

    assert answer.status_code == 502
    assert "names a different issuer" in answer.get_data(as_text=True)
    assert pending_states(client) == {}
    assert idp.requests_to("/oauth2/authorize") == []


def test_an_id_token_from_another_issuer_is_refused(
    client: FlaskClient, idp: Provider, invited: User
) -> None:
    # The provider names itself after the host it is asked on: via "localhost" its tokens say another iss.
    port = idp.server.server_port
    idp.probe.discovery_changes = {"token_endpoint": f"http://localhost:{port}/oauth2/token"}
    verified(idp, "ada-sub", "ada@example.com")

    answer = sign_in(client, idp, "ada-sub")

    assert answer.status_code == 400
    assert "ID token is not valid" in answer.get_data(as_text=True)
    assert_signed_out(client)


def test_the_audience_must_be_this_client_even_when_azp_names_it(app: Flask, idp: Provider) -> None:
    from joserfc import jwk, jwt
    from joserfc.errors import InvalidClaimError

    from webapp.auth import oidc

    key = jwk.RSAKey.generate_key(2048, parameters={"kid": "k1"})
    now = 1_900_000_000
    claims = {"iss": idp.issuer, "sub": "s", "aud": "another-client", "azp": app.config["OIDC_CLIENT_ID"]}
    token = jwt.encode(
        {"alg": "RS256", "kid": "k1"}, {**claims, "iat": now, "exp": now + 600, "nonce": "n"}, key
    )
    client = oidc._make_client(app)
    client.server_metadata.update(
        {"issuer": idp.issuer, "jwks": {"keys": [key.as_dict(private=False)]}, "_loaded_at": 1}
    )

    with app.test_request_context():
        # Authlib by itself accepts it (aud only checked through azp) ...
        assert client.parse_id_token({"id_token": token}, nonce="n", leeway=10**10)["sub"] == "s"
        # ... the options the app passes refuse it.
        with pytest.raises(InvalidClaimError, match="aud"):
            client.parse_id_token(
                {"id_token": token}, nonce="n", claims_options=oidc.claims_options(), leeway=10**10
            )


def test_a_user_is_known_by_issuer_and_sub_and_keeps_email_and_name_current(
    app: Flask, client: FlaskClient, idp: Provider, invited: User
) -> None:
    verified(idp, "ada-sub", "ada@example.com")
    sign_in(client, idp, "ada-sub")
    verified(idp, "ada-sub", "countess@example.com", name="Augusta Ada King")

    again = app.test_client()
    assert sign_in(again, idp, "ada-sub").status_code == 302

    db.session.expire_all()
    user = db.session.get(User, invited.id)
    assert (user.email, user.name) == ("countess@example.com", "Augusta Ada King")
    assert db.session.scalar(select(func.count()).select_from(User)) == 1


def test_another_account_with_the_same_email_does_not_take_over_a_linked_user(
    app: Flask, client: FlaskClient, idp: Provider, invited: User
) -> None:
    verified(idp, "ada-sub", "ada@example.com")
    sign_in(client, idp, "ada-sub")
    verified(idp, "impostor-sub", "ada@example.com")

    impostor = app.test_client()
    answer = sign_in(impostor, idp, "impostor-sub")

    assert answer.headers["Location"] == "/auth/no-membership"
    assert session_of(impostor)["user_id"] != invited.id


def test_an_unverified_email_does_not_claim_an_invitation(
    client: FlaskClient, idp: Provider, invited: User
) -> None:
    idp.set_user("eve-sub", email="ada@example.com", email_verified=False, name="Eve")

    answer = sign_in(client, idp, "eve-sub")

    assert answer.headers["Location"] == "/auth/no-membership"
    db.session.expire_all()
    assert db.session.get(User, invited.id).sub is None
    eve = db.session.get(User, session_of(client)["user_id"])
    assert (eve.sub, eve.email) == ("eve-sub", None)


def test_sign_in_replaces_everything_the_browser_session_held(
    client: FlaskClient, idp: Provider, invited: User
) -> None:
    other = factories.make_org("Other")
    verified(idp, "ada-sub", "ada@example.com")
    authorization_url = begin(client)
    with client.session_transaction() as sess:
        sess["planted"] = "by an attacker"
        sess["org_id"] = other.id
        sess["user_id"] = "someone-else"
    before = cookie_value(client)

    client.get(local(idp.authorize(authorization_url, "ada-sub")))

    held = session_of(client)
    assert set(held) == {"_permanent", "user_id", "org_id", "login_at", "id_token_hint"}
    assert held["user_id"] == invited.id and held["org_id"] != other.id
    assert cookie_value(client) != before


@pytest.mark.parametrize(
    ("next_url", "lands_on"),
    [
        ("/ui/settings/tokens?x=1", "/ui/settings/tokens?x=1"),
        ("//evil.example/ui", "/ui/flows"),
        ("/\\evil.example", "/ui/flows"),
        ("https://evil.example/ui/flows", "/ui/flows"),
        ("javascript:alert(1)", "/ui/flows"),
        ("/auth/logout", "/ui/flows"),
        ("/live_flows/", "/ui/flows"),
    ],
)
def test_next_only_ever_redirects_to_a_page_of_the_app(
    client: FlaskClient, idp: Provider, invited: User, next_url: str, lands_on: str
) -> None:
    verified(idp, "ada-sub", "ada@example.com")

    answer = sign_in(client, idp, "ada-sub", next_url=next_url)

    assert answer.headers["Location"] == lands_on


def test_a_page_that_needs_sign_in_comes_back_after_it(
    client: FlaskClient, idp: Provider, invited: User
) -> None:
    verified(idp, "ada-sub", "ada@example.com")
    to_login = client.get("/ui/settings/members")
    assert to_login.headers["Location"] == "/auth/login?next=/ui/settings/members"
    page = client.get(to_login.headers["Location"]).get_data(as_text=True)
    assert 'name="next" value="/ui/settings/members"' in page

    answer = sign_in(client, idp, "ada-sub", next_url="/ui/settings/members")

    assert answer.headers["Location"] == "/ui/settings/members"


def test_many_abandoned_sign_ins_keep_the_cookie_small_and_the_newest_still_works(
    app: Flask, client: FlaskClient, idp: Provider, invited: User
) -> None:
    app.config["RATELIMIT_LOGIN"] = "1000 per minute"
    verified(idp, "ada-sub", "ada@example.com")
    urls = [begin(client, next_url="/ui/settings/members?" + "x" * 300) for _ in range(40)]

    assert len(pending_states(client)) == MAX_PENDING_LOGINS
    assert len(cookie_value(client) or "") < 4096 - 200
    assert client.get(local(idp.authorize(urls[0], "ada-sub"))).status_code == 400  # pruned
    answer = client.get(local(idp.authorize(urls[-1], "ada-sub")))
    assert answer.status_code == 302
    assert len(cookie_value(client) or "") < 4096 - 200


def test_logout_clears_the_session_and_ends_it_at_the_provider_with_an_id_token_hint(
    client: FlaskClient, idp: Provider, invited: User
) -> None:
    verified(idp, "ada-sub", "ada@example.com")
    sign_in(client, idp, "ada-sub")
    id_token = session_of(client)["id_token_hint"]

    answer = client.post("/auth/logout", data={"csrf_token": csrf_token(client, "/ui/settings/tokens")})

    location = urlsplit(answer.headers["Location"])
    query = parse_qs(location.query)
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{idp.issuer}/oauth2/end_session"
    assert query["id_token_hint"] == [id_token]
    assert query["post_logout_redirect_uri"] == ["http://localhost/auth/login?signed_out=1"]
    assert session_of(client) == {}
    assert client.get("/ui/settings/tokens").headers["Location"].startswith("/auth/login")
    claims = json.loads(_b64(id_token.split(".")[1]))
    assert (claims["iss"], claims["sub"], claims["aud"]) == (
        idp.issuer,
        "ada-sub",
        [idp.config()["OIDC_CLIENT_ID"]],
    )


def _b64(part: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def test_logout_without_an_end_session_endpoint_returns_to_the_sign_in_page(
    client: FlaskClient, idp: Provider, invited: User
) -> None:
    idp.probe.discovery_changes = {"end_session_endpoint": ""}
    verified(idp, "ada-sub", "ada@example.com")
    sign_in(client, idp, "ada-sub")

    answer = client.post("/auth/logout", data={"csrf_token": csrf_token(client, "/ui/settings/tokens")})

    assert answer.headers["Location"] == "/auth/login?signed_out=1"
    assert session_of(client) == {}
    assert "You are signed out" in client.get("/auth/login?signed_out=1").get_data(as_text=True)


def test_the_development_provider_is_labelled_on_the_sign_in_page(app: Flask, client: FlaskClient) -> None:
    assert "Development provider" not in client.get("/auth/login").get_data(as_text=True)
    app.config["OIDC_DEV_PROVIDER"] = True

    page = client.get("/auth/login").get_data(as_text=True)

    assert "Development provider" in page and "Not for production" in page


def test_a_broken_token_endpoint_gives_a_clear_page_and_signs_nobody_in(
    client: FlaskClient, idp: Provider, invited: User
) -> None:
    idp.probe.discovery_changes = {"token_endpoint": f"{idp.issuer}/no-such-endpoint"}
    verified(idp, "ada-sub", "ada@example.com")

    answer = sign_in(client, idp, "ada-sub")

    assert answer.status_code in (400, 502)
    assert "Sign-in failed" in answer.get_data(as_text=True)
    assert_signed_out(client)
