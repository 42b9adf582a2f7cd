"""No state change on GET, anywhere: walk the URL map, then call every GET route and watch the database."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from werkzeug.routing import Rule

from tests.browser import HX, signed_in
from tests.conftest import ApiClient
from tests.security.conftest import World, snapshot

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


@pytest.fixture
def app_config() -> dict[str, Any]:
    # Sign-in configured (the provider is never reached: a forged callback fails on its state first).
    return {"OIDC_ISSUER": "http://127.0.0.1:9", "OIDC_CLIENT_ID": "live-flows"}


def get_rules(app: Flask) -> list[Rule]:
    return [r for r in app.url_map.iter_rules() if "GET" in (r.methods or set()) and r.endpoint != "static"]


def test_no_route_answers_get_and_a_state_changing_method_alike(app: Flask) -> None:
    rules = list(app.url_map.iter_rules())
    get_views = {app.view_functions[r.endpoint] for r in rules if "GET" in (r.methods or set())}
    unsafe_views = {app.view_functions[r.endpoint] for r in rules if (r.methods or set()) & UNSAFE}

    assert [r.rule for r in rules if "GET" in (r.methods or set()) and (r.methods or set()) & UNSAFE] == []
    assert get_views & unsafe_views == set()
    assert len(get_rules(app)) >= 20  # the walk below really covers the app


def test_calling_every_get_route_changes_nothing_in_the_database(app: Flask, world: World) -> None:
    urls = [rule.build(world.ids, append_unknown=False)[1] for rule in get_rules(app)]  # type: ignore[union-attr]
    urls += ["/auth/callback?state=forged&code=forged", "/auth/callback?error=access_denied"]
    before = snapshot()
    browser = signed_in(app, world.admin, world.org)
    answers = {}

    for url in urls:
        for who, client, headers in [
            ("anonymous", app.test_client(), {}),
            ("browser", browser, {}),
            ("htmx", browser, HX),
            ("api key", ApiClient(app.test_client(), world.api_key, world.org), {}),
        ]:
            answer = client.get(url, headers=headers)
            answer.get_data()  # finish streamed answers before the next request
            answers[(who, url)] = answer.status_code

    assert snapshot() == before
    assert answers[("browser", "/ui/settings/api-keys")] == 200
    assert answers[("anonymous", "/auth/callback?state=forged&code=forged")] == 400
    assert answers[("api key", "/live_flows/")] == 200
    assert all(status < 500 for status in answers.values()), {k: v for k, v in answers.items() if v >= 500}
