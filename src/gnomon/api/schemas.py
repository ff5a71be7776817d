"""Request and response bodies of the REST API (pydantic, at the edge only).

Times are ISO 8601 with an offset; naive times are refused. Output is already redacted
(see :mod:`gnomon.api.convert`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from gnomon import limits
from gnomon.models import JobState, Misfire, Overlap, RunReason, RunStatus

SpecText = Field(
    min_length=1, max_length=limits.MAX_SPEC_CHARS, examples=["every 15m", "0 9 * * 1-5"]
)
TzText = Field(
    default="UTC", min_length=1, max_length=limits.MAX_TZ_CHARS, examples=["Europe/Berlin"]
)
Seconds = Field(default=None, ge=0, le=limits.MAX_POLICY_SECONDS)
"""A policy duration: the same bounds as :func:`gnomon.definitions.check_policy_bounds`."""
BoundedInstant = Annotated[
    AwareDatetime, AfterValidator(lambda value: limits.check_instant(value, "time"))
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class ActionIn(Strict):
    kind: str = Field(min_length=1, max_length=100, examples=["http"])
    config: dict[str, Any] = Field(
        default_factory=dict, examples=[{"url": "https://example.com/hook"}]
    )


class PolicyIn(Strict):
    """Any subset of the policy; unset fields keep their defaults (or current values)."""

    max_attempts: int | None = Field(default=None, ge=1, le=limits.MAX_ATTEMPTS)
    backoff: float | None = Seconds
    max_backoff: float | None = Seconds
    timeout: float | None = Field(default=None, gt=0, le=limits.MAX_POLICY_SECONDS)
    jitter: float | None = Seconds
    misfire: Misfire | None = None
    grace: float | None = Seconds
    catchup_cap: int | None = Field(default=None, ge=1, le=limits.MAX_CATCHUP_CAP)
    overlap: Overlap | None = None
    notify_urls: list[str] | None = Field(
        default=None, max_length=20, description="Apprise URLs told about outcomes."
    )
    notify_on: list[str] | None = Field(
        default=None, max_length=10, examples=[["failed", "timed_out", "lost"]]
    )


class JobIn(Strict):
    when: str = SpecText
    tz: str = TzText
    action: ActionIn
    id: str | None = Field(default=None, min_length=1, max_length=200, examples=["nightly-backup"])
    name: str | None = Field(default=None, min_length=1, max_length=limits.MAX_NAME_CHARS)
    policy: PolicyIn = Field(default_factory=lambda: PolicyIn())
    paused: bool = False


class JobPatch(Strict):
    """Fields to change; a new ``when`` takes effect from now."""

    when: str | None = Field(default=None, min_length=1, max_length=limits.MAX_SPEC_CHARS)
    tz: str | None = Field(default=None, min_length=1, max_length=limits.MAX_TZ_CHARS)
    action: ActionIn | None = None
    name: str | None = Field(default=None, min_length=1, max_length=limits.MAX_NAME_CHARS)
    policy: PolicyIn | None = None


class ActionOut(BaseModel):
    kind: str
    config: dict[str, Any] = Field(description="Secret values are shown as ***.")


class JobOut(BaseModel):
    id: str
    name: str
    when: str = Field(description="The schedule described for people.")
    trigger: dict[str, Any]
    action: ActionOut
    policy: dict[str, Any]
    state: JobState
    next_fire_at: datetime | None
    created_at: datetime
    updated_at: datetime


class JobPage(BaseModel):
    items: list[JobOut]
    limit: int
    offset: int
    next_offset: int | None = Field(
        description="Pass as offset for the next page; null at the end."
    )
    next_after: str | None = Field(
        description="Pass as after (a cursor, fast at any depth) for the next page; null at end."
    )


class RunOut(BaseModel):
    id: int
    job_id: str
    scheduled_for: datetime
    due_at: datetime
    attempt: int
    reason: RunReason
    status: RunStatus
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None


class RunDetail(RunOut):
    result: Any = None
    output: str = Field(description="Captured output (capped, secrets masked).")


class RunList(BaseModel):
    items: list[RunOut]


class BackfillIn(Strict):
    start: BoundedInstant = Field(description="Fires at or after this instant…")
    end: BoundedInstant = Field(description="…and before this one (not after now).")
    max_fires: int = Field(
        default=100, ge=1, le=limits.MAX_BACKFILL_FIRES, description="Refuse a range holding more."
    )


class BackfillOut(BaseModel):
    job_id: str
    runs: list[RunOut]
    already_recorded: int = Field(description="Fires in the range that were already recorded.")


class PreviewOut(BaseModel):
    description: str
    tz: str
    fires: list[datetime]


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    target: str | None
    client: str | None
    diff: dict[str, Any]


class AuditPage(BaseModel):
    items: list[AuditOut]
    next_before_id: int | None


class HealthOut(BaseModel):
    status: Literal["ok", "unavailable"]
    database: str
    version: str
    database_id: str | None = Field(
        None,
        description="A digest naming the database this API serves (no part of its URL), "
        "equal in every process on the same database: `gnomon status` compares it with its "
        "own. None while the database is unreachable.",
    )


class WorkflowScheduleIn(Strict):
    when: str = SpecText
    tz: str = TzText
    action: ActionIn = Field(
        description="An `http`, `amqp`, `redis` or `celery` action that starts the workflow."
    )
    destination: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="A named destination for the `amqp`, `redis` or `celery` action (instead "
        "of a URL in its config).",
    )
    name: str | None = Field(default=None, min_length=1, max_length=limits.MAX_NAME_CHARS)
    policy: PolicyIn = Field(default_factory=lambda: PolicyIn())
    paused: bool = False


class WorkflowScheduleOut(BaseModel):
    workflow_id: str
    job: JobOut
