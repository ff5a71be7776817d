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
- ``runs_local_code(config)`` says whether an action with this config starts a process on
  the scheduler's host or loads code from it (``shell``, ``python``, an ``mcp`` stdio
  server, a ``sequence`` holding one): creating or changing such a job needs the ``admin``
  scope. It is asked about the config *as given*, before ``validate`` (validating may import
  code), so it must only read the config; when the config is malformed it answers ``True``.
  Every built-in kind declares it. A plugin kind that does not — or answers anything but
  ``False``, or raises — is treated as running local code (see
  :func:`gnomon.actions.registry.runs_local_code`, the one place that decides).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol

from gnomon.destinations import Destination, Resolver
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
    destinations: Resolver | None = None  # named destinations; None: the settings' only

    def destination(self, name: str) -> Destination:
        """The named destination, as defined now; :class:`UnknownDestination` if none is."""
        if self.destinations is not None:
            return self.destinations(name)
        from gnomon.destinations import UnknownDestination
        from gnomon.settings import destinations

        found = destinations().get(name)
        if found is None:
            raise UnknownDestination(f"destination {name!r} is not defined")
        return found

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

    def runs_local_code(self, config: Mapping[str, Any]) -> bool: ...
