"""GET /live_flows/ runs a constant number of SQL statements, whatever the amount of data."""

from __future__ import annotations

from sqlalchemy import select

from tests.api.contract import count_statements
from tests.factories import make_flow
from webapp.extensions import db
from webapp.models import FlowVersion, Session
from webapp.models.types import utcnow

STATUSES = ["NEW", "RUNNING", "WAITING", "COMPLETED", "FAILED", "CANCELLED"]


def fill(org, flows: int, sessions: int, versions: int = 3) -> None:
    """Add live flows with `versions` versions (and loops), each with sessions spread over its versions."""
    for i in range(flows):
        flow = make_flow(org, f"flow {i}", versions=versions, steps=("a", "b", "c"), loop=True)
        version_ids = list(
            db.session.execute(select(FlowVersion.id).where(FlowVersion.flow_id == flow.id)).scalars()
        )
        now = utcnow()
        db.session.add_all(
            Session(
                org_id=org.id,
                flow_id=flow.id,
                flow_version_id=version_ids[j % len(version_ids)],
                status=STATUSES[j % len(STATUSES)],
                steps_count=j,
                inputs={"j": j},
                created_at=now,
                updated_at=now,
            )
            for j in range(sessions)
        )
    db.session.commit()


def statements_for(api, url: str) -> tuple[list[str], object]:
    with count_statements() as statements:
        response = api.get(url)
    assert response.status_code == 200
    return statements, response.get_json()


def test_live_flows_run_the_same_statements_for_1_flow_and_for_50_flows_with_20_sessions(api):
    fill(api.org, 1, 1, versions=1)
    api.get("/live_flows/")  # the key's last use is stamped on the first request only
    small, body = statements_for(api, "/live_flows/")
    assert len(body) == 1

    fill(api.org, 49, 20)
    fill(api.org, 1, 20)  # the newest flow, too, has 20 sessions
    big, body = statements_for(api, "/live_flows/")

    assert len(body) == 51
    assert sum(len(f["sessions"]) for f in body) == 1 + 50 * 20
    assert len({s["flow_version"]["id"] for f in body for s in f["sessions"]}) == 1 + 50 * 3
    assert len(big) == len(small), "\n".join(big)
    assert len(big) <= 5, "\n".join(big)


def test_the_other_list_endpoints_do_not_grow_with_the_data_either(api):
    fill(api.org, 1, 2)
    flow_id = api.get("/live_flows/").get_json()[0]["id"]
    urls = [
        "/flows/",
        f"/live_flows/{flow_id}",
        f"/live_flows/{flow_id}/sessions",
        f"/flows/{flow_id}/versions",
        "/live_flows/?session_status=FAILED&sessions_limit=5",
    ]
    small = {url: len(statements_for(api, url)[0]) for url in urls}

    fill(api.org, 10, 30)
    current = _current(flow_id)
    db.session.add_all(
        Session(org_id=api.org.id, flow_id=flow_id, flow_version_id=current, inputs={"i": i})
        for i in range(30)
    )
    db.session.commit()
    big = {url: len(statements_for(api, url)[0]) for url in urls}

    assert big == small


def _current(flow_id: str) -> str:
    return (
        db.session.execute(
            select(FlowVersion.id).where(FlowVersion.flow_id == flow_id).order_by(FlowVersion.number.desc())
        )
        .scalars()
        .first()
    )
