"""The domain: jobs, runs, outcomes and the policies that govern them.

Frozen dataclasses, built at the edges and passed around unchanged. Policies are enums.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from gnomon.errors import InvalidPolicy

if TYPE_CHECKING:
    from gnomon.triggers.base import Trigger


class JobState(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    DONE = "done"  # no fire is left (a one-shot that has fired)


class Misfire(StrEnum):
    """What happens to fires found later than ``grace`` (scheduler down, clock jump).

    ``skip``: none of them run; ``latest``: only the most recent one runs; ``all``: they
    all run, at most ``catchup_cap`` of them (the most recent). Those that do not run are
    recorded as ``missed``.
    """

    SKIP = "skip"
    LATEST = "latest"
    ALL = "all"


class Overlap(StrEnum):
    """What happens when a fire comes while an earlier run of the same job is unfinished.

    ``allow``: run side by side; ``skip``: record the new fire as ``skipped``;
    ``queue``: run it once the earlier run ends; ``replace``: cancel the earlier run.
    """

    ALLOW = "allow"
    SKIP = "skip"
    QUEUE = "queue"
    REPLACE = "replace"


class RunStatus(StrEnum):
    PENDING = "pending"  # recorded, waiting for its due time or a worker
    QUEUED = "queued"  # sent to a broker (Celery), waiting for a worker to start it
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"  # replaced by a newer fire, or cancelled by a person
    SKIPPED = "skipped"  # overlap policy
    MISSED = "missed"  # misfire policy
    LOST = "lost"  # its worker stopped heart-beating

    @property
    def finished(self) -> bool:
        return self not in _UNFINISHED


class RunReason(StrEnum):
    SCHEDULE = "schedule"
    MANUAL = "manual"
    RETRY = "retry"
    BACKFILL = "backfill"


_UNFINISHED = frozenset({RunStatus.PENDING, RunStatus.QUEUED, RunStatus.RUNNING})
_OUTCOMES = frozenset(s.value for s in RunStatus if s.finished)


def _seconds(name: str, value: object, *, zero_ok: bool) -> None:
    """A policy duration: a finite number of seconds, zero or more (or more than zero)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidPolicy(f"policy {name}: {value!r} must be a number of seconds")
    if not math.isfinite(value) or value < 0 or (value == 0 and not zero_ok):
        need = "zero or more" if zero_ok else "more than zero"
        raise InvalidPolicy(f"policy {name}: {value!r} must be {need}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Policy:
    """Retries, timeout, misfire and overlap rules of a job.

    Attempt *n* (n ≥ 2) starts ``min(backoff * 2**(n-2), max_backoff)`` seconds after the
    previous one ended, plus up to 10 % random jitter.
    """

    max_attempts: int = 1
    backoff: float = 1.0
    max_backoff: float = 300.0
    timeout: float | None = None
    jitter: float = 0.0
    misfire: Misfire = Misfire.LATEST
    grace: float = 60.0
    catchup_cap: int = 100
    overlap: Overlap = Overlap.ALLOW
    notify_urls: tuple[str, ...] = ()
    notify_on: tuple[str, ...] = ("failed", "timed_out", "lost")

    def __post_init__(self) -> None:
        self._check_counts_and_seconds()
        self._check_notify()
        self._coerce_enums()

    def _check_counts_and_seconds(self) -> None:
        for name in ("max_attempts", "catchup_cap"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise InvalidPolicy(f"policy {name}: {value!r} must be 1 or more")
        for name in ("backoff", "max_backoff", "jitter", "grace"):
            _seconds(name, getattr(self, name), zero_ok=True)
        if self.timeout is not None:
            _seconds("timeout", self.timeout, zero_ok=False)

    def _check_notify(self) -> None:
        for name in ("notify_urls", "notify_on"):
            value = getattr(self, name)
            listed = isinstance(value, list | tuple)
            if not listed or not all(isinstance(v, str) for v in value):
                raise InvalidPolicy(f"policy {name}: must be a list of strings")
            object.__setattr__(self, name, tuple(value))
        for status in self.notify_on:
            if status not in _OUTCOMES:
                raise InvalidPolicy(
                    f"policy notify_on: {status!r} is not one of {', '.join(sorted(_OUTCOMES))}"
                )

    def _coerce_enums(self) -> None:
        for name, enum in (("misfire", Misfire), ("overlap", Overlap)):
            value = getattr(self, name)
            if not isinstance(value, enum):
                try:
                    object.__setattr__(self, name, enum(value))
                except ValueError:
                    choices = ", ".join(m.value for m in enum)
                    raise InvalidPolicy(
                        f"policy {name}: {value!r} is not one of {choices}"
                    ) from None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["misfire"] = self.misfire.value
        data["overlap"] = self.overlap.value
        data["notify_urls"] = list(self.notify_urls)
        data["notify_on"] = list(self.notify_on)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Policy:
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise InvalidPolicy(
                f"unknown policy field(s): {', '.join(sorted(unknown))}; "
                f"known: {', '.join(sorted(known))}"
            )
        return cls(**dict(data))


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionSpec:
    """What a job does: an action kind and its JSON config."""

    kind: str
    config: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "config": dict(self.config)}


@dataclass(frozen=True, slots=True, kw_only=True)
class Job:
    id: str
    name: str
    trigger: Trigger
    action: ActionSpec
    policy: Policy
    state: JobState
    next_fire_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """How one attempt ended: the status, a JSON result, an error line and captured output."""

    status: RunStatus
    result: Any = None
    error: str | None = None
    output: str = ""

    @classmethod
    def success(cls, result: Any = None, output: str = "") -> Outcome:
        return cls(status=RunStatus.SUCCEEDED, result=result, output=output)

    @classmethod
    def failure(cls, error: str, *, result: Any = None, output: str = "") -> Outcome:
        return cls(status=RunStatus.FAILED, error=error, result=result, output=output)


@dataclass(frozen=True, slots=True, kw_only=True)
class Run:
    """One attempt at one fire of a job. ``(job_id, scheduled_for, attempt)`` is unique."""

    id: int
    job_id: str
    scheduled_for: datetime
    due_at: datetime
    attempt: int
    reason: RunReason
    status: RunStatus
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    worker: str | None = None
    result: Any = None
    error: str | None = None
    output: str = ""
