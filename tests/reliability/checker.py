"""The checker: expected fires computed from the jobs' definitions, compared with the ledger.

Expected fires are computed here with plain arithmetic (``start + k * every``, or the one-shot
instant), not with gnomon's triggers, so a bug in the triggers cannot hide itself.

A window has two parts. Fires at or before ``horizon`` *must* appear exactly once. Fires after
it (the processes were stopped while they were due or running) *may* appear, at most once.
Anything else in the ledger is unexpected.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from gnomon.models import RunStatus
from gnomon.store import SqlStore
from tests.reliability.ledger import Entry

Fire = tuple[str, datetime]


def interval_fires(job_id: str, start: datetime, every: timedelta, until: datetime) -> list[Fire]:
    """``start + k * every`` for k = 0, 1, … up to ``until`` inclusive."""
    fires, k = [], 0
    while start + k * every <= until:
        fires.append((job_id, start + k * every))
        k += 1
    return fires


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


@dataclass
class Report:
    expected: int
    executed: int  # ledger lines
    missing: list[Fire] = field(default_factory=list)
    duplicates: dict[Fire, int] = field(default_factory=dict)  # fire -> times executed
    unexpected: list[Entry] = field(default_factory=list)
    lateness: list[float] = field(default_factory=list)  # seconds, first execution of each
    by_pid: dict[int, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.duplicates or self.unexpected)

    def late(self, q: float) -> float:
        return percentile(self.lateness, q)

    def summary(self) -> str:
        lines = [
            f"expected {self.expected} fires, ledger has {self.executed} lines; "
            f"missing {len(self.missing)}, duplicate {len(self.duplicates)}, "
            f"unexpected {len(self.unexpected)}",
            f"lateness p50 {self.late(50) * 1000:.1f} ms, p99 {self.late(99) * 1000:.1f} ms, "
            f"max {max(self.lateness, default=float('nan')) * 1000:.1f} ms",
            f"executions by pid: {dict(sorted(self.by_pid.items()))}",
        ]
        for job_id, at in sorted(self.missing)[:10]:
            lines.append(f"  missing   {job_id} @ {at.isoformat()}")
        for (job_id, at), n in sorted(self.duplicates.items())[:10]:
            lines.append(f"  duplicate {job_id} @ {at.isoformat()} x{n}")
        for entry in self.unexpected[:10]:
            lines.append(f"  unexpected {entry}")
        return "\n".join(lines)


def check(must: Iterable[Fire], may: Iterable[Fire], entries: list[Entry]) -> Report:
    """Compare the ledger with the fires that must (exactly once) or may (at most once) run."""
    must_set, may_set = set(must), set(may) - set(must)
    seen = Counter(e.fire for e in entries)
    report = Report(expected=len(must_set), executed=len(entries))
    report.missing = sorted(f for f in must_set if seen[f] == 0)
    report.duplicates = {f: n for f, n in seen.items() if n > 1}
    report.unexpected = [e for e in entries if e.fire not in must_set and e.fire not in may_set]
    first: dict[Fire, Entry] = {}
    for entry in sorted(entries, key=lambda e: e.written_at):
        first.setdefault(entry.fire, entry)
    report.lateness = [first[f].lateness for f in must_set if f in first]
    report.by_pid = dict(Counter(e.pid for e in entries))
    return report


WINDOW = 0.05
"""Seconds before a kill in which a run whose action had returned may still re-run: the
moment between the action's own ledger write and the worker's write of its outcome to the
journal (``gnomon.dispatch.journal``). Microseconds of work, but the worker must get the GIL
back after the ledger's ``write``: in a burst, with eight workers and the scheduler runnable,
that hand-over was seen to take more than 10 ms (one re-run in three bursts at 10 ms)."""


@dataclass(frozen=True)
class Kill:
    pid: int
    at: float  # epoch seconds
    downtime: float = 0.0  # until the restarted process was ready


@dataclass
class Reruns:
    """Executions (from a ``starts`` ledger) beyond one per fire, and the runs a kill caught
    in flight: started in the killed process and not finished there (``executing``), or
    finished less than :data:`WINDOW` before the kill (``recent``: outcome maybe not yet
    journaled)."""

    duplicates: dict[Fire, int]
    executing: set[int]
    recent: set[int]
    unexplained: dict[Fire, int]

    @property
    def count(self) -> int:
        return sum(self.duplicates.values())

    def summary(self) -> str:
        return (
            f"duplicate executions {self.count}; in flight at the kills: "
            f"{len(self.executing)} executing + {len(self.recent)} finished "
            f"< {WINDOW * 1000:.0f} ms before"
        )


def reruns(starts: list[Entry], ends: list[Entry], kills: list[Kill]) -> Reruns:
    """Which fires ran more than once, and whether a kill explains each."""
    executions = Counter(e.fire for e in starts)
    duplicates = {fire: n - 1 for fire, n in executions.items() if n > 1}
    executing: set[int] = set()
    recent: set[int] = set()
    for kill in kills:
        begun = {e.run_id for e in starts if e.pid == kill.pid}
        ended = {e.run_id: e.written_at for e in ends if e.pid == kill.pid}
        executing |= begun - set(ended)
        recent |= {r for r, t in ended.items() if kill.at - t < WINDOW}
    run_of = {e.fire: e.run_id for e in starts}
    unexplained = {f: n for f, n in duplicates.items() if run_of[f] not in executing | recent}
    return Reruns(duplicates, executing, recent, unexplained)


def first_starts(starts: list[Entry]) -> dict[Fire, float]:
    """The start of each fire's first execution (epoch seconds)."""
    first: dict[Fire, float] = {}
    for entry in sorted(starts, key=lambda e: e.written_at):
        first.setdefault(entry.fire, entry.written_at)
    return first


def recorded_twice(url: str) -> list[Fire]:
    """Fires with more than one ``succeeded`` run in the store (there must be none)."""
    store = SqlStore(url, migrate=False)
    try:
        done = store.list_runs(status=RunStatus.SUCCEEDED, limit=1_000_000)
    finally:
        store.close()
    counts = Counter((r.job_id, r.scheduled_for) for r in done)
    return [fire for fire, n in counts.items() if n > 1]
