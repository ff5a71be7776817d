"""The same workloads on APScheduler 3.11, for scale: ``python bench/apscheduler_run.py``.

Needs ``pip install -r bench/requirements.txt`` (APScheduler 3.11 and SQLAlchemy) in a
separate environment; gnomon is not imported. ``BackgroundScheduler`` with a thread pool of
8 (gnomon's default), memory or SQLAlchemy (SQLite file) job store. Lateness is measured
the same way as in ``run.py``: the job function notes its start, minus its scheduled time.
One run per workload (``--repeat`` for more). APScheduler records no outcomes, so "drain"
is until the 10,000th job function returned.
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.events import EVENT_JOB_EXECUTED
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

STARTS: list[float] = []  # (start - scheduled) per run, filled by the job functions
_lock = threading.Lock()


def once(due: float) -> None:
    late = time.time() - due
    with _lock:
        STARTS.append(late)


def every(first: float, period: float) -> None:
    now = time.time()
    k = math.floor((now - first) / period + 1e-6)  # the fire this run belongs to
    with _lock:
        STARTS.append(now - (first + k * period))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5))) - 1]


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rss_mb() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def scheduler(store: str, workdir: Path, name: str) -> BackgroundScheduler:
    jobstore: Any = MemoryJobStore()
    if store == "sqlite":
        db = workdir / f"{name}.db"
        db.unlink(missing_ok=True)
        jobstore = SQLAlchemyJobStore(url=f"sqlite:///{db}")
    return BackgroundScheduler(
        jobstores={"default": jobstore},
        executors={"default": ThreadPoolExecutor(8)},
        job_defaults={"misfire_grace_time": None, "coalesce": False},
        timezone=UTC,
    )


def burst(store: str, workdir: Path, count: int = 10_000) -> dict[str, float]:
    STARTS.clear()
    sched = scheduler(store, workdir, "burst")
    done = threading.Event()
    seen = [0]

    def executed(_event: Any) -> None:
        seen[0] += 1
        if seen[0] >= count:
            done.set()

    sched.add_listener(executed, EVENT_JOB_EXECUTED)
    sched.start()
    due = time.time() + 3600  # far enough; moved to the due instant below
    t0 = time.perf_counter()
    when = datetime.fromtimestamp(due, UTC)
    for i in range(count):
        sched.add_job(once, "date", run_date=when, args=[due], id=f"b{i}")
    rate = count / (time.perf_counter() - t0)
    sched.shutdown(wait=True)
    # Restart with all jobs due a few seconds from now (creation can take long on SQLite).
    STARTS.clear()
    sched = scheduler(store, workdir, "burst2")
    sched.add_listener(executed, EVENT_JOB_EXECUTED)
    due = time.time() + 3 + count / rate
    when = datetime.fromtimestamp(due, UTC)
    sched.start(paused=True)
    for i in range(count):
        sched.add_job(once, "date", run_date=when, args=[due], id=f"b{i}")
    seen[0] = 0
    c0 = cpu()
    sched.resume()
    done.wait(max(0.0, due - time.time()) + 300)
    drain = time.time() - due
    used = cpu() - c0
    sched.shutdown(wait=False)
    return {
        "create_jobs_per_s": rate,
        "drain_s": drain,
        "p50_ms": pct(STARTS, 50) * 1e3,
        "p99_ms": pct(STARTS, 99) * 1e3,
        "seen": len(STARTS),
        "cpu_s": used,
    }


def periodic(
    store: str, workdir: Path, count: int = 5_000, period: float = 10.0, duration: float = 60.0
) -> dict[str, float]:
    STARTS.clear()
    sched = scheduler(store, workdir, "periodic")
    first = float(int(time.time()) + 5)
    for i in range(count):
        start = first + i * period / count
        sched.add_job(
            every,
            "interval",
            seconds=period,
            start_date=datetime.fromtimestamp(start, UTC),
            args=[start, period],
            id=f"p{i}",
        )
    sched.start()
    time.sleep(max(0.0, first - time.time()))
    c0 = cpu()
    time.sleep(duration)
    used = cpu() - c0
    rss = rss_mb()
    sched.shutdown(wait=False)
    late = list(STARTS)
    return {
        "expected": count * round(duration / period),
        "seen": len(late),
        "p50_ms": pct(late, 50) * 1e3,
        "p99_ms": pct(late, 99) * 1e3,
        "max_ms": max(late) * 1e3,
        "cpu_s": used,
        "rss_mb": rss,
    }


def idle(store: str, workdir: Path, size: int, duration: float = 60.0) -> dict[str, float]:
    STARTS.clear()
    sched = scheduler(store, workdir, "idle")
    year = datetime.now(UTC) + timedelta(days=365)
    for i in range(size):
        sched.add_job(once, "date", run_date=year + timedelta(seconds=i), args=[0.0], id=f"y{i}")
    first = float(int(time.time()) + 5)
    for i in range(10):
        start = first + i / 10
        sched.add_job(
            every,
            "interval",
            seconds=1.0,
            start_date=datetime.fromtimestamp(start, UTC),
            args=[start, 1.0],
            id=f"f{i}",
        )
    sched.start()
    time.sleep(max(0.0, first - time.time()))
    c0 = cpu()
    time.sleep(duration)
    used = cpu() - c0
    rss = rss_mb()
    sched.shutdown(wait=False)
    return {
        "cpu_s_per_min": used * 60 / duration,
        "rss_mb": rss,
        "p99_ms": pct(STARTS, 99) * 1e3,
        "seen": len(STARTS),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "workload", nargs="?", default="all", choices=["burst", "periodic", "idle", "all"]
    )
    parser.add_argument("--store", default="memory,sqlite")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    print(
        f"APScheduler 3.11: {os.cpu_count()} cores, load "
        + "/".join(f"{x:.2f}" for x in os.getloadavg())
    )
    with tempfile.TemporaryDirectory(prefix="aps-bench-") as tmp:
        workdir = Path(tmp)
        for store in args.store.split(","):
            work = {
                "burst": lambda s=store: burst(s, workdir),
                "periodic": lambda s=store: periodic(s, workdir),
                "idle": lambda s=store: idle(s, workdir, 100_000),
            }
            for name, run in work.items():
                if args.workload not in (name, "all"):
                    continue
                results = [run() for _ in range(args.repeat)]
                median = {k: statistics.median(r[k] for r in results) for k in results[0]}
                print(
                    f"{name} [{store}]: " + ", ".join(f"{k}={v:.4g}" for k, v in median.items()),
                    flush=True,
                )


if __name__ == "__main__":
    main()
