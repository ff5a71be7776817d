"""Runs: one by id, the newest of some jobs, runs of every job filtered and paged, those in
flight, how often each was lost, and retrying or cancelling one.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

from gnomon.models import Run, RunStatus
from gnomon.scheduler import Scheduler
from gnomon.store import activity, admin


def get_run(scheduler: Scheduler, run_id: int) -> Run:
    """One run; raises :class:`~gnomon.errors.RunNotFound`."""
    return scheduler.store.get_run(run_id)


def recent_runs(
    scheduler: Scheduler, job_ids: Sequence[str], per_job: int = 12
) -> dict[str, list[Run]]:
    """The newest ``per_job`` runs of each job, newest first."""
    return admin.recent_runs(scheduler.store, job_ids, per_job)


def find_runs(scheduler: Scheduler, **filters: Any) -> activity.RunPage:
    """Runs of every job, filtered and paged (see :func:`gnomon.store.activity.find_runs`)."""
    return activity.find_runs(scheduler.store, **filters)


def runs_in_flight(scheduler: Scheduler) -> builtins.list[Run]:
    """Runs executing or waiting in a broker's queue, oldest first."""
    return activity.runs_in_flight(scheduler.store)


def loss_counts(scheduler: Scheduler, runs: Sequence[Run]) -> dict[int, int]:
    """How often each of these runs was lost (its worker vanished) and put back to run
    again, or dead-lettered, by run id (see :func:`gnomon.store.activity.loss_counts`)."""
    return activity.loss_counts(scheduler.store, runs)


def retry_run(scheduler: Scheduler, run_id: int) -> Run:
    """A new attempt, due now, of the fire of a finished unsuccessful run (reason
    ``manual``); raises :class:`Conflict` for a run that cannot be retried."""
    new = activity.retry_run(scheduler.store, run_id, scheduler.clock.now())
    scheduler.changed()
    return new


def cancel_run(scheduler: Scheduler, run_id: int) -> RunStatus:
    """Cancel a run that has not finished (a running one stops at its worker's next
    heartbeat); returns its status after the call. Raises :class:`Conflict` if it ended."""
    return activity.cancel_run(scheduler.store, run_id, scheduler.clock.now())
