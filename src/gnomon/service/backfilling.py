"""Backfill: a job's fires in a past range, recorded as runs due now (or only listed)."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import datetime, timedelta

from gnomon import limits
from gnomon.errors import Conflict, InvalidSpec
from gnomon.models import Run, RunReason
from gnomon.scheduler import Scheduler


@dataclass(frozen=True, slots=True)
class Backfill:
    """The runs a backfill recorded, and how many fires of the range were already recorded."""

    runs: list[Run]
    already_recorded: int


def backfill_fires(
    scheduler: Scheduler, job_id: str, start: datetime, end: datetime, *, max_fires: int
) -> builtins.list[datetime]:
    """The job's fires in ``[start, end)`` (a past range): what :func:`backfill` records,
    less those already in the history. Records nothing (a dry run); raises
    :class:`InvalidSpec` as :func:`backfill` does."""
    job, now = scheduler.get(job_id), scheduler.clock.now()
    if end > now:
        raise InvalidSpec("end: a backfill range must end in the past")
    if start >= end:
        raise InvalidSpec("start: must be before end")
    fires: builtins.list[datetime] = []
    fire = job.trigger.next_after(start - timedelta(microseconds=1))
    while fire is not None and fire < end:
        if len(fires) == max_fires:
            raise InvalidSpec(
                f"max_fires: the range holds more than {max_fires} fires; "
                f"narrow it or raise max_fires (up to {limits.MAX_BACKFILL_FIRES})"
            )
        fires.append(fire)
        fire = job.trigger.next_after(fire)
    return fires


def backfill(
    scheduler: Scheduler, job_id: str, start: datetime, end: datetime, *, max_fires: int
) -> Backfill:
    """Record the job's fires in ``[start, end)`` (a past range) as runs due now.

    A fire already in the history is left alone. Raises :class:`InvalidSpec` whose message
    starts with the input at fault (``end:``, ``start:``, ``max_fires:``) for a range that
    does not end in the past, is empty, or holds more than ``max_fires`` fires.
    """
    fires = backfill_fires(scheduler, job_id, start, end, max_fires=max_fires)
    now = scheduler.clock.now()
    recorded: builtins.list[Run] = []
    for fire in fires:
        try:
            recorded.append(scheduler.store.add_run(job_id, fire, now, RunReason.BACKFILL))
        except Conflict:  # that fire is already in the history
            continue
    scheduler.changed()
    return Backfill(runs=recorded, already_recorded=len(fires) - len(recorded))
