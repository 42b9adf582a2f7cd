"""The seed's JSON shapes: key order, timestamps, ETags."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import orjson

from webapp.domain.serialize import etag, flow_json, format_timestamp, session_json, version_doc

T = datetime(2023, 11, 7, 5, 31, 56, 999999, tzinfo=UTC)
SEED_FLOW_KEYS = [
    "name",
    "description",
    "id",
    "organisation_id",
    "current_version",
    "sessions",
    "created_at",
    "updated_at",
]
SEED_SESSION_KEYS = [
    "id",
    "steps_count",
    "inputs",
    "error",
    "status",
    "flow_version",
    "created_at",
    "updated_at",
]


def test_timestamps_are_written_like_the_seed_in_utc_whole_seconds():
    assert format_timestamp(T) == "2023-11-07T05:31:56Z"
    assert format_timestamp(T.astimezone(timezone(timedelta(hours=2)))) == "2023-11-07T05:31:56Z"


def test_a_version_doc_has_the_seed_shape_and_its_steps_share_its_time():
    sid = "3c90c3cc-0d44-4b50-8888-8dd25736052a"
    doc = orjson.loads(
        version_doc(
            "11111111-1111-4111-8111-111111111111",
            "22222222-2222-4222-8222-222222222222",
            T,
            [
                {
                    "id": sid,
                    "name": "s",
                    "step_type": "START",
                    "prompt_template": {"template": "t", "type": "text"},
                }
            ],
            [{"source_step_id": sid, "target_step_id": sid, "label": None, "id": sid}],
        )
    )

    assert list(doc) == ["id", "flow_id", "steps", "step_transitions", "created_at", "updated_at"]
    assert list(doc["steps"][0]) == ["id", "name", "step_type", "prompt_template", "created_at", "updated_at"]
    assert doc["steps"][0]["created_at"] == doc["created_at"] == doc["updated_at"] == "2023-11-07T05:31:56Z"
    assert doc["steps"][0]["prompt_template"] == {"type": "text", "template": "t"}
    assert list(doc["step_transitions"][0]) == ["source_step_id", "target_step_id", "label", "id"]


def test_live_flows_and_sessions_keep_the_seeds_key_order():
    session = session_json(
        id="s",
        steps_count=1,
        inputs={},
        error=None,
        status="NEW",
        version_doc="{}",
        created_at=T,
        updated_at=T,
    )
    live = flow_json(
        id="f",
        org_id="o",
        name="n",
        description=None,
        version_doc="{}",
        created_at=T,
        updated_at=T,
        sessions=[session],
    )
    flow = flow_json(
        id="f", org_id="o", name="n", description=None, version_doc=None, created_at=T, updated_at=T
    )

    assert list(orjson.loads(orjson.dumps(live))) == SEED_FLOW_KEYS
    assert list(orjson.loads(orjson.dumps(session))) == SEED_SESSION_KEYS
    assert list(flow) == [k for k in SEED_FLOW_KEYS if k != "sessions"] + ["archived_at"]
    assert flow["current_version"] is None and flow["archived_at"] is None


def test_etags_are_strong_and_change_with_the_revision():
    assert etag("abc", 1) == '"abc.1"'
    assert etag("abc", 2) != etag("abc", 1)
