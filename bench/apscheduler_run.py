"""One workload on APScheduler 3.11, for side by side runs: ``python bench/apscheduler_run.py
WORKLOAD --store memory|sqlite --workdir DIR [--duration S] [--size N] [--template PATH]``.

Runs in the peers' venv (``bench/requirements.txt``; ``bench/run.py --peers`` makes it at
``bench/.peers-venv``); gnomon is not imported. ``BackgroundScheduler`` with a thread pool of
8 (gnomon's default), the memory or the SQLAlchemy job store on a SQLite file, no misfire
grace limit, no coalescing. One run of one workload per process; it prints one JSON line of
figures last (named as ``run.py`` names gnomon's; see ``peer_common.py``).

- Lateness is noted by the executor just before it calls the job function: the scheduled run
  time it was handed and the time (APScheduler passes no run time to the function, so the
  pool's ``run_job`` is wrapped; the job function itself is a no-op). "Drain" is until the
  last of the 10,000 burst runs started (APScheduler records no outcomes).
- The scheduler is started paused while the jobs are added (APScheduler's fast path; the
  SQLite store commits each ``add_job``), then resumed; the due instant or the first fire is
  set from the creation rate of a sample of 500, so that creation ends before it.
- idle, SQLite store: the far-future jobs are written once per size into a template file in
  the store's own row format (``id``, ``next_run_time``, pickled job state: what
  ``SQLAlchemyJobStore.add_job`` writes) in one transaction, as gnomon's template is written
  with ``add_many``; each run copies it. The memory store is filled per run.
"""

from __future__ import annotations

import pickle  # noqa: TID251 (APScheduler's own job store rows are pickles)
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import apscheduler.executors.pool as aps_pool
from apscheduler.executors.base import run_job
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.util import datetime_to_utc_timestamp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.peer_common import (
    LEDGER,
    burst_figures,
    copy_written,
    cpu,
    creation_lead,
    emit,
    idle_figures,
    parser,
    periodic_figures,
    window,
)


def noop() -> None:
    """The job function; the fire is noted by ``noted_run_job``."""


def noted_run_job(job: Any, alias: str, run_times: list[datetime], logger_name: str) -> list[Any]:
    events: list[Any] = []
    for run_time in run_times:
        LEDGER.note(job.id, run_time.timestamp())
        events += run_job(job, alias, [run_time], logger_name)
    return events


aps_pool.run_job = noted_run_job  # type: ignore[assignment]


def utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def scheduler(store: str, db: Path | None) -> BackgroundScheduler:
    jobstore: Any = MemoryJobStore()
    if store == "sqlite":
        assert db is not None
        jobstore = SQLAlchemyJobStore(url=f"sqlite:///{db}")
    return BackgroundScheduler(
        jobstores={"default": jobstore},
        executors={"default": ThreadPoolExecutor(8)},
        job_defaults={"misfire_grace_time": None, "coalesce": False},
        timezone=UTC,
    )


def fresh(workdir: Path, name: str) -> Path:
    db = workdir / f"aps-{name}.db"
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    return db


def sampler(store: str, workdir: Path) -> Any:
    """Seconds to add ``n`` one-shots to a paused scheduler on a store of this kind."""

    def sample(n: int) -> float:
        sched = scheduler(store, fresh(workdir, "sample"))
        sched.start(paused=True)
        when = utc(time.time() + 3600)
        started = time.perf_counter()
        for i in range(n):
            sched.add_job(noop, "date", run_date=when, id=f"s{i}")
        taken = time.perf_counter() - started
        sched.shutdown(wait=False)
        return taken

    return sample


def burst(store: str, workdir: Path, count: int = 10_000) -> dict[str, float]:
    lead = creation_lead(sampler(store, workdir), count)
    sched = scheduler(store, fresh(workdir, "burst"))
    sched.start(paused=True)
    LEDGER.reset(expect=count)
    due = time.time() + lead
    when = utc(due)
    started = time.perf_counter()
    for i in range(count):
        sched.add_job(noop, "date", run_date=when, id=f"b{i}")
    rate = count / (time.perf_counter() - started)
    overran = time.time() > due - 0.2
    cpu0 = cpu()
    sched.resume()
    LEDGER.done.wait(max(0.0, due - time.time()) + 300)
    used = cpu() - cpu0
    sched.shutdown(wait=False)
    return burst_figures(rate, due, count, used, overran)


def add_intervals(
    sched: BackgroundScheduler, prefix: str, count: int, every: float, first: float, spread: float
) -> None:
    for i in range(count):
        sched.add_job(
            noop,
            "interval",
            seconds=every,
            start_date=utc(first + i * spread / count),
            id=f"{prefix}{i}",
        )


def periodic(
    store: str, workdir: Path, count: int = 5_000, every: float = 10.0, duration: float = 60.0
) -> dict[str, float]:
    lead = creation_lead(sampler(store, workdir), count)
    sched = scheduler(store, fresh(workdir, "periodic"))
    sched.start(paused=True)
    LEDGER.reset()
    first = float(int(time.time() + lead) + 1)
    add_intervals(sched, "p", count, every, first, every)
    sched.resume()
    measured = window(first, first + duration + 1.0)
    figures = periodic_figures(count, every, first, duration, measured)
    sched.shutdown(wait=False)
    return figures


def year_jobs(sched: BackgroundScheduler, start: int, stop: int) -> None:
    year = datetime.now(UTC) + timedelta(days=365)
    for i in range(start, stop):
        sched.add_job(noop, "date", run_date=year + timedelta(seconds=i), id=f"y{i}")


def make_template(path: Path, size: int) -> None:
    """``size`` year-away one-shots in a SQLite job store file, written in chunks of 10,000
    rows (one transaction each) exactly as ``SQLAlchemyJobStore.add_job`` writes a row."""
    target = SQLAlchemyJobStore(url=f"sqlite:///{path}")
    holder = scheduler("sqlite", path)
    holder.start(paused=True)  # creates the table
    staging = BackgroundScheduler(jobstores={"default": MemoryJobStore()}, timezone=UTC)
    staging.start(paused=True)
    for chunk in range(0, size, 10_000):
        year_jobs(staging, chunk, min(size, chunk + 10_000))
        rows = [
            {
                "id": job.id,
                "next_run_time": datetime_to_utc_timestamp(job.next_run_time),
                "job_state": pickle.dumps(job.__getstate__(), target.pickle_protocol),
            }
            for job in staging.get_jobs()
        ]
        with target.engine.begin() as conn:
            conn.execute(target.jobs_t.insert(), rows)
        staging.remove_all_jobs()
    staging.shutdown(wait=False)
    holder.shutdown(wait=False)


def idle(
    store: str, workdir: Path, size: int, template: Path | None, duration: float = 60.0
) -> dict[str, float]:
    db = None
    if store == "sqlite":
        assert template is not None, "idle on the SQLite store needs --template"
        if not template.exists():
            make_template(template, size)
        db = fresh(workdir, "idle")
        copy_written(template, db)
    sched = scheduler(store, db)
    sched.start(paused=True)
    if store == "memory":
        year_jobs(sched, 0, size)
    LEDGER.reset()
    first = float(int(time.time()) + 4)
    add_intervals(sched, "f", 10, 1.0, first, 1.0)
    sched.resume()
    measured = window(first, first + duration)
    figures = idle_figures(first, duration, measured)
    sched.shutdown(wait=False)
    return figures


def main() -> None:
    args = parser(__doc__ or "").parse_args()
    if args.workload == "burst":
        figures = burst(args.store, args.workdir)
    elif args.workload == "periodic":
        figures = periodic(args.store, args.workdir, duration=args.duration)
    else:
        figures = idle(args.store, args.workdir, args.size, args.template, args.duration)
    emit(figures)


if __name__ == "__main__":
    main()
