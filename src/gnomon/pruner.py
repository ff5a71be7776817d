"""Pruning old history in small steps, so that it never stalls the scheduler.

A *cycle* goes through three walks, each step one short transaction
(:mod:`gnomon.store.retention`): the runs by id, removing those older than their age; the
jobs, removing the oldest finished runs of any job beyond its ``per_job`` newest; the events
by id, removing those older than their age that every sink delivered. What may go is
decided in :mod:`gnomon.retention`.

The scheduler starts a cycle at most once per ``GNOMON_PRUNE_INTERVAL`` (10 minutes) and
takes at most :data:`STEPS_PER_CALL` steps of it per maintenance call (each tick, and each
wake-up of an idle loop): a first prune of a million old runs is spread over minutes of
ticks, each delayed by a few milliseconds at most. A failed step (the database away) ends the
cycle; the next one starts after the interval, where the walks begin again. ``gnomon prune``
runs a whole cycle at once (:func:`prune_all`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime

from gnomon.clock import Clock
from gnomon.errors import GnomonError
from gnomon.retention import PruneReport, Retention, StoredRun
from gnomon.store import SqlStore
from gnomon.store.retention import (
    RunBatch,
    excess_edge,
    job_ids_after,
    prune_aged_runs,
    prune_events,
    prune_excess_runs,
    run_id_span,
)

log = logging.getLogger(__name__)
PRUNE_BATCH = 500
"""Rows one step reads and removes at most (one transaction)."""
STEPS_PER_CALL = 2
"""Steps of a cycle the scheduler takes per maintenance call."""
JOBS_PAGE = 200
"""Job ids read at once by the per-job walk (each job is then a step of its own)."""


def _report(removed: list[StoredRun] | None = None, events: int = 0) -> PruneReport:
    report = PruneReport(events=events, batches=1)
    report.count_runs(removed or [])
    return report


def cycle(
    store: SqlStore,
    retention: Retention,
    now: datetime,
    *,
    batch: int = PRUNE_BATCH,
    dry_run: bool = False,
) -> Iterator[PruneReport]:
    """One pass over the history by the rules at ``now``; yields what each step removed (in
    a dry run: would remove), after its transaction."""
    if retention.horizon(now) is not None:
        after = 0
        while True:
            step = prune_aged_runs(
                store, after=after, now=now, retention=retention, limit=batch, dry_run=dry_run
            )
            yield _report(step.removed)
            if not step.more:
                break
            after = step.last_id
    # The per-job limit walks every job (a step each): only worth it when some job can hold
    # more than ``per_job`` runs, i.e. when more run ids than that are stored at all.
    if 0 < retention.per_job < run_id_span(store):
        last_job = ""
        while page := job_ids_after(store, last_job, JOBS_PAGE):
            for job_id in page:
                yield from _job_excess(store, job_id, retention, now, batch, dry_run)
            last_job = page[-1]
    cutoff = retention.events_cutoff(now)
    if cutoff is not None:
        after = 0
        while True:
            events = prune_events(store, after=after, cutoff=cutoff, limit=batch, dry_run=dry_run)
            yield _report(events=events.removed)
            if not events.more:
                break
            after = events.last_id


def _job_excess(
    store: SqlStore, job_id: str, retention: Retention, now: datetime, batch: int, dry_run: bool
) -> Iterator[PruneReport]:
    """The runs of one job beyond its newest ``per_job``: a step to find where they end,
    then a step per window of them."""
    edge = excess_edge(store, job_id, retention.per_job)
    yield PruneReport(batches=1)
    if edge is None:
        return
    step = RunBatch([], 0, True)
    while step.more:
        step = prune_excess_runs(
            store,
            job_id,
            upto=edge,
            after=step.last_id,
            now=now,
            retention=retention,
            limit=batch,
            dry_run=dry_run,
        )
        yield _report(step.removed)


def prune_all(
    store: SqlStore, retention: Retention, now: datetime, *, dry_run: bool = False
) -> PruneReport:
    """A whole cycle at once (``gnomon prune``): what it removed, or would remove."""
    total = PruneReport()
    for step in cycle(store, retention, now, dry_run=dry_run):
        total.add(step)
    return total


class Pruner:
    """The scheduler's share of retention: a cycle at most every ``interval`` seconds (0:
    never), taken :data:`STEPS_PER_CALL` steps at a time by :meth:`step`."""

    def __init__(
        self,
        store: SqlStore,
        retention: Retention,
        clock: Clock,
        *,
        interval: float,
        batch: int = PRUNE_BATCH,
        steps: int = STEPS_PER_CALL,
    ) -> None:
        self.store, self.retention, self.clock = store, retention, clock
        self.interval, self.batch, self.steps = interval, batch, steps
        self._next = clock.monotonic()  # the first cycle starts with the scheduler
        self._cycle: Iterator[PruneReport] | None = None
        self._report = PruneReport()
        self.last: PruneReport | None = None  # what the last finished cycle removed
        self.cycles = 0  # cycles started

    @property
    def busy(self) -> bool:
        """A cycle is under way."""
        return self._cycle is not None

    def step(self) -> None:
        """Take the next steps of the cycle under way, or start one when it is due. Never
        raises: on an error (the database away, or a bug) the cycle ends, and the next comes
        after the interval."""
        if self.interval <= 0:
            return
        if self._cycle is None:
            mono = self.clock.monotonic()
            if mono < self._next:
                return
            self._next = mono + self.interval
            self._cycle = cycle(self.store, self.retention, self.clock.now(), batch=self.batch)
            self._report = PruneReport()
            self.cycles += 1
        for _ in range(self.steps):
            try:
                self._report.add(next(self._cycle))
            except StopIteration:
                self._finished()
                return
            except GnomonError as exc:
                self._cycle = None
                log.warning("pruning old history stopped (%s); again in %g s", exc, self.interval)
                return
            except Exception:  # a bug here must not stop the scheduler's loop
                self._cycle = None
                log.exception("pruning old history failed; again in %g s", self.interval)
                return

    def _finished(self) -> None:
        self._cycle, self.last = None, self._report
        report = self._report
        if report.total_runs or report.events:
            log.info(
                "pruned %d run(s) and %d event(s) in %d step(s) (%s)",
                report.total_runs,
                report.events,
                report.batches,
                self.retention.describe(),
            )


__all__ = ["PRUNE_BATCH", "Pruner", "cycle", "prune_all"]
