"""Runs per minute by outcome and lateness percentiles over the last hours: the counters and
charts of the dashboard's activity page, read by one bounded query of the store
(:func:`gnomon.store.activity.finished_since`). A use case of the faces, like
:mod:`gnomon.service`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from gnomon.models import RunStatus
from gnomon.scheduler import Scheduler
from gnomon.store import activity


@dataclass(frozen=True, slots=True)
class Minute:
    """Runs that finished in one minute, by outcome, and their lateness percentiles (s)."""

    start: datetime
    outcomes: dict[RunStatus, int]
    lateness_p50: float | None
    lateness_p99: float | None


@dataclass(frozen=True, slots=True)
class Activity:
    """The runs that finished in the last hours: per minute, and over the whole window."""

    minutes: list[Minute]
    outcomes: dict[RunStatus, int]
    lateness_p50: float | None
    lateness_p99: float | None
    cut: bool  # the row cap cut the history read: only the newest runs are counted


def run_activity(scheduler: Scheduler, hours: int = 3) -> Activity:
    """Runs finished in each minute of the last ``hours`` (oldest first) by outcome, with
    their lateness (start - due) percentiles; read by one bounded query
    (:func:`gnomon.store.activity.finished_since`)."""
    now = scheduler.clock.now()
    first = now.replace(second=0, microsecond=0) - timedelta(hours=hours) + timedelta(minutes=1)
    # A run recorded an hour before the window may still finish in it (long runs, retries).
    samples, cut = activity.finished_since(
        scheduler.store, first, recorded_since=first - timedelta(hours=1)
    )
    minutes = [first + timedelta(minutes=i) for i in range(hours * 60)]
    counts: dict[datetime, dict[RunStatus, int]] = {m: {} for m in minutes}
    late: dict[datetime, list[float]] = {m: [] for m in minutes}
    for sample in samples:
        minute = sample.finished_at.replace(second=0, microsecond=0)
        if minute in counts:
            counts[minute][sample.status] = counts[minute].get(sample.status, 0) + 1
            if sample.lateness is not None:
                late[minute].append(sample.lateness)
    every = [v for m in minutes for v in late[m]]
    totals: dict[RunStatus, int] = {}
    for minute_counts in counts.values():
        for status, n in minute_counts.items():
            totals[status] = totals.get(status, 0) + n
    return Activity(
        minutes=[
            Minute(
                start=m,
                outcomes=counts[m],
                lateness_p50=_percentile(late[m], 50),
                lateness_p99=_percentile(late[m], 99),
            )
            for m in minutes
        ],
        outcomes=totals,
        lateness_p50=_percentile(every, 50),
        lateness_p99=_percentile(every, 99),
        cut=cut,
    )


def _percentile(values: list[float], pct: int) -> float | None:
    """The nearest-rank percentile (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, -(-len(ordered) * pct // 100) - 1)]
