"""`flask demo`: an organisation with example flows and sessions, ready to watch."""

from __future__ import annotations

import os
import random
import uuid
from datetime import timedelta
from typing import Any

import click
from flask import current_app
from sqlalchemy import select

from webapp.cli import add_member, create_api_key
from webapp.domain.schemas import FlowCreate, FlowVersionCreate
from webapp.extensions import db
from webapp.flows import queries
from webapp.models import Flow, Organisation
from webapp.models.types import utcnow
from webapp.services import flows as flow_service
from webapp.services import sessions as session_service

DEMO_ORG_ID = "org_DemoOrganisation0001"
DEMO_EMAIL = "demo@example.com"


def _text(template: str) -> dict[str, Any]:
    return {"type": "text", "template": template}


def _graph(
    steps: list[tuple[str, str, dict[str, Any]]], edges: list[tuple[str, str, str | None]]
) -> dict[str, Any]:
    ids = {name: str(uuid.uuid4()) for name, _, _ in steps}
    return {
        "steps": [{"id": ids[n], "name": n, "step_type": t, "prompt_template": p} for n, t, p in steps],
        "step_transitions": [
            {"source_step_id": ids[a], "target_step_id": ids[b], "label": label} for a, b, label in edges
        ],
    }


def support_triage(with_review: bool) -> dict[str, Any]:
    """Return the support-triage graph; version 2 adds a quality loop."""
    steps = [
        ("start", "START", _text("{{ inputs.message }}")),
        (
            "classify",
            "PROMPT",
            _text("Classify this support message as billing or technical:\n{{ inputs.message }}"),
        ),
        (
            "route",
            "CONDITION",
            _text("{{ 'billing' if 'invoice' in inputs.message|lower else 'technical' }}"),
        ),
        ("billing answer", "PROMPT", _text("Write a friendly billing answer to: {{ inputs.message }}")),
        ("technical answer", "PROMPT", _text("Write a precise technical answer to: {{ inputs.message }}")),
        ("done", "END", _text("{{ steps.get('technical answer') or steps.get('billing answer') }}")),
    ]
    edges: list[tuple[str, str, str | None]] = [
        ("start", "classify", None),
        ("classify", "route", None),
        ("route", "billing answer", "billing"),
        ("route", "technical answer", "technical"),
    ]
    if with_review:
        steps.insert(5, ("quality check", "CONDITION", _text("{{ 'retry' if steps|length < 4 else 'ok' }}")))
        edges += [
            ("billing answer", "quality check", None),
            ("technical answer", "quality check", None),
            ("quality check", "classify", "retry"),
            ("quality check", "done", "ok"),
        ]
    else:
        edges += [("billing answer", "done", None), ("technical answer", "done", None)]
    return _graph(steps, edges)


def blog_writer() -> dict[str, Any]:
    """Return a writing flow with a revision loop."""
    return _graph(
        [
            ("start", "START", _text("{{ inputs.topic }}")),
            (
                "outline",
                "PROMPT",
                {
                    "type": "chat",
                    "messages": [
                        {"role": "system", "content": "You outline blog posts."},
                        {"role": "user", "content": "Outline a post about {{ inputs.topic }}"},
                    ],
                },
            ),
            ("draft", "PROMPT", _text("Write the post from this outline:\n{{ steps.outline }}")),
            ("review", "CONDITION", _text("{{ 'approve' if steps.draft|length > 20 else 'revise' }}")),
            ("publish", "END", _text("{{ steps.draft }}")),
        ],
        [
            ("start", "outline", None),
            ("outline", "draft", None),
            ("draft", "review", None),
            ("review", "draft", "revise"),
            ("review", "publish", "approve"),
        ],
    )


def lead_scoring() -> dict[str, Any]:
    """Return a straight-line enrichment flow."""
    return _graph(
        [
            ("start", "START", _text("{{ inputs.company }}")),
            ("enrich", "PROMPT", _text("Describe the company {{ inputs.company }} in one line.")),
            ("score", "PROMPT", _text("Score 1-10 how well {{ inputs.company }} fits: {{ last }}")),
            ("report", "END", _text("{{ inputs.company }}: {{ last }}")),
        ],
        [("start", "enrich", None), ("enrich", "score", None), ("score", "report", None)],
    )


SAMPLES: dict[str, list[dict[str, Any]]] = {
    "Support triage": [{"message": "My invoice is wrong"}, {"message": "The API returns 500"}],
    "Blog post writer": [{"topic": "htmx polling done right"}, {"topic": "immutable flow versions"}],
    "Lead qualification": [{"company": "Acme Corp"}, {"company": "Globex"}],
}
STATUS_MIX = ["COMPLETED"] * 6 + ["FAILED"] * 2 + ["CANCELLED", "RUNNING", "WAITING", "NEW"]


@click.command()
@click.option("--sessions", "per_flow", default=24, show_default=True, help="Past sessions per live flow")
@click.option(
    "--runs/--no-runs",
    default=True,
    show_default=True,
    help="Also run sessions through the runner now, and queue some to start over the next minutes",
)
def demo(per_flow: int, runs: bool) -> None:
    """Fill the demo organisation with example flows and sessions, and print an API key."""
    rng = random.Random(7)
    org = db.session.get(Organisation, DEMO_ORG_ID)
    if org is None:
        db.session.add(Organisation(id=DEMO_ORG_ID, name="Demo Org"))
        db.session.commit()
    add_member(DEMO_EMAIL, DEMO_ORG_ID, "admin")
    existing = set(db.session.execute(select(Flow.name).where(Flow.org_id == DEMO_ORG_ID)).scalars())
    flows = []
    for name, description, graphs in (
        (
            "Support triage",
            "Routes support messages to the right answer, with a quality loop.",
            [support_triage(False), support_triage(True)],
        ),
        ("Blog post writer", "Outline, draft and review until approved.", [blog_writer()]),
        ("Lead qualification", "Enrich and score inbound leads.", [lead_scoring()]),
    ):
        if name in existing:
            continue
        flow = flow_service.create_flow(DEMO_ORG_ID, FlowCreate(name=name, description=description))
        for graph in graphs:
            flow_service.create_version(flow, FlowVersionCreate.model_validate(graph))
        flows.append(flow)
        _past_sessions(flow, per_flow, rng)
    if "Contract summariser" not in existing:
        flow_service.create_flow(
            DEMO_ORG_ID, FlowCreate(name="Contract summariser", description="Draft, not live yet.")
        )
        legacy = flow_service.create_flow(
            DEMO_ORG_ID, FlowCreate(name="Legacy FAQ bot", description="Retired.")
        )
        flow_service.create_version(legacy, FlowVersionCreate.model_validate(lead_scoring()))
        flow_service.archive_flow(legacy)
    db.session.commit()
    key = create_api_key(DEMO_ORG_ID, "demo")
    path = os.path.join(current_app.instance_path, "demo-api-key")
    with open(path, "w") as fh:
        fh.write(key + "\n")
    click.echo(f"Demo organisation: {DEMO_ORG_ID} ({len(flows)} flows added)")
    click.echo(f"API key (shown once, also saved to {path}):\n{key}")
    if runs:
        from webapp.runner.demo import run_demo_sessions

        ran, queued = run_demo_sessions(DEMO_ORG_ID, SAMPLES)
        click.echo(f"Runner: {ran} sessions ran; {queued} more start over the next minutes (needs a worker)")


def _past_sessions(flow: Flow, count: int, rng: random.Random) -> None:
    now = utcnow()
    samples = SAMPLES[flow.name]
    # Oldest first, so creation order and created_at agree.
    starts = sorted(now - timedelta(minutes=rng.randint(5, 24 * 60)) for _ in range(count))
    versions = db.session.execute(queries.flow_versions(flow.id)).scalars().all()
    for i, started in enumerate(starts):
        # The older third ran on the previous version, so the version history has sessions to count.
        version_id = versions[1].id if len(versions) > 1 and i < count // 3 else None
        session = session_service.start_session(flow, version_id, dict(rng.choice(samples)))
        status = STATUS_MIX[i % len(STATUS_MIX)]
        session.created_at = session.updated_at = started
        if status != "NEW":
            session_service.set_status(session, status)
            session.started_at = started
            session.steps_count = rng.randint(1, 5)
            session.updated_at = started + timedelta(seconds=rng.randint(2, 90))
            if status in ("COMPLETED", "FAILED", "CANCELLED"):
                session.finished_at = session.updated_at
        if status == "FAILED":
            session.error = "Model provider timed out after 30s (attempt 3 of 3)"
    db.session.flush()
