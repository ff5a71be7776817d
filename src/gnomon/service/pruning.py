"""Pruning old history by hand: the retention rules with a person's overrides, and one whole
pruning cycle (or its dry run).
"""

from __future__ import annotations

from datetime import timedelta

from gnomon.errors import InvalidSpec
from gnomon.pruner import prune_all
from gnomon.retention import PruneReport, Retention
from gnomon.scheduler import Scheduler


def retention_rules(
    scheduler: Scheduler,
    *,
    older_than: timedelta | None = None,
    failed_older_than: timedelta | None = None,
    keep_per_job: int | None = None,
) -> Retention:
    """The scheduler's retention settings, with what a person gave by hand instead (see
    :meth:`Retention.overridden`). Raises :class:`InvalidSpec` naming the option at fault."""
    if keep_per_job is not None and keep_per_job < 0:
        raise InvalidSpec(f"keep_per_job: {keep_per_job} must be 0 (no limit) or more")
    for name, age in (("older_than", older_than), ("failed_older_than", failed_older_than)):
        if age is not None and age <= timedelta(0):
            raise InvalidSpec(f"{name}: must be more than zero")
    return Retention.from_settings(scheduler.settings).overridden(
        older_than=older_than, failed_older_than=failed_older_than, per_job=keep_per_job
    )


def prune(
    scheduler: Scheduler, rules: Retention | None = None, *, dry_run: bool = False
) -> PruneReport:
    """Remove old history now by ``rules`` (default: the settings), in the same small
    batches as the scheduler's own pruning; with ``dry_run``, only count what would go.
    Unfinished runs, each job's newest finished run, undelivered events and the audit log
    are never removed (see :mod:`gnomon.retention`)."""
    rules = rules or Retention.from_settings(scheduler.settings)
    return prune_all(scheduler.store, rules, scheduler.clock.now(), dry_run=dry_run)
