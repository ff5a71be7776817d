"""The Action seam: *what* a job does.

An action kind has a name, validates its JSON config when the job is created (so bad
config fails then, not at 3 a.m.), and executes one attempt. Contract:

- ``validate(config)`` returns the normalised config (JSON-serialisable) or raises
  :class:`~gnomon.errors.InvalidAction` with a message naming the bad field.
- ``execute(config, ctx)`` runs one attempt and returns an :class:`~gnomon.models.Outcome`.
  A failure is an outcome with status ``failed``; an exception escaping ``execute`` is
  turned into one by the runner. It must honour ``ctx.timeout`` (return ``timed_out``) and
  should stop early when ``ctx.cancelled`` is set.
- ``secret_fields`` names config keys whose values are never shown.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol

from gnomon.limits import MAX_OUTPUT_CHARS
from gnomon.models import Outcome

OUTPUT_CAP = MAX_OUTPUT_CHARS
"""Captured output above this many characters is cut (head kept, a marker appended)."""


def cap_output(text: str, limit: int = OUTPUT_CAP) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n… [{len(text) - limit} more characters cut]"


@dataclass(frozen=True, slots=True, kw_only=True)
class RunContext:
    """The identity of the attempt being executed, handed to every action.

    Users make their work idempotent with ``(job_id, scheduled_for)`` or ``run_id``.
    """

    job_id: str
    run_id: int
    scheduled_for: datetime
    attempt: int
    timeout: float | None = None
    cancelled: threading.Event = field(default_factory=threading.Event)
    started_at: datetime | None = None  # when the attempt began, by the scheduler's clock

    def environment(self) -> dict[str, str]:
        """The run's identity as ``GNOMON_*`` environment variables."""
        return {
            "GNOMON_JOB_ID": self.job_id,
            "GNOMON_RUN_ID": str(self.run_id),
            "GNOMON_SCHEDULED_FOR": self.scheduled_for.isoformat().replace("+00:00", "Z"),
            "GNOMON_ATTEMPT": str(self.attempt),
        }


class Action(Protocol):
    kind: ClassVar[str]
    secret_fields: ClassVar[frozenset[str]]

    def validate(self, config: Mapping[str, Any]) -> dict[str, Any]: ...

    def execute(self, config: Mapping[str, Any], ctx: RunContext) -> Outcome: ...
