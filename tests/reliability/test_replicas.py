"""Acceptance 3 of issue 2 (RELIABILITY #1): replicas on one database never double-fire.

Two ``gnomon up`` processes on one SQLite file, and three on PostgreSQL, run the same 50 jobs
every second for 60 s. Every fire in the window must appear in the ledger exactly once: the
fires ``base + k`` for k = 0..59 of every job, 3,000 in all. The processes are stopped only
once the ledger holds all of them (or a deadline passes); fires after the window may have run
by then and are checked only for duplicates. Lateness (the action's write minus the fire's
instant) is reported, with a generous bound on p99.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.reliability.checker import Report, check, interval_fires
from tests.reliability.conftest import Launcher
from tests.reliability.ledger import read
from tests.reliability.workload import (
    every,
    next_whole_second,
    store_jobs,
    utcnow,
    wait_for_ledger,
)

JOBS = 50
SECONDS = 60
P99_BOUND = 1.0  # seconds


def run_replicas(launcher: Launcher, url: str, ledger: Path, replicas: int) -> Report:
    processes = [launcher.start(url, f"replica-{i}") for i in range(replicas)]
    for process in processes:
        process.wait_ready()
    base = next_whole_second(utcnow(), margin=1.0)
    last = base + timedelta(seconds=SECONDS - 1)
    store_jobs(url, [every(f"job-{i:02}", 1, base, ledger) for i in range(JOBS)])
    one = timedelta(seconds=1)
    must = [f for i in range(JOBS) for f in interval_fires(f"job-{i:02}", base, one, last)]
    tail = last + timedelta(seconds=60)
    may = [f for i in range(JOBS) for f in interval_fires(f"job-{i:02}", base, one, tail)]
    wanted = set(must)
    wait_for_ledger(
        ledger, lambda es: wanted <= {e.fire for e in es}, until=last + timedelta(seconds=15)
    )
    crashed = [p.name for p in processes if not p.alive()]
    codes = [p.stop() for p in processes]
    report = check(must, may, read(ledger))
    print(f"{replicas} replicas on {url}:\n{report.summary()}")
    assert not crashed, f"replicas exited during the run: {crashed}"
    assert codes == [0] * replicas, codes
    return report


def assert_exactly_once(report: Report, launcher: Launcher) -> None:
    assert report.expected == JOBS * SECONDS
    assert report.ok, report.summary()
    # The replicas must really have shared the work (a burst may go to one of them alone).
    pids = {p.pid for p in launcher.processes}
    assert set(report.by_pid) <= pids
    assert len(report.by_pid) >= 2, f"one replica did all the work: {report.by_pid}"
    assert report.late(99) < P99_BOUND, report.summary()


@pytest.mark.slow
def test_two_replicas_on_one_sqlite_file(tmp_path: Path, launcher: Launcher) -> None:
    report = run_replicas(launcher, str(tmp_path / "gnomon.db"), tmp_path / "ledger.jsonl", 2)
    assert_exactly_once(report, launcher)


@pytest.mark.slow
@pytest.mark.postgres
def test_three_replicas_on_postgresql(
    tmp_path: Path, launcher: Launcher, postgres_url: str
) -> None:
    report = run_replicas(launcher, postgres_url, tmp_path / "ledger.jsonl", 3)
    assert_exactly_once(report, launcher)
