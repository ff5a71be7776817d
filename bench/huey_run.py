"""One workload on huey 2 with SQLite storage, for side by side runs: ``python
bench/huey_run.py WORKLOAD --workdir DIR [--duration S] [--size N] [--template PATH]``.

Runs in the peers' venv (``bench/requirements.txt``; ``bench/run.py --peers`` makes it at
``bench/.peers-venv``); gnomon is not imported. ``SqliteHuey`` on a file with huey's
defaults (WAL, ``synchronous=0``: huey does not fsync by default), its consumer run in this
process through huey's ``Consumer`` API with 8 worker threads and huey's default polling
(workers poll the queue from 0.1 s, backing off by 1.15 times up to 10 s while it is empty; the
scheduler thread moves due tasks from the schedule to the queue once a second, huey's
shortest interval). One run of one workload per process; it prints one JSON line of figures
last (named as ``run.py`` names gnomon's; see ``peer_common.py``).

- One-shots: ``task.schedule(args, eta=…)``: huey puts the task on the queue, a worker sees
  it is not due and moves it to the schedule, the scheduler thread puts it back on the queue
  once due. The task notes its start minus the scheduled time it was given.
- Periodic: huey's periodic tasks take crontab times (a minute at best) and cannot start at
  offsets such as every 10 s from 2 ms apart, so each periodic job is a task that, when it
  runs, schedules its own next fire (``schedule(eta=scheduled + period)``, from the
  scheduled time, not the start, so lateness does not accumulate); the first fire of each is
  scheduled up front.
- "Drain" is until the last of the 10,000 burst tasks started (as for APScheduler).
- idle: the far-future tasks are written once per size into a template file in huey's own
  schedule rows (the serialized task, its eta: what ``Huey.add_schedule`` writes) in one
  transaction per 10,000, as gnomon's template is written with ``add_many``; each run copies it.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from huey import SqliteHuey
from huey.utils import to_timestamp

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

WORKERS = 8


def utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


class Bench:
    """A ``SqliteHuey`` on ``db`` with the bench's two tasks, and its consumer."""

    def __init__(self, db: Path) -> None:
        self.huey = SqliteHuey(name="bench", filename=str(db))
        self.consumer: Any = None

        @self.huey.task()
        def once(key: str, scheduled: float) -> None:
            LEDGER.note(key, scheduled)

        @self.huey.task()
        def every(key: str, scheduled: float, period: float, until: float) -> None:
            LEDGER.note(key, scheduled)
            following = scheduled + period
            if following < until:
                every.schedule(args=(key, following, period, until), eta=utc(following))

        self.once = once
        self.every = every

    def start(self) -> None:
        self.consumer = self.huey.create_consumer(
            workers=WORKERS, worker_type="thread", periodic=False
        )
        self.consumer.start()

    def stop(self) -> None:
        if self.consumer is not None:
            self.consumer.stop()  # not graceful: workers may sleep up to 10 s between polls


def fresh(workdir: Path, name: str) -> Path:
    db = workdir / f"huey-{name}.db"
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    return db


def sampler(workdir: Path) -> Any:
    def sample(n: int) -> float:
        bench = Bench(fresh(workdir, "sample"))
        when = utc(time.time() + 3600)
        started = time.perf_counter()
        for i in range(n):
            bench.once.schedule(args=(f"s{i}", 0.0), eta=when)
        return time.perf_counter() - started

    return sample


def burst(workdir: Path, count: int = 10_000) -> dict[str, float]:
    lead = creation_lead(sampler(workdir), count)
    bench = Bench(fresh(workdir, "burst"))
    bench.start()
    LEDGER.reset(expect=count)
    due = time.time() + lead
    when = utc(due)
    started = time.perf_counter()
    for i in range(count):
        bench.once.schedule(args=(f"b{i}", due), eta=when)
    rate = count / (time.perf_counter() - started)
    overran = time.time() > due - 0.2
    cpu0 = cpu()
    LEDGER.done.wait(max(0.0, due - time.time()) + 300)
    used = cpu() - cpu0
    bench.stop()
    return burst_figures(rate, due, count, used, overran)


def schedule_intervals(
    bench: Bench, prefix: str, count: int, every: float, first: float, spread: float, until: float
) -> None:
    for i in range(count):
        start = first + i * spread / count
        bench.every.schedule(args=(f"{prefix}{i}", start, every, until), eta=utc(start))


def periodic(
    workdir: Path, count: int = 5_000, every: float = 10.0, duration: float = 60.0
) -> dict[str, float]:
    lead = creation_lead(sampler(workdir), count)
    bench = Bench(fresh(workdir, "periodic"))
    bench.start()
    LEDGER.reset()
    first = float(int(time.time() + lead) + 1)
    until = first + duration + 1.0
    schedule_intervals(bench, "p", count, every, first, every, until)
    measured = window(first, until)
    figures = periodic_figures(count, every, first, duration, measured)
    bench.stop()
    return figures


def make_template(path: Path, size: int) -> None:
    """``size`` year-away one-shots in huey's schedule table, rows as ``add_schedule`` writes
    them (``SqliteStorage.add_to_schedule``), 10,000 per transaction."""
    bench = Bench(path)
    year = (datetime.now(UTC) + timedelta(days=365)).timestamp()
    storage = bench.huey.storage
    for chunk in range(0, size, 10_000):
        rows = []
        for i in range(chunk, min(size, chunk + 10_000)):
            task = bench.once.s(f"y{i}", 0.0, eta=utc(year + i))
            eta = to_timestamp(task.eta)
            rows.append((storage.name, bench.huey.serialize_task(task), eta))
        with storage.db(commit=True) as curs:
            curs.executemany("insert into schedule (queue, data, timestamp) values (?, ?, ?)", rows)
    with storage.db() as curs:
        curs.execute("pragma wal_checkpoint(TRUNCATE)")


def idle(workdir: Path, size: int, template: Path, duration: float = 60.0) -> dict[str, float]:
    if not template.exists():
        make_template(template, size)
    db = fresh(workdir, "idle")
    copy_written(template, db)
    bench = Bench(db)
    bench.start()
    LEDGER.reset()
    first = float(int(time.time()) + 4)
    schedule_intervals(bench, "f", 10, 1.0, first, 1.0, first + duration)
    measured = window(first, first + duration)
    figures = idle_figures(first, duration, measured)
    bench.stop()
    return figures


def main() -> None:
    args = parser(__doc__ or "").parse_args()
    if args.workload == "burst":
        figures = burst(args.workdir)
    elif args.workload == "periodic":
        figures = periodic(args.workdir, duration=args.duration)
    else:
        template = args.template or args.workdir / f"huey-idle-{args.size}-template.db"
        figures = idle(args.workdir, args.size, template, args.duration)
    emit(figures)


if __name__ == "__main__":
    main()
