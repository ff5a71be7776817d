"""RELIABILITY #6: a replica frozen (SIGSTOP) past its lease, then continued.

Two ``gnomon up`` processes on PostgreSQL run 20 jobs every second. One is stopped at a
random moment for 15 s — longer than their 10 s lease (``GNOMON_LEASE``; the default 30 s
only makes the test longer), so whatever it had claimed is taken back by the other — then
continued. The other replica must keep every fire going meanwhile, and
when the frozen one wakes up it must not run anything a second time. With the default
misfire policy (grace 60 s) no fire is dropped either: 0 duplicate, 0 missing.

The ledger also tells how many *stale* executions the resumed process made (a fire from
before the stop, executed by it after the continue): printed, as RELIABILITY #6 wants none.

The other replica must keep firing during the freeze (rows the frozen one locked are
skipped). The same test on SQLite passes too, but is left out to save 50 s of the suite: a
freeze rarely lands inside a write transaction, and when it does the file's write lock stalls
every replica until the continue — SQLite's nature, not something this test could assert.
"""

from __future__ import annotations

import random
import signal
from datetime import timedelta
from pathlib import Path

import pytest

from tests.reliability.checker import check, interval_fires
from tests.reliability.conftest import Launcher
from tests.reliability.ledger import read
from tests.reliability.workload import (
    every,
    next_whole_second,
    sleep_until,
    store_jobs,
    utcnow,
    wait_for_ledger,
)

JOBS = 20
LEASE = 10.0  # the processes' lease (GNOMON_LEASE)
FROZEN = LEASE + 5


@pytest.mark.slow
@pytest.mark.postgres
def test_replica_frozen_past_its_lease_runs_nothing_twice(
    tmp_path: Path, launcher: Launcher, postgres_url: str
) -> None:
    ledger = tmp_path / "ledger.jsonl"
    env = {"GNOMON_LEASE": f"{LEASE:g}"}
    frozen, other = (launcher.start(postgres_url, f"replica-{i}", env=env) for i in range(2))
    frozen.wait_ready()
    other.wait_ready()
    base = next_whole_second(utcnow(), margin=1.0)
    one = timedelta(seconds=1)
    store_jobs(postgres_url, [every(f"job-{i:02}", 1, base, ledger) for i in range(JOBS)])

    # Between fires: a freeze that lands in the milliseconds in which the second's runs end
    # and their outcomes are recorded catches them in flight, and at-least-once lets them run
    # again once the lease expires (test_chaos.py counts those); this test is about the rest.
    sleep_until(base + timedelta(seconds=3.3 + 0.4 * random.random()))
    stopped_at = utcnow()
    frozen.signal(signal.SIGSTOP)
    sleep_until(stopped_at + timedelta(seconds=FROZEN))
    frozen.signal(signal.SIGCONT)
    continued_at = utcnow()

    last = continued_at + timedelta(seconds=5)
    must = [f for i in range(JOBS) for f in interval_fires(f"job-{i:02}", base, one, last)]
    tail = last + timedelta(seconds=60)
    may = [f for i in range(JOBS) for f in interval_fires(f"job-{i:02}", base, one, tail)]
    wanted = set(must)
    wait_for_ledger(
        ledger, lambda es: wanted <= {e.fire for e in es}, until=last + timedelta(seconds=15)
    )
    assert frozen.alive()
    assert other.alive()
    assert [frozen.stop(), other.stop()] == [0, 0]

    entries = read(ledger)
    report = check(must, may, entries)
    stale = [
        e
        for e in entries
        if e.pid == frozen.pid
        and e.scheduled_for < stopped_at
        and e.written_at > continued_at.timestamp()
    ]
    during = [
        e for e in entries if stopped_at.timestamp() < e.written_at < continued_at.timestamp()
    ]
    print(report.summary())
    print(
        f"frozen at base+{(stopped_at - base).total_seconds():.2f} s for {FROZEN:g} s; "
        f"{len(during)} fires executed meanwhile (pids {sorted({e.pid for e in during})}); "
        f"{len(stale)} stale executions by the resumed process"
    )
    for entry in stale:
        print(f"  stale: {entry}")
    assert {e.pid for e in during} == {other.pid}, "the frozen replica ran fires while stopped?"
    assert report.ok, report.summary()
    assert frozen.pid in report.by_pid, "the resumed replica never worked again"
