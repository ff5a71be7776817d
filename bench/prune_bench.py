"""What pruning old history costs at a million runs: ``python -m bench.prune_bench``.

Builds a database of ``--runs`` finished runs (1,000,000) and as many events, recorded
evenly over the last ``--days`` (60) — so with the default rules (runs 30 days, failures 90,
100,000 per job, events 30 days) about half of them are due to go — then runs the
scheduler's pruning cycle (:class:`gnomon.pruner.Pruner`'s steps, one transaction each) to
the end and times every step. On SQLite a WAL checkpoint every 4 steps is left out of the
steps' times: a scheduler takes at most 2 steps per maintenance call (about 2 calls a second)
and its recorder thread checkpoints every second, off the scheduler's path; steps in a tight
loop would otherwise meet SQLite's automatic checkpoint inside their commits.

One job holds ``--big-share`` (20 %) of the runs, beyond the per-job limit, so the per-job
walk has work too; the other runs are spread over ``--jobs`` jobs. 4 % of the runs failed
(kept 90 days), 1 % were missed.

Prints the steps' duration (median, p99, max), the worst maintenance call (the most a tick
can be delayed: :data:`~gnomon.pruner.STEPS_PER_CALL` steps in a row), the whole cycle's
time and rate, and a second cycle with nothing left to remove (what every later cycle
costs). ``--db postgres`` runs on a throw-away database of ``--server``, dropped afterwards.
Results: ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
SERVER = "postgresql://postgres@127.0.0.1:5432/test"  # tests.servers.POSTGRES_URL
CHUNK = 20_000  # rows inserted per transaction while building
CHECKPOINT_EVERY = 4  # steps between SQLite WAL checkpoints (see the module docstring)


def build(store: Any, now: datetime, args: argparse.Namespace) -> None:
    """``args.runs`` finished runs and as many events, oldest first, over ``args.days``."""
    from gnomon.definitions import define_job, python
    from gnomon.instants import to_micros
    from gnomon.store.tables import events, runs

    jobs = [
        define_job("every 1m", python("json:dumps"), id=f"job-{n}", now=now)
        for n in range(args.jobs + 1)
    ]
    store.add_jobs(jobs, event_data=False)
    span = to_micros(now) - to_micros(now - timedelta(days=args.days))
    start = to_micros(now) - span
    every = max(1, round(1 / args.big_share)) if args.big_share > 0 else 0
    started = time.perf_counter()
    for first in range(0, args.runs, CHUNK):
        run_rows, event_rows = [], []
        for n in range(first, min(first + CHUNK, args.runs)):
            at = start + span * n // args.runs
            job = "job-0" if every and n % every == 0 else f"job-{1 + n % args.jobs}"
            status = "failed" if n % 25 == 0 else "missed" if n % 100 == 1 else "succeeded"
            run_rows.append(
                {
                    "job_id": job,
                    "scheduled_for": at,
                    "attempt": 1,
                    "due_at": at,
                    "reason": "schedule",
                    "status": status,
                    "created_at": at,
                    "started_at": at,
                    "finished_at": at + 1000,
                    "worker": "bench",
                    "lease_until": None,
                    "cancel_requested": False,
                    "result": None,
                    "error": None,
                    "output": None,
                }
            )
            event_rows.append(
                {"at": at, "kind": f"run.{status}", "job_id": job, "run_id": n + 1, "data": None}
            )
        with store._write() as conn:
            conn.execute(runs.insert(), run_rows)
            conn.execute(events.insert(), event_rows)
    print(
        f"built {args.runs:,} runs and events in {time.perf_counter() - started:.0f} s", flush=True
    )


def cycle_times(store: Any, now: datetime) -> tuple[list[float], list[str], Any]:
    """Every step of one pruning cycle: (durations in s, phase of each, the total report)."""
    from gnomon.pruner import cycle
    from gnomon.retention import PruneReport, Retention

    rules = Retention()
    total = PruneReport()
    steps = cycle(store, rules, now)
    times: list[float] = []
    phases: list[str] = []
    while True:
        began = time.perf_counter()
        try:
            step = next(steps)
        except StopIteration:
            break
        times.append(time.perf_counter() - began)
        phases.append("events" if step.events else "runs" if step.total_runs else "read")
        total.add(step)
        if len(times) % CHECKPOINT_EVERY == 0:
            store.checkpoint()  # as a scheduler's recorder does, off the scheduler's path
    return times, phases, total


def summary(name: str, times: list[float], per_call: int) -> None:
    calls = [sum(times[i : i + per_call]) for i in range(0, len(times), per_call)]
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    print(
        f"{name}: {len(times):,} steps in {sum(times):.2f} s; step median "
        f"{statistics.median(times) * 1000:.2f} ms, p99 {p99 * 1000:.2f} ms, max "
        f"{max(times) * 1000:.2f} ms; worst maintenance call ({per_call} steps) "
        f"{max(calls) * 1000:.2f} ms",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--server", default=SERVER)
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--big-share", type=float, default=0.2)
    parser.add_argument("--days", type=float, default=60.0)
    args = parser.parse_args()

    from bench.notify_latency import database
    from gnomon.pruner import STEPS_PER_CALL
    from gnomon.store import SqlStore

    now = datetime.now(UTC)
    with database(args.db, args.server) as url:
        store = SqlStore(url)
        try:
            build(store, now, args)
            times, phases, report = cycle_times(store, now)
            summary("first cycle", times, STEPS_PER_CALL)
            for phase in ("runs", "events", "read"):
                these = [t for t, p in zip(times, phases, strict=True) if p == phase]
                if these:
                    summary(
                        f"  steps that removed {phase}"
                        if phase != "read"
                        else "  steps that removed nothing",
                        these,
                        STEPS_PER_CALL,
                    )
            rate = (report.total_runs + report.events) / sum(times)
            print(
                f"  removed {report.total_runs:,} runs {dict(report.runs)} and "
                f"{report.events:,} events: {rate:,.0f} rows/s of pruning time",
                flush=True,
            )
            again, _, left = cycle_times(store, now)
            summary("second cycle (nothing left to remove)", again, STEPS_PER_CALL)
            assert left.total_runs == left.events == 0
        finally:
            store.close()


if __name__ == "__main__":
    main()
