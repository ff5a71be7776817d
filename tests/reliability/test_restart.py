"""Acceptance 2 of issue 2: jobs survive ``kill -9`` and a restart, every fire exactly once.

A ``gnomon up`` process runs 100 one-shot jobs spread over 8 s and 100 interval jobs (1 s and
2 s). About 3 s in it is killed with SIGKILL, mid-run; one second later a new process starts on
the same SQLite file. With the default misfire policy (``latest``, grace 60 s) the fires that
fell due during the outage are within grace, so each still runs once, late. The ledger (not
gnomon's tables) must show every fire up to the horizon exactly once. Meanwhile the CLI
keeps adding and listing jobs on the same file (RELIABILITY #18): every command must succeed
(no "database is locked"), and the file must pass ``PRAGMA integrity_check`` at the end.

Runs the killed process held (claimed, ``running``) are read from the store right after the
kill. Their fate is the crash windows of RELIABILITY #3 and #4: a run claimed but not yet
started must run on the new process once its lease (10 s here, ``GNOMON_LEASE``) expires — so
when there are such runs the test waits for them instead of leaving them out. A run whose action had
already written when the kill came may run a second time with the *same run id* (at least
once; the run id is the idempotency key): such re-executions are listed and allowed, any
other duplicate fails.

(A run killed in the middle of its action always exists when actions are slow; that case is
shown in one process, with a FakeClock instead of a 30 s wait, in ``test_crash_windows.py``,
and happens by chance here and in ``test_chaos.py``.)
"""

from __future__ import annotations

import random
import sqlite3
import subprocess
import threading
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

from tests.reliability.checker import Fire, check, interval_fires
from tests.reliability.conftest import GnomonProcess, Launcher, run_cli
from tests.reliability.ledger import Entry, read
from tests.reliability.workload import (
    every,
    next_whole_second,
    one_shot,
    runs_held_by,
    sleep_until,
    store_jobs,
    utcnow,
    wait_for_ledger,
)

ONE_SHOTS = 100
INTERVALS = 100
LEASE = 10.0  # the processes' lease (GNOMON_LEASE): held runs are taken back within LEASE * 1.5
ENV = {"GNOMON_LEASE": f"{LEASE:g}"}


def reexecutions(entries: list[Entry], killed_pid: int, killed_at: float) -> set[Fire]:
    """Fires executed twice only because the kill came between the action and its record."""
    by_fire: dict[Fire, list[Entry]] = defaultdict(list)
    for entry in entries:
        by_fire[entry.fire].append(entry)
    allowed = set()
    for fire, copies in by_fire.items():
        if len(copies) != 2 or len({c.run_id for c in copies}) != 1:
            continue
        first, again = sorted(copies, key=lambda c: c.written_at)
        if first.pid == killed_pid and first.written_at <= killed_at and again.pid != killed_pid:
            allowed.add(fire)
    return allowed


class CliWriter:
    """Adds (far-future, never firing) jobs and lists jobs with the CLI until stopped."""

    def __init__(self, db: str) -> None:
        self.db = db
        self.results: list[subprocess.CompletedProcess[str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        n = 0
        while not self._stop.is_set():
            n += 1
            self.results.append(
                run_cli(self.db, "add", "in 1 day", "--id", f"cli-{n}", "--shell", "--", "true")
            )
            self.results.append(run_cli(self.db, "list", "--json", "--limit", "5"))

    def __enter__(self) -> CliWriter:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=120)

    def failures(self) -> list[str]:
        return [
            f"{r.args[3:]} -> {r.returncode}: {r.stderr.strip()[-300:]}"
            for r in self.results
            if r.returncode != 0
        ]


def test_every_fire_once_across_kill_9_and_restart(tmp_path: Path, launcher: Launcher) -> None:
    db, ledger = str(tmp_path / "gnomon.db"), tmp_path / "ledger.jsonl"
    first = launcher.start(db, "first", env=ENV)
    first.wait_ready()
    with CliWriter(db) as cli:
        run_through_kill_9(db, ledger, launcher, first)
    print(f"{len(cli.results)} CLI commands on the same file meanwhile")
    assert not cli.failures(), cli.failures()
    assert len(cli.results) >= 2, "the CLI hardly ran: the test showed nothing about it"
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def run_through_kill_9(db: str, ledger: Path, launcher: Launcher, first: GnomonProcess) -> None:
    """Store the jobs, kill ``first`` mid-run, start a second process, check the ledger."""
    base = next_whole_second(utcnow(), margin=0.5)
    jobs, must, may = [], list[Fire](), list[Fire]()
    for i in range(ONE_SHOTS):  # spread over [base, base + 8 s)
        at = base + timedelta(milliseconds=80 * i)
        jobs.append(one_shot(f"once-{i:03}", at, ledger))
        must.append((f"once-{i:03}", at))
    horizon = base + timedelta(seconds=10)
    for i in range(INTERVALS):
        seconds = 1 if i % 2 == 0 else 2
        start = base + timedelta(milliseconds=25 * (i % 20))
        jobs.append(every(f"every-{i:03}", seconds, start, ledger))
        must += interval_fires(f"every-{i:03}", start, timedelta(seconds=seconds), horizon)
        may += interval_fires(
            f"every-{i:03}", start, timedelta(seconds=seconds), horizon + timedelta(seconds=90)
        )
    store_jobs(db, jobs)

    # kill -9 at a random moment around 3 s in, while fires are being executed
    sleep_until(base + timedelta(seconds=3 + random.random()))
    assert first.alive(), first.describe()
    killed_at = utcnow()
    first.kill()
    held = {r.id: (r.job_id, r.scheduled_for) for r in runs_held_by(db, first.pid)}
    before_kill = read(ledger)
    sleep_until(killed_at + timedelta(seconds=1))
    second = launcher.start(db, "second", env=ENV)
    restarted_at = utcnow()

    wanted = set(must)

    def complete(entries: list[Entry]) -> bool:
        taken_back = {e.run_id for e in entries if e.pid != first.pid}
        return wanted <= {e.fire for e in entries} and set(held) <= taken_back

    deadline = killed_at + timedelta(seconds=LEASE * 1.5 + 15) if held else horizon
    wait_for_ledger(ledger, complete, until=deadline + timedelta(seconds=10))
    second.stop()
    entries = read(ledger)
    again = reexecutions(entries, first.pid, killed_at.timestamp())
    report = check(must, may, entries)
    in_outage = [f for f in must if killed_at <= f[1] < restarted_at]
    print(report.summary())
    print(
        f"killed at base+{(killed_at - base).total_seconds():.2f} s, restarted "
        f"{(restarted_at - killed_at).total_seconds():.2f} s later; {len(before_kill)} fires "
        f"before the kill, {len(in_outage)} fell due during the outage; the killed process "
        f"held {len(held)} runs; {len(again)} re-executed with the same run id"
    )
    for job_id, at in sorted(held.values()):
        print(f"  held by the killed process: {job_id} @ {at.isoformat()}")
    assert before_kill, "the first process executed nothing before it was killed"
    assert {e.pid for e in entries} >= {first.pid, second.pid}
    assert again <= set(held.values()), "a re-execution of a run the killed one did not hold"
    for fire in again:
        del report.duplicates[fire]
    assert report.ok, report.summary()
