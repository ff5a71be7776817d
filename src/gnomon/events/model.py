"""Lifecycle events: what happened to jobs and runs, appended to the events table.

Kinds: ``job.created``, ``job.updated``, ``job.paused``, ``job.resumed``, ``job.removed``,
``job.triggered``; ``run.started``, ``run.succeeded``, ``run.failed``, ``run.timed_out``,
``run.retrying``, ``run.cancelled``, ``run.skipped``, ``run.missed``, ``run.lost``,
``run.released`` (handed back by a scheduler that stopped cleanly);
``sink.dropped`` (an event sink gave up on an event, see :mod:`gnomon.events.relay`).
Event data is JSON and never holds secrets (action configs are not copied into events).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    kind: str
    at: datetime
    job_id: str | None = None
    run_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)
    id: int | None = None
