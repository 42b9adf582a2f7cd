"""flask orgs create, api-keys create, members add and demo."""

from __future__ import annotations

import json
import re
import threading
import urllib.request
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from tests.conftest import ApiClient
from tests.factories import make_user
from webapp.auth.credentials import digest
from webapp.extensions import db
from webapp.models import ApiKey, Flow, Membership, Organisation, Session, User

ORG_ID = re.compile(r"^org_[A-Za-z0-9]{16,}$")


def count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar()


def run(runner, *args: str):
    result = runner.invoke(args=list(args))
    db.session.commit()  # see what the command committed
    return result


# ---- orgs create --------------------------------------------------------------------------------


def test_orgs_create_prints_a_new_organisation_id(runner):
    result = run(runner, "orgs", "create", "Acme Corp")

    assert result.exit_code == 0, result.output
    org_id = result.output.strip()
    assert ORG_ID.match(org_id)
    assert db.session.get(Organisation, org_id).name == "Acme Corp"


def test_orgs_create_with_an_id_uses_it(runner):
    result = run(runner, "orgs", "create", "Seed", "--id", "org_u13TesTDumMyEe5P")

    assert (result.exit_code, result.output.strip()) == (0, "org_u13TesTDumMyEe5P")
    assert db.session.get(Organisation, "org_u13TesTDumMyEe5P").name == "Seed"


@pytest.mark.parametrize("bad_id", ["acme", "org_short", "org_has-dash12345678", "ORG_u13TesTDumMyEe5P"])
def test_orgs_create_refuses_a_malformed_id_and_creates_nothing(runner, bad_id):
    result = run(runner, "orgs", "create", "Seed", "--id", bad_id)

    assert result.exit_code != 0
    assert "--id" in result.output
    assert count(Organisation) == 0


def test_orgs_create_refuses_a_taken_id_or_a_bad_name(runner):
    run(runner, "orgs", "create", "First", "--id", "org_u13TesTDumMyEe5P")

    taken = run(runner, "orgs", "create", "Second", "--id", "org_u13TesTDumMyEe5P")
    blank = run(runner, "orgs", "create", "  ")
    long = run(runner, "orgs", "create", "x" * 201)

    assert (taken.exit_code, blank.exit_code, long.exit_code) != (0, 0, 0)
    assert taken.exit_code and blank.exit_code and long.exit_code
    assert "already exists" in taken.output
    assert [o.name for o in db.session.execute(select(Organisation)).scalars()] == ["First"]


# ---- api-keys create ----------------------------------------------------------------------------


def test_api_keys_create_prints_a_working_key_once_and_stores_its_hash(runner, client, org):
    result = run(runner, "api-keys", "create", "--org", org.id, "--name", "ci")

    assert result.exit_code == 0, result.output
    key = result.output.strip()
    assert re.fullmatch(r"lfk_[A-Za-z0-9_-]{32,}", key)
    stored = db.session.execute(select(ApiKey)).scalar_one()
    assert (stored.name, stored.org_id, stored.key_hash) == ("ci", org.id, digest(key))
    assert key not in repr(stored.__dict__)
    response = ApiClient(client, key, org).get("/flows/")
    assert response.status_code == 200


def test_api_keys_create_for_an_unknown_organisation_fails(runner):
    result = run(runner, "api-keys", "create", "--org", "org_u13TesTDumMyEe5P")

    assert result.exit_code != 0
    assert "no organisation" in result.output
    assert count(ApiKey) == 0


# ---- members add --------------------------------------------------------------------------------


def test_members_add_creates_a_user_before_their_first_sign_in(runner, org):
    result = run(runner, "members", "add", "New.Person@Example.com", "--org", org.id, "--role", "admin")

    assert result.exit_code == 0, result.output
    user = db.session.execute(select(User)).scalar_one()
    assert (user.email, user.sub, user.issuer) == ("new.person@example.com", None, None)
    membership = db.session.execute(select(Membership)).scalar_one()
    assert (membership.user_id, membership.org_id, membership.role) == (user.id, org.id, "admin")


def test_members_add_defaults_to_member_and_changes_an_existing_role(runner, org):
    existing = make_user("Grace@Example.com", ())

    first = run(runner, "members", "add", "grace@example.com", "--org", org.id)
    role_after_first = db.session.execute(select(Membership.role)).scalar_one()
    second = run(runner, "members", "add", "GRACE@example.com", "--org", org.id, "--role", "admin")

    assert (first.exit_code, second.exit_code) == (0, 0)
    assert role_after_first == "member"
    membership = db.session.execute(select(Membership)).scalar_one()
    assert (membership.user_id, membership.role) == (existing.id, "admin")
    assert count(User) == 1


def test_members_add_will_not_demote_the_last_admin(runner, org):
    run(runner, "members", "add", "ada@example.com", "--org", org.id, "--role", "admin")

    result = run(runner, "members", "add", "ada@example.com", "--org", org.id, "--role", "member")

    assert result.exit_code != 0
    assert "last admin" in result.output
    assert db.session.execute(select(Membership.role)).scalar_one() == "admin"


@pytest.mark.parametrize(
    "args",
    [
        ("members", "add", "a@b.c", "--org", "org_u13TesTDumMyEe5P"),
        ("members", "add", "not-an-email", "--org", "{org}"),
        ("members", "add", "a@b.c", "--org", "{org}", "--role", "owner"),
    ],
    ids=["unknown org", "bad email", "bad role"],
)
def test_members_add_refuses_bad_input_and_changes_nothing(runner, org, args):
    result = run(runner, *(a.format(org=org.id) for a in args))

    assert result.exit_code != 0
    assert (count(User), count(Membership)) == (0, 0)


# ---- demo ---------------------------------------------------------------------------------------


@pytest.fixture
def served(app) -> Iterator[str]:
    """The app behind a real HTTP server on a free local port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


def test_demo_creates_its_flows_and_a_key_that_a_curl_like_request_uses(app, runner, served, tmp_path):
    app.instance_path = str(tmp_path)  # the demo saves its key there; keep the real instance/ alone

    result = run(runner, "demo", "--sessions", "12")

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    key = lines[lines.index(next(line for line in lines if line.startswith("API key"))) + 1]
    assert re.fullmatch(r"lfk_[A-Za-z0-9_-]{32,}", key)
    assert (tmp_path / "demo-api-key").read_text().strip() == key
    request = urllib.request.Request(f"{served}/live_flows/?sessions_limit=1000", headers={"Api-key": key})
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200
        assert answer.headers["Content-Type"] == "application/json"
        flows = json.loads(answer.read())
    assert sorted(f["name"] for f in flows) == ["Blog post writer", "Lead qualification", "Support triage"]
    assert {f["organisation_id"] for f in flows} == {"org_DemoOrganisation0001"}
    statuses = {s["status"] for f in flows for s in f["sessions"]}
    assert statuses == {"NEW", "RUNNING", "WAITING", "COMPLETED", "FAILED", "CANCELLED"}
    assert all(len(f["sessions"]) >= 12 for f in flows)
    all_flows = db.session.execute(select(Flow.name, Flow.archived_at, Flow.current_version_id)).all()
    assert {name for name, archived, current in all_flows if current is None} == {"Contract summariser"}
    assert {name for name, archived, _ in all_flows if archived} == {"Legacy FAQ bot"}
    assert any(t["label"] == "retry" for f in flows for t in f["current_version"]["step_transitions"])


def test_demo_twice_adds_no_duplicate_flows(app, runner, tmp_path):
    app.instance_path = str(tmp_path)

    run(runner, "demo", "--sessions", "2", "--no-runs")
    flows, sessions = count(Flow), count(Session)
    again = run(runner, "demo", "--sessions", "2", "--no-runs")

    assert again.exit_code == 0
    assert (count(Flow), count(Session)) == (flows, sessions)
    assert count(ApiKey) == 2  # each run prints a fresh key
