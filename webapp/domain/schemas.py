"""The API's schemas: request validation, response shapes and /openapi.json all come from here."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, field_validator

from webapp.domain.statuses import SessionStatus


def format_timestamp(value: datetime) -> str:
    """Write a timestamp as the seed does: UTC, whole seconds, trailing Z."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


TIMESTAMP_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"
Timestamp = Annotated[
    datetime,
    PlainSerializer(format_timestamp, return_type=str),
    Field(
        json_schema_extra={
            "example": "2023-11-07T05:31:56Z",
            "format": "date-time",
            "pattern": TIMESTAMP_PATTERN,
        }
    ),
]
Name = Annotated[str, Field(min_length=1, max_length=200)]
StepTypeName = Literal["START", "PROMPT", "CONDITION", "END"]
# The largest value an INTEGER column holds on PostgreSQL (and SQLite): bigger ones are 422, not 500.
MAX_INT = 2_147_483_647


class Strict(BaseModel):
    """A request object: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class Read(BaseModel):
    """A response object: it carries exactly its fields (additionalProperties false in the schema)."""

    model_config = ConfigDict(from_attributes=True, extra="forbid")


# ---- requests -------------------------------------------------------------------------------


class PromptTemplate(BaseModel):
    """A prompt template: a JSON object with a string `type`; other keys are free."""

    model_config = ConfigDict(extra="allow")
    type: str


class EmptyBody(Strict):
    """No fields: send no body, or `{}`."""


class FlowCreate(Strict):
    name: Name
    description: Annotated[str | None, Field(max_length=2000)] = None


class FlowUpdate(Strict):
    name: Name | None = None
    description: Annotated[str | None, Field(max_length=2000)] = None

    @field_validator("name")
    @classmethod
    def name_not_null(cls, value: str | None) -> str:
        if value is None:
            raise ValueError("name may not be null")
        return value


class StepCreate(Strict):
    id: UUID | None = None
    name: Name
    step_type: StepTypeName
    prompt_template: PromptTemplate


class StepTransitionCreate(Strict):
    id: UUID | None = None
    source_step_id: UUID
    target_step_id: UUID
    label: Annotated[str | None, Field(max_length=200)] = None


class FlowVersionCreate(Strict):
    steps: Annotated[list[StepCreate], Field(min_length=1, max_length=1000)]
    step_transitions: Annotated[list[StepTransitionCreate], Field(max_length=5000)] = []
    publish: bool = True


class SessionCreate(Strict):
    inputs: dict[str, Any] = {}
    flow_version_id: UUID | None = None
    run: bool = False


class SessionPatch(Strict):
    status: SessionStatus | None = None
    steps_count: Annotated[int | None, Field(ge=0, le=MAX_INT)] = None
    error: str | None = None

    @field_validator("status", "steps_count")
    @classmethod
    def not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may not be null")
        return value


# ---- responses ------------------------------------------------------------------------------


class StepRead(Read):
    id: UUID
    name: str
    step_type: StepTypeName
    prompt_template: PromptTemplate
    created_at: Timestamp
    updated_at: Timestamp


class StepTransitionRead(Read):
    source_step_id: UUID
    target_step_id: UUID
    label: str | None
    id: UUID


class FlowVersionRead(Read):
    id: UUID
    flow_id: UUID
    steps: list[StepRead]
    step_transitions: list[StepTransitionRead]
    created_at: Timestamp
    updated_at: Timestamp


class SessionRead(Read):
    id: UUID
    steps_count: Annotated[int, Field(ge=0)]
    inputs: dict[str, Any]
    error: str | None
    status: SessionStatus
    flow_version: FlowVersionRead
    created_at: Timestamp
    updated_at: Timestamp


class LiveFlowRead(Read):
    name: str
    description: str | None
    id: UUID
    organisation_id: str
    current_version: FlowVersionRead
    sessions: list[SessionRead]
    created_at: Timestamp
    updated_at: Timestamp


class FlowRead(Read):
    name: str
    description: str | None
    id: UUID
    organisation_id: str
    current_version: FlowVersionRead | None
    created_at: Timestamp
    updated_at: Timestamp
    archived_at: Timestamp | None


class StepRunRead(Read):
    id: UUID
    step_id: UUID
    step_name: str
    step_type: str
    # The transition that led into this step; null for START.
    transition_id: UUID | None
    attempt: int
    status: str
    started_at: Timestamp
    finished_at: Timestamp | None
    rendered_prompt: Any
    output: str | None
    error: str | None
    # The model's token counts (prompt, completion, total) when the provider reports them.
    usage: dict[str, Any] | None


class HTTPError(Read):
    detail: str


class ValidationErrorItem(Read):
    loc: list[str | int]
    msg: str
    type: str


class HTTPValidationError(Read):
    detail: list[ValidationErrorItem]


class Health(Read):
    status: Literal["ok"]
