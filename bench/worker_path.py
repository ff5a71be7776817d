"""The Celery worker's own path per run, in one process: ``python bench/worker_path.py``.

``--runs`` one-shot no-op jobs on a fresh PostgreSQL database are claimed ``queued`` (as a
scheduler with a broker does), then :meth:`RunExecutor.execute` starts, executes and records
each by id, one after the other, as a prefork child does for each message (no Celery, no
broker). Printed: CPU and wall time per run (median of ``--repeat`` batches), and with
``--profile`` the functions that cost most (cProfile, cumulative).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import pstats
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.celery_bench import NOOP, POSTGRES, fresh_database  # noqa: E402
from gnomon.definitions import define_job  # noqa: E402
from gnomon.dispatch.celery_worker import RunExecutor  # noqa: E402
from gnomon.planning import planner_at  # noqa: E402
from gnomon.store import SqlStore  # noqa: E402


def queued_runs(store: SqlStore, runs: int, batch: int) -> list[int]:
    """``runs`` queued run ids (claimed for a broker, as a scheduler would)."""
    now = datetime.now(UTC)
    due = now + timedelta(seconds=1)
    jobs = [define_job(due, NOOP, now=now, id=f"b{batch}-{i}") for i in range(runs)]
    store.add_jobs(jobs)
    ids: list[int] = []
    while len(ids) < runs:
        _, claimed, _ = store.step(due, planner_at(due), runs, "sender", runs, 60.0, queue=True)
        ids += [c.run.id for c in claimed]
    return ids


def server_cpu(url: str) -> float:
    """CPU seconds so far of the PostgreSQL server processes serving database ``url``."""
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(POSTGRES, autocommit=True) as admin:
        query = "SELECT pid FROM pg_stat_activity WHERE datname = %s"
        pids = [row[0] for row in admin.execute(query, (name,))]
    total = 0.0
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            times = psutil.Process(pid).cpu_times()
            total += times.user + times.system
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000, help="runs per batch (1,000)")
    parser.add_argument("--repeat", type=int, default=3, help="batches (3)")
    parser.add_argument("--profile", action="store_true", help="cProfile the last batch")
    parser.add_argument(
        "--threads", type=int, default=1, help="runs executed at once, as a threads pool (1)"
    )
    parser.add_argument(
        "--batch", type=int, default=100, help="group commit: most writes in one (100; 1: off)"
    )
    args = parser.parse_args()
    with fresh_database() as url:
        store = SqlStore(url, pre_ping=False)  # as the worker's (gnomon.celery)
        setup = SqlStore(url)
        executor = RunExecutor(store, lease=30.0, worker="bench@host:1")
        executor.starts.max_batch = executor.finishes.max_batch = args.batch
        pool = ThreadPoolExecutor(args.threads)
        cpu, wall, server = [], [], []
        try:
            for batch in range(args.repeat):
                ids = queued_runs(setup, args.runs, batch)
                profile = cProfile.Profile() if args.profile and batch == args.repeat - 1 else None
                executor.execute(ids.pop())  # the executor's connection is open: measure it
                s0, c0, w0 = server_cpu(url), time.process_time(), time.perf_counter()
                if profile:
                    profile.enable()
                results = list(pool.map(executor.execute, ids))
                if profile:
                    profile.disable()
                cpu.append((time.process_time() - c0) / len(ids) * 1e3)
                wall.append((time.perf_counter() - w0) / len(ids) * 1e3)
                server.append((server_cpu(url) - s0) / len(ids) * 1e3)
                bad = [r for r in results if r["status"] != "succeeded" or not r["recorded"]]
                print(
                    f"batch {batch + 1}: cpu {cpu[-1]:.3f} ms/run, wall {wall[-1]:.3f} ms/run, "
                    f"server cpu {server[-1]:.3f} ms/run; "
                    f"{executor.finishes.items / max(1, executor.finishes.batches):.1f} outcomes"
                    " per commit so far"
                )
                if bad:
                    raise SystemExit(f"{len(bad)} runs not succeeded and recorded: {bad[:3]}")
        finally:
            pool.shutdown()
            executor.close()
            setup.close()
        print(
            f"median: cpu {statistics.median(cpu):.3f} ms/run, wall {statistics.median(wall):.3f}"
            f" ms/run, server cpu {statistics.median(server):.3f} ms/run"
        )
        if profile:
            pstats.Stats(profile).sort_stats("cumulative").print_stats(40)


if __name__ == "__main__":
    main()
