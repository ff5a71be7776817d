"""Reading jobs: cursor pages, the upcoming ones, several by id, each with its last run, and
the removed ones (with theirs).
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime

from gnomon.models import Job, JobState, Run
from gnomon.scheduler import Scheduler
from gnomon.store import activity, admin

RemovedJob = activity.RemovedJob


def jobs_after(
    scheduler: Scheduler,
    after: str,
    *,
    limit: int,
    state: JobState | None = None,
    search: str | None = None,
) -> list[Job]:
    """Jobs with an id greater than ``after``, by id: a cursor page."""
    return admin.jobs_after(scheduler.store, after, limit=limit, state=state, search=search)


def upcoming_jobs(scheduler: Scheduler, until: datetime, limit: int = 30) -> list[Job]:
    """Active jobs whose next fire is before ``until``, soonest first."""
    return admin.upcoming_jobs(scheduler.store, until, limit)


def jobs_by_id(scheduler: Scheduler, job_ids: Sequence[str]) -> dict[str, Job]:
    """The stored jobs among ``job_ids``, by id, in one query."""
    return activity.jobs_by_id(scheduler.store, job_ids)


def jobs_with_last_runs(
    scheduler: Scheduler,
    *,
    state: JobState | None = None,
    search: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> builtins.list[tuple[Job, Run | None]]:
    """Jobs by id (as :meth:`Scheduler.list` pages them), each with its last run that
    started or ended (None: none yet), in one query."""
    return activity.jobs_with_last_runs(
        scheduler.store, state=state, search=search, limit=limit, offset=offset
    )


def removed_jobs(
    scheduler: Scheduler,
    *,
    job_ids: Sequence[str] | None = None,
    search: str | None = None,
    limit: int = 100,
) -> builtins.list[RemovedJob]:
    """Removed jobs (of ``job_ids``) whose id no stored job uses now, most recently removed
    first, each with its last run (see :func:`gnomon.store.activity.removed_jobs`)."""
    return activity.removed_jobs(scheduler.store, job_ids=job_ids, search=search, limit=limit)


def removed_job(scheduler: Scheduler, job_id: str) -> RemovedJob | None:
    """The removed job of this id, or None (never removed, or its id is used again)."""
    found = activity.removed_jobs(scheduler.store, job_ids=[job_id], limit=1)
    return found[0] if found else None
