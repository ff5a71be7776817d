"""gnomon benchmarks, embedded on SQLite: ``python bench/run.py [burst|periodic|idle|all]``.

- **burst**: 10,000 one-shots due at one instant. Bulk creation rate (``define_job`` +
  ``add_many``), drain time (due instant → the last of the 10,000 runs recorded
  ``succeeded``), lateness p50/p99 (action start - scheduled_for).
- **periodic**: 5,000 interval jobs every 10 s, their first fires spread evenly over the
  first 10 s (one every 2 ms), for 60 s. Fires seen vs expected, lateness p50/p99/max,
  scheduler CPU seconds and peak RSS.
- **idle**: 100,000 one-shots due next year plus 10 jobs every second (0.1 s apart) for 60 s:
  CPU seconds per minute, RSS, lateness p99 of the frequent ones; then the same with
  1,000,000 year-away jobs.

The scheduler runs in its own process (``bench/serve.py``), so its CPU time and RSS are its
own; this process only creates jobs and reads the results. Lateness is measured by the action
itself (``bench/noop.py``), which appends to a ledger file. Every figure is printed per run
and as the median of ``--repeat`` runs. ``--quick``: one run, 20 s windows, 100k jobs only.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gnomon import Scheduler  # noqa: E402
from gnomon.definitions import define_job, python  # noqa: E402
from gnomon.models import Job  # noqa: E402
from gnomon.triggers import IntervalTrigger  # noqa: E402

NOOP = python("bench.noop:noop")
CHUNK = 10_000  # jobs per add_many transaction when bulk-loading


def utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


# -- job creation ---------------------------------------------------------------------


def create(db: Path, jobs: Iterable[Job], total: int) -> float:
    """Store jobs (built lazily by ``jobs``) in chunks; return jobs per second overall."""
    started = time.perf_counter()
    with Scheduler(str(db)) as scheduler:
        chunk: list[Job] = []
        for job in jobs:
            chunk.append(job)
            if len(chunk) >= CHUNK:
                scheduler.add_many(chunk)
                chunk = []
        if chunk:
            scheduler.add_many(chunk)
    return total / (time.perf_counter() - started)


def one_shots(prefix: str, count: int, at: Callable[[int], datetime]) -> Iterable[Job]:
    now = datetime.now(UTC)
    for i in range(count):
        yield define_job(at(i), NOOP, now=now, id=f"{prefix}-{i}")


def intervals(prefix: str, count: int, every: float, first: float, spread: float) -> Iterable[Job]:
    """``count`` jobs every ``every`` s, the first fires spread evenly over ``spread`` s."""
    now = datetime.now(UTC)
    period = timedelta(seconds=every)
    for i in range(count):
        start = utc(first + i * spread / count)
        yield define_job(IntervalTrigger(period, start), NOOP, now=now, id=f"{prefix}-{i}")


# -- the scheduler process -------------------------------------------------------------


class Server:
    """``bench/serve.py`` on ``db``, measuring from ``measure_from`` until ``until``."""

    def __init__(
        self, db: Path, until: float, expect: int | None = None, since: float = 0.0
    ) -> None:
        self.ledger = db.with_suffix(".ledger")
        self.ledger.unlink(missing_ok=True)
        cfg = {
            "db": str(db),
            "ledger": str(self.ledger),
            "until": until,
            "expect": expect,
            "since": since,
        }
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "serve.py"), json.dumps(cfg)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if line != "ready":
            raise RuntimeError(f"scheduler process failed to start: {line!r}")

    def report(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        out = self.proc.stdout.read()
        if self.proc.wait() != 0:
            raise RuntimeError(f"scheduler process failed ({self.proc.returncode})")
        report: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
        return report

    def fires(self, since: float, before: float) -> tuple[list[float], int, int]:
        """Lateness (s) of ledger fires scheduled in [since, before); (lateness, lines, unique)."""
        lateness, keys, lines = [], set(), 0
        for line in self.ledger.read_text().splitlines():
            job_id, sched_us, started = line.split()
            sched = int(sched_us) / 1e6
            if since - 1e-6 <= sched < before:
                lines += 1
                keys.add((job_id, sched_us))
                lateness.append(float(started) - sched)
        return lateness, lines, len(keys)


def fresh_db(workdir: Path, name: str) -> Path:
    db = workdir / f"{name}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    Scheduler(str(db)).close()  # schema
    return db


# -- workloads -------------------------------------------------------------------------


def burst(workdir: Path, count: int = 10_000, lead: float = 8.0) -> dict[str, float]:
    db = fresh_db(workdir, "burst")
    server = Server(db, until=time.time() + 120, expect=count)
    due = time.time() + lead
    rate = create(db, one_shots("burst", count, lambda i: utc(due)), count)
    late_create = time.time() > due - 0.2
    report = server.report()
    lateness, lines, unique = server.fires(due, due + 1e-3)
    return {
        "create_jobs_per_s": rate,
        "drain_s": report["last_recorded"] - due if report["finished"] else float("inf"),
        "p50_ms": pct(lateness, 50) * 1e3,
        "p99_ms": pct(lateness, 99) * 1e3,
        "max_ms": max(lateness, default=float("nan")) * 1e3,
        "seen": unique,
        "duplicates": lines - unique,
        "cpu_s": report["cpu"],
        "peak_rss_mb": report["peak_rss_mb"],
        "creation_overran": float(late_create),
    }


def periodic(
    workdir: Path, count: int = 5_000, every: float = 10.0, duration: float = 60.0
) -> dict[str, float]:
    db = fresh_db(workdir, "periodic")
    first = float(int(time.time()) + 4)
    server = Server(db, until=first + duration + 1.0, since=first)
    create(db, intervals("periodic", count, every, first, every), count)
    report = server.report()
    lateness, lines, unique = server.fires(first, first + duration)
    expected = count * round(duration / every)
    return {
        "expected": expected,
        "seen": unique,
        "missing": expected - unique,
        "duplicates": lines - unique,
        "p50_ms": pct(lateness, 50) * 1e3,
        "p99_ms": pct(lateness, 99) * 1e3,
        "max_ms": max(lateness, default=float("nan")) * 1e3,
        "cpu_s": report["cpu"],
        "window_s": report["wall"],
        "peak_rss_mb": report["peak_rss_mb"],
    }


def idle_template(workdir: Path, count: int) -> tuple[Path, float]:
    """A database holding ``count`` one-shots due in a year; (path, creation jobs/s)."""
    db = fresh_db(workdir, f"idle-{count}-template")
    year = datetime.now(UTC) + timedelta(days=365)
    rate = create(db, one_shots("year", count, lambda i: year + timedelta(seconds=i)), count)
    # Fold the WAL into the file before copying it.
    with Scheduler(str(db)) as scheduler, scheduler.store.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return db, rate


def idle(workdir: Path, template: Path, duration: float = 60.0) -> dict[str, float]:
    db = workdir / "idle.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(template, db)
    first = float(int(time.time()) + 4)
    server = Server(db, until=first + duration, since=first)
    create(db, intervals("frequent", 10, 1.0, first, 1.0), 10)
    report = server.report()
    lateness, lines, unique = server.fires(first, first + duration - 0.5)
    return {
        "cpu_s_per_min": report["cpu"] * 60 / report["wall"],
        "rss_mb": report["rss_end_mb"],
        "peak_rss_mb": report["peak_rss_mb"],
        "p99_ms": pct(lateness, 99) * 1e3,
        "max_ms": max(lateness, default=float("nan")) * 1e3,
        "seen": unique,
        "expected": round(10 * (duration - 0.5)),
        "duplicates": lines - unique,
    }


# -- reporting ---------------------------------------------------------------------------


def summarise(name: str, results: list[dict[str, float]]) -> dict[str, float]:
    keys = results[0].keys()
    median = {k: statistics.median(r[k] for r in results) for k in keys}
    print(f"\n== {name}: median of {len(results)} run(s) ==")
    for k in keys:
        each = ", ".join(f"{r[k]:.4g}" for r in results)
        print(f"  {k:20} {median[k]:>12.4g}   [{each}]")
    return median


def repeat(name: str, times: int, work: Callable[[], dict[str, float]]) -> dict[str, float]:
    results = []
    for i in range(times):
        before = load()
        result = work()
        print(
            f"  {name} run {i + 1}/{times}: load {before} -> {load()}: "
            + ", ".join(f"{k}={v:.4g}" for k, v in result.items()),
            flush=True,
        )
        results.append(result)
    return summarise(name, results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "workload", nargs="?", default="all", choices=["burst", "periodic", "idle", "all"]
    )
    parser.add_argument("--quick", action="store_true", help="one run, short windows")
    parser.add_argument("--repeat", type=int, default=None, help="runs per workload (3)")
    parser.add_argument("--sizes", default=None, help="idle sizes, e.g. 100000,1000000")
    parser.add_argument("--json", type=Path, default=None, help="write the medians here")
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="keep databases and ledgers here (default: a temporary dir)",
    )
    args = parser.parse_args()
    times = args.repeat or (1 if args.quick else 3)
    window = 20.0 if args.quick else 60.0
    sizes = [
        int(s) for s in (args.sizes or ("100000" if args.quick else "100000,1000000")).split(",")
    ]
    print(
        f"gnomon bench: {os.cpu_count()} cores, python {sys.version.split()[0]}, "
        f"load {load()}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )
    medians: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="gnomon-bench-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        if args.workload in ("burst", "all"):
            medians["burst"] = repeat("burst", times, lambda: burst(workdir))
        if args.workload in ("periodic", "all"):
            medians["periodic"] = repeat(
                "periodic", times, lambda: periodic(workdir, duration=window)
            )
        if args.workload in ("idle", "all"):
            for size in sizes:
                template, rate = idle_template(workdir, size)
                print(f"  idle-{size}: created {size} year-away jobs at {rate:,.0f} jobs/s")
                median = repeat(
                    f"idle-{size}", times, lambda t=template: idle(workdir, t, duration=window)
                )
                medians[f"idle-{size}"] = {**median, "create_jobs_per_s": rate}
                template.unlink()
    if args.json:
        args.json.write_text(json.dumps(medians, indent=2) + "\n")


if __name__ == "__main__":
    main()
