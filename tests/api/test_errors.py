"""Errors of the JSON API are JSON, whatever raised them."""

from __future__ import annotations

from tests.conftest import _config
from webapp import create_app
from webapp.extensions import db


def test_an_unexpected_error_on_an_api_path_is_a_json_500_without_details(database_uri, tmp_path):
    app = create_app({**_config(database_uri, tmp_path), "TESTING": False, "PROPAGATE_EXCEPTIONS": False})

    def explode():
        raise RuntimeError("secret internals")

    app.add_url_rule("/flows/explode", "explode", explode)
    response = app.test_client().get("/flows/explode")
    with app.app_context():
        db.engine.dispose()

    assert response.status_code == 500
    assert response.mimetype == "application/json"
    assert "secret internals" not in response.get_data(as_text=True)
    assert isinstance(response.get_json()["detail"], str)
