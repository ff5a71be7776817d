"""Retention: how long finished runs and events are kept, and which may go (pure decisions).

The rules, from the ``GNOMON_KEEP_*`` settings (:mod:`gnomon.settings`):

- a finished run goes once it finished more than ``runs_days`` ago; a failure (``failed``,
  ``timed_out``, ``lost``) after ``failed_days``;
- beyond ``per_job`` runs of one job, its oldest finished runs go, whatever their age;
- an event goes once it is older than ``events_days`` and every event sink delivered it.

Whatever the rules say, these are never removed: a run that has not finished (``pending``,
``queued``, ``running``); the newest finished run of each job (what ``gnomon list`` shows as
its last run: a monthly job keeps it past the month); an event a sink still has to deliver;
the newest event, so no id is ever handed out twice (SQLite reuses the highest id once it
is deleted); and the audit log, which is append-only by design.

Nothing here reads a clock or a database: the pruner (:mod:`gnomon.pruner`) passes ``now``
and what it read, and the store (:mod:`gnomon.store.retention`) removes what comes back.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from gnomon.models import RunReason, RunStatus

if TYPE_CHECKING:
    from gnomon.settings import Settings

FAILURES = frozenset({RunStatus.FAILED, RunStatus.TIMED_OUT, RunStatus.LOST})
"""Outcomes kept for ``failed_days`` rather than ``runs_days``."""
FINISHED = tuple(sorted(s.value for s in RunStatus if s.finished))
"""The statuses of runs that may be removed (never an unfinished one)."""


def _days(value: float) -> timedelta | None:
    return timedelta(days=value) if value > 0 else None


@dataclass(frozen=True, slots=True, kw_only=True)
class Retention:
    """How long history is kept. A number of days of 0 keeps that history for ever;
    ``per_job`` of 0 sets no limit on the runs of a job."""

    runs_days: float = 30.0
    failed_days: float = 90.0
    per_job: int = 100_000
    events_days: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Retention:
        return cls(
            runs_days=settings.keep_runs_days,
            failed_days=settings.keep_failed_days,
            per_job=settings.keep_runs_per_job,
            events_days=settings.keep_events_days,
        )

    def overridden(
        self,
        *,
        older_than: timedelta | None = None,
        failed_older_than: timedelta | None = None,
        per_job: int | None = None,
    ) -> Retention:
        """These rules with a by-hand age (``gnomon prune --older-than``) for runs and
        events. Failures keep their own age unless given one, and never less than
        ``older_than``: failures are kept at least as long as the rest."""
        runs_days, events_days, failed_days = self.runs_days, self.events_days, self.failed_days
        if older_than is not None:
            runs_days = events_days = older_than / timedelta(days=1)
            if failed_older_than is None and failed_days > 0:
                failed_days = max(failed_days, runs_days)
        if failed_older_than is not None:
            failed_days = failed_older_than / timedelta(days=1)
        return Retention(
            runs_days=runs_days,
            failed_days=failed_days,
            per_job=self.per_job if per_job is None else per_job,
            events_days=events_days,
        )

    def run_cutoff(self, status: RunStatus, now: datetime) -> datetime | None:
        """A finished run with this status that ended before this moment may go (None: kept
        for ever)."""
        age = _days(self.failed_days if status in FAILURES else self.runs_days)
        return None if age is None else now - age

    def horizon(self, now: datetime) -> datetime | None:
        """The latest of the run cutoffs: a run recorded after it is too young for any age
        rule, so a walk through the runs by id stops there (None: no age rule)."""
        cutoffs = [
            c for s in (RunStatus.SUCCEEDED, RunStatus.FAILED) if (c := self.run_cutoff(s, now))
        ]
        return max(cutoffs) if cutoffs else None

    def events_cutoff(self, now: datetime) -> datetime | None:
        """Events recorded before this moment may go, once delivered (None: kept for ever)."""
        age = _days(self.events_days)
        return None if age is None else now - age

    def describe(self) -> str:
        """The rules in words, e.g. for ``gnomon prune``."""

        def age(days: float) -> str:
            return "for ever" if days <= 0 else f"{days:g} days"

        limit = f"at most {self.per_job:,} runs per job" if self.per_job else "no limit per job"
        return (
            f"runs kept {age(self.runs_days)}, failures {age(self.failed_days)}, {limit}; "
            f"events kept {age(self.events_days)}"
        )


@dataclass(frozen=True, slots=True)
class StoredRun:
    """What the pruner reads of a run to decide on it."""

    id: int
    job_id: str
    status: RunStatus
    reason: RunReason
    attempt: int
    created_at: datetime
    finished_at: datetime | None

    @property
    def ended(self) -> datetime:
        """When it finished (its recording, for a finished row that carries no end)."""
        return self.finished_at or self.created_at


def aged_out(window: Iterable[StoredRun], retention: Retention, now: datetime) -> list[StoredRun]:
    """The finished runs of ``window`` older than their status's age. The newest finished
    run of each job is kept too, but that needs the database: the store checks it."""
    found = []
    for run in window:
        if not run.status.finished:
            continue
        cutoff = retention.run_cutoff(run.status, now)
        if cutoff is not None and run.ended < cutoff:
            found.append(run)
    return found


def beyond_count(
    window: Iterable[StoredRun], retention: Retention, now: datetime, *, counted: bool
) -> list[StoredRun]:
    """The finished runs of ``window`` (runs of one job beyond its ``per_job`` newest). With
    ``counted`` (a dry run, where nothing was removed yet), those the age rule already
    counted are left out, so no run is counted twice."""
    finished = [r for r in window if r.status.finished]
    if not counted:
        return finished
    aged = {r.id for r in aged_out(finished, retention, now)}
    return [r for r in finished if r.id not in aged]


def events_to_remove(
    window: Iterable[tuple[int, datetime]], cutoff: datetime, delivered_up_to: int | None
) -> list[int]:
    """The ids of the events of ``window`` (id, recorded at) older than ``cutoff`` that
    every sink delivered (``delivered_up_to``: the lowest sink cursor; None with no sink).
    The caller never passes the newest event."""
    return [
        event_id
        for event_id, at in window
        if at < cutoff and (delivered_up_to is None or event_id <= delivered_up_to)
    ]


@dataclass(slots=True)
class PruneReport:
    """What a prune removed (or, in a dry run, would remove)."""

    runs: Counter[str] = field(default_factory=Counter)  # by status
    fires: Counter[str] = field(default_factory=Counter)  # first attempts, by reason
    events: int = 0
    batches: int = 0  # transactions (statements of at most one batch each)

    def count_runs(self, removed: Iterable[StoredRun]) -> None:
        for run in removed:
            self.runs[run.status.value] += 1
            if run.attempt == 1:
                self.fires[run.reason.value] += 1

    def add(self, other: PruneReport) -> None:
        self.runs.update(other.runs)
        self.fires.update(other.fires)
        self.events += other.events
        self.batches += other.batches

    @property
    def total_runs(self) -> int:
        return sum(self.runs.values())


__all__ = [
    "FAILURES",
    "FINISHED",
    "PruneReport",
    "Retention",
    "StoredRun",
    "aged_out",
    "beyond_count",
    "events_to_remove",
]
