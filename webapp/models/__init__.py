"""SQLAlchemy models: organisations, people, credentials, flows, sessions, step runs."""

from __future__ import annotations

from webapp.models.accounts import ApiKey, Membership, Organisation, PersonalAccessToken, User
from webapp.models.flows import Flow, FlowVersion, Step, StepTransition
from webapp.models.sessions import IdempotencyRecord, Session, StepRun

__all__ = [
    "ApiKey",
    "Flow",
    "FlowVersion",
    "IdempotencyRecord",
    "Membership",
    "Organisation",
    "PersonalAccessToken",
    "Session",
    "Step",
    "StepRun",
    "StepTransition",
    "User",
]
