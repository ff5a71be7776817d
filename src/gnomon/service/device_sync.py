"""Device-job sync: every job under an id prefix, and replacing one as the caller decided it."""

from __future__ import annotations

import builtins
from datetime import datetime

from gnomon.events import Event
from gnomon.models import Job
from gnomon.scheduler import Scheduler

PAGE = 1000  # jobs read per query when walking every job under a prefix


def jobs_under(scheduler: Scheduler, prefix: str) -> list[Job]:
    """Every job whose id starts with ``prefix`` (e.g. ``device:``), however many."""
    found: builtins.list[Job] = []
    offset = 0
    while True:
        page = scheduler.store.list_jobs(search=prefix, limit=PAGE, offset=offset)
        found += [j for j in page if j.id.startswith(prefix)]
        if len(page) < PAGE:
            return found
        offset += PAGE


def replace_job(scheduler: Scheduler, job: Job, *, by: str, at: datetime | None = None) -> None:
    """Store ``job`` over the stored one of that id as it is (its schedule, state and next
    fire already decided by the caller), with a ``job.updated`` event naming ``by`` (at
    ``at``, by default now)."""
    at = at or scheduler.clock.now()
    event = Event(kind="job.updated", at=at, job_id=job.id, data={"by": by})
    scheduler.store.save_job(job, event)
