"""Issue 9: a ``kill -9`` in the middle of a burst re-runs only the runs in flight.

2,000 one-shot jobs fall due at one instant on one ``gnomon up`` (SQLite, then PostgreSQL);
when a quarter of them have run, the process is killed, and started again with the same
identity a second later. Before the outcome journal, every outcome that had been gathered
for the last 0.5 s was lost with the process and its run executed again (56-89 per kill,
hundreds under ``gnomon up``). Now the worker journals each outcome as the action returns and
the restarted scheduler records them: each fire executed twice must have been in flight in
the killed process (started there and unfinished, or finished less than ``checker.WINDOW``
before the kill). The restarted scheduler takes back the killed
one's runs at once (same identity), so the burst still drains without waiting for a lease.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest

from gnomon.triggers import AtTrigger
from tests.backends import BACKENDS
from tests.reliability.checker import (
    Kill,
    check,
    first_starts,
    recorded_twice,
    reruns,
)
from tests.reliability.conftest import Launcher
from tests.reliability.ledger import read
from tests.reliability.workload import (
    ledger_job,
    next_whole_second,
    sleep_until,
    store_jobs,
    utcnow,
    wait_for_ledger,
)

BURST = 2_000


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_kill_in_a_burst_re_runs_only_the_runs_in_flight(
    backend: str, backend_url: str, tmp_path: Path, launcher: Launcher
) -> None:
    url = backend_url
    ledger, starts = tmp_path / "ledger.jsonl", tmp_path / "starts.jsonl"
    store_jobs(url, [])
    first = launcher.start(url, "first", "--no-api", "--identity", "burst")
    first.wait_ready()
    due = next_whole_second(utcnow(), margin=2.0)
    store_jobs(
        url,
        [ledger_job(f"one-{i:04}", AtTrigger(due), ledger, starts=starts) for i in range(BURST)],
    )
    sleep_until(due)
    while len(read(ledger)) < BURST // 4:  # a quarter of the burst done: kill now
        assert utcnow() < due + timedelta(seconds=30), "the burst never started"
        time.sleep(0.002)
    killed_at = utcnow()
    first.kill()
    done_before = len(read(ledger))
    sleep_until(killed_at + timedelta(seconds=1))
    second = launcher.start(url, "second", "--no-api", "--identity", "burst")
    second.wait_ready()
    kill = Kill(first.pid, killed_at.timestamp(), (utcnow() - killed_at).total_seconds())
    fires = [(f"one-{i:04}", due) for i in range(BURST)]
    wanted = set(fires)
    wait_for_ledger(
        ledger, lambda e: wanted <= {x.fire for x in e}, until=utcnow() + timedelta(seconds=60)
    )
    assert second.stop() == 0
    ends, begun = read(ledger), read(starts)
    report = check(fires, [], ends)
    again = reruns(begun, ends, [kill])
    first_start = first_starts(begun)
    print(
        f"{backend}: {done_before} of {BURST} done at the kill; {again.summary()}; "
        f"last first-start {max(first_start.values()) - due.timestamp():.2f} s after due"
    )
    assert 0 < done_before < BURST, "the kill did not fall in the middle of the burst"
    assert not report.missing, report.summary()
    assert recorded_twice(url) == []
    assert again.count <= len(again.executing | again.recent)
    assert not again.unexplained, f"run twice though not in flight: {again.unexplained}"
