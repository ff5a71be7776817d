"""The event log: append events no job change carries, and read its newest entries."""

from __future__ import annotations

import builtins
from collections.abc import Sequence

from gnomon.events import Event
from gnomon.scheduler import Scheduler


def record_events(scheduler: Scheduler, events: Sequence[Event]) -> None:
    """Append events that no job change carries (e.g. a device's discovery result)."""
    scheduler.store.append_events(events)


def newest_events(scheduler: Scheduler, limit: int) -> list[Event]:
    """The newest ``limit`` events, newest first."""
    return scheduler.store.list_events(newest=True, limit=limit)


def latest_events(
    scheduler: Scheduler, *, job_id: str | None = None, limit: int = 50
) -> builtins.list[Event]:
    """The newest ``limit`` events (of ``job_id``), oldest first: the end of the log."""
    return scheduler.store.list_events(job_id=job_id, limit=limit, newest=True)[::-1]
