"""Counts for metrics and the dashboard: jobs by state, runs by status, fires by reason, and
the totals that never go down.
"""

from __future__ import annotations

from gnomon.scheduler import Scheduler
from gnomon.store import admin


def count_jobs(scheduler: Scheduler) -> int:
    """How many jobs are stored."""
    return scheduler.store.count_jobs()


def job_counts(scheduler: Scheduler) -> dict[str, int]:
    """Stored jobs by state."""
    return admin.job_counts(scheduler.store)


def run_counts(scheduler: Scheduler) -> dict[str, int]:
    """Stored runs by status."""
    return admin.run_counts(scheduler.store)


def fire_counts(scheduler: Scheduler) -> dict[str, int]:
    """Recorded fires (first attempts) by reason: schedule, manual, backfill (those pruned
    since included: a total that never goes down)."""
    return admin.fire_counts(scheduler.store)


def run_totals(scheduler: Scheduler) -> dict[str, int]:
    """Runs ever recorded, by status (those pruned since included: never goes down)."""
    return admin.run_totals(scheduler.store)
