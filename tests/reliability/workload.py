"""Jobs whose action is the ledger, stored through the Python API, and waiting on the ledger."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gnomon.definitions import define_job, python
from gnomon.models import Job, Run, RunStatus
from gnomon.scheduler import Scheduler
from gnomon.store import SqlStore
from gnomon.triggers import AtTrigger, IntervalTrigger
from tests.reliability.ledger import REFERENCE, Entry, read


def utcnow() -> datetime:
    return datetime.now(UTC)


def next_whole_second(after: datetime, margin: float = 0.0) -> datetime:
    """The first whole second at least ``margin`` seconds after ``after``."""
    moment = after + timedelta(seconds=margin)
    return moment.replace(microsecond=0) + timedelta(seconds=1)


def ledger_job(
    job_id: str,
    when: AtTrigger | IntervalTrigger,
    ledger: Path,
    *,
    delay: float = 0.0,
    starts: Path | None = None,
    **policy: Any,
) -> Job:
    extra: dict[str, Any] = {"delay": delay} if delay else {}
    if starts is not None:
        extra["starts"] = str(starts)
    action = python(REFERENCE, path=str(ledger), **extra)
    return define_job(when, action, now=utcnow(), id=job_id, **policy)


def one_shot(job_id: str, at: datetime, ledger: Path, **policy: Any) -> Job:
    return ledger_job(job_id, AtTrigger(at), ledger, **policy)


def every(
    job_id: str,
    seconds: float,
    start: datetime,
    ledger: Path,
    *,
    delay: float = 0.0,
    starts: Path | None = None,
    **policy: Any,
) -> Job:
    trigger = IntervalTrigger(timedelta(seconds=seconds), start)
    return ledger_job(job_id, trigger, ledger, delay=delay, starts=starts, **policy)


def store_jobs(url: str, jobs: list[Job]) -> None:
    """Store jobs in one transaction, as another process on the same database would."""
    with Scheduler(url) as scheduler:
        scheduler.add_many(jobs)


def wait_for_ledger(
    ledger: Path, done: Callable[[list[Entry]], bool], *, until: datetime
) -> list[Entry]:
    """Poll the ledger until ``done(entries)`` or the wall time ``until``; the last read."""
    while True:
        entries = read(ledger)
        if done(entries) or utcnow() >= until:
            return entries
        time.sleep(0.1)


def sleep_until(moment: datetime) -> None:
    """Wait for a wall-clock moment (the test's own schedule of faults)."""
    delay = (moment - utcnow()).total_seconds()
    if delay > 0:
        time.sleep(delay)


def runs_held_by(url: str, pid: int) -> list[Run]:
    """Runs still ``running`` for a worker of process ``pid`` (read from the store).

    Only for explaining a ledger's gaps: a process killed between claiming a run and its
    action's write leaves the run ``running`` until its lease expires.
    """
    store = SqlStore(url, migrate=False)
    try:
        held = store.list_runs(status=RunStatus.RUNNING, limit=10_000)
    finally:
        store.close()
    return [r for r in held if r.worker is not None and f":{pid}:" in r.worker]
