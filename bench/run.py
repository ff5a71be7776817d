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
and as the median of ``--repeat`` runs. ``--quick``: one run, 20 s windows, 100k jobs only;
``--window``: other windows; ``--threads``: each run's CPU per thread (bench/serve.py's).

``--peers``: the same workloads side by side with the peers, in one invocation: each
repetition runs gnomon, APScheduler 3.11 (memory store), APScheduler (SQLite store) and huey 2
(SQLite), each scheduler in a process of its own, back to back, the order reversed every other
repetition, the load average printed before and after each run. The peers run in a venv of
their own, ``bench/.peers-venv``, made from ``bench/requirements.txt`` on first use (again
when that file changes); ``bench/apscheduler_run.py`` and ``bench/huey_run.py`` say how each
is measured. Then one table: per workload, each one's medians and the ratio gnomon / peer of
every figure (``--json`` writes it). ``--against apscheduler-memory`` (comma-separated):
only those peers (APScheduler's SQLite store takes minutes per burst).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.peer_common import pct  # noqa: E402  (the peers' percentile is the same)
from gnomon import Scheduler  # noqa: E402
from gnomon.definitions import define_job, python  # noqa: E402
from gnomon.models import Job  # noqa: E402
from gnomon.triggers import IntervalTrigger  # noqa: E402

NOOP = python("bench.noop:noop")
CHUNK = 10_000  # jobs per add_many transaction when bulk-loading


def utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


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

    show_threads = False  # print the CPU of each thread (``--threads``)
    freeze = False  # freeze the start-up objects, as ``gnomon up`` does (``--freeze``)

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
            "freeze": self.freeze,
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
        if self.show_threads:  # CPU seconds per minute of each thread that used any
            per_minute = 60 / max(report["wall"], 1e-9)
            shown = {k: round(v * per_minute, 3) for k, v in report["threads"].items() if v}
            print(f"  threads, CPU s per minute: {shown}", flush=True)
            wakes = {k: round(v * per_minute) for k, v in report.get("wakes", {}).items() if v}
            print(f"  threads, times on a CPU per minute: {wakes}", flush=True)
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
    # Written out before the scheduler starts: else the first fsync of the file (a WAL
    # checkpoint's, in the scheduler's recorder thread) wrote out the whole copy, ~1 GB at
    # 1M jobs, and its CPU was counted as the scheduler's.
    with open(db, "rb+") as copied:
        os.fsync(copied.fileno())
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


# -- side by side with the peers (--peers) ---------------------------------------------------

PEERS_VENV = ROOT / "bench" / ".peers-venv"
PEER_REQUIREMENTS = ROOT / "bench" / "requirements.txt"
# name: (script in bench/, its options)
PEERS: dict[str, tuple[str, list[str]]] = {
    "apscheduler-memory": ("apscheduler_run.py", ["--store", "memory"]),
    "apscheduler-sqlite": ("apscheduler_run.py", ["--store", "sqlite"]),
    "huey-sqlite": ("huey_run.py", []),
}
CONTENDERS = ["gnomon", *PEERS]


def peers_python() -> Path:
    """The peers' venv's python; made (or remade) when ``requirements.txt`` changed."""
    digest = hashlib.sha256(PEER_REQUIREMENTS.read_bytes()).hexdigest()
    stamp = PEERS_VENV / "requirements.sha256"
    python = PEERS_VENV / "bin" / "python"
    if python.exists() and stamp.exists() and stamp.read_text().strip() == digest:
        return python
    print(f"  making the peers' venv at {PEERS_VENV} (once) ...", flush=True)
    shutil.rmtree(PEERS_VENV, ignore_errors=True)
    venv.EnvBuilder(with_pip=True).create(PEERS_VENV)
    pip = [str(python), "-m", "pip", "--disable-pip-version-check", "install", "-q"]
    subprocess.run([*pip, "-r", str(PEER_REQUIREMENTS)], check=True)
    stamp.write_text(digest + "\n")
    return python


def peer(
    python: Path, name: str, workload: str, workdir: Path, window: float, size: int
) -> dict[str, float]:
    """One run of ``workload`` on peer ``name`` in its own process; its figures."""
    script, options = PEERS[name]
    command = [
        str(python),
        str(ROOT / "bench" / script),
        workload,
        *options,
        "--workdir",
        str(workdir),
        "--duration",
        str(window),
        "--size",
        str(size),
        "--template",
        str(workdir / f"{name}-idle-{size}-template.db"),
    ]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise RuntimeError(f"{name} {workload} failed ({done.returncode}): {tail}")
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def ratio(ours: float, theirs: float) -> float | None:
    """gnomon / peer, or None where that means nothing (a zero, a NaN, an infinity)."""
    if not (math.isfinite(ours) and math.isfinite(theirs)) or theirs == 0:
        return None
    return ours / theirs


def side_by_side(
    runs: Mapping[str, Mapping[str, Sequence[Mapping[str, float]]]],
) -> dict[str, dict[str, Any]]:
    """Runs per workload per contender → per workload: the number of runs, each contender's
    medians and the ratio gnomon / contender of every figure both have. Figures are in
    gnomon's order, then any only a peer has."""
    table: dict[str, dict[str, Any]] = {}
    for workload, by_name in runs.items():
        medians = {
            name: {k: statistics.median(r[k] for r in results) for k in results[0]}
            for name, results in by_name.items()
            if results
        }
        ours = medians.get("gnomon", {})
        ratios = {
            name: {k: ratio(ours[k], v) for k, v in figures.items() if k in ours}
            for name, figures in medians.items()
            if name != "gnomon"
        }
        figures = list(ours)
        for name_figures in medians.values():
            figures += [k for k in name_figures if k not in figures]
        table[workload] = {
            "runs": max((len(r) for r in by_name.values()), default=0),
            "figures": figures,
            "medians": medians,
            "ratios": ratios,
        }
    return table


def show(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def format_side_by_side(table: Mapping[str, Mapping[str, Any]]) -> str:
    """The table as text: a block per workload, a row per figure, for each peer its median
    and gnomon / it."""
    lines = []
    for workload, entry in table.items():
        names = [n for n in CONTENDERS if n in entry["medians"]]
        names += [n for n in entry["medians"] if n not in names]
        lines.append(f"\n== {workload}: medians of {entry['runs']} run(s); ratio = gnomon / peer")
        header = f"  {'figure':20}"
        for name in names:
            header += f" {name:>18}" + ("" if name == "gnomon" else f" {'ratio':>7}")
        lines.append(header)
        for figure in entry["figures"]:
            row = f"  {figure:20}"
            for name in names:
                row += f" {show(entry['medians'][name].get(figure)):>18}"
                if name != "gnomon":
                    row += f" {show(entry['ratios'][name].get(figure)):>7}"
            lines.append(row)
    return "\n".join(lines)


def run_peers(
    workload: str,
    times: int,
    window: float,
    sizes: list[int],
    workdir: Path,
    against: list[str] | None = None,
) -> dict[str, dict[str, Any]]:
    """The side by side runs; ``against``: only these peers (all by default)."""
    contenders = ["gnomon", *(against or PEERS)]
    python = peers_python()
    print(f"  peers' venv: {python}", flush=True)
    runs: dict[str, dict[str, list[dict[str, float]]]] = {}

    def rounds(key: str, ours: Callable[[], dict[str, float]], kind: str, size: int) -> None:
        runs[key] = {name: [] for name in contenders}
        for i in range(times):
            order = contenders if i % 2 == 0 else contenders[::-1]
            for name in order:
                before = load()
                result = (
                    ours() if name == "gnomon" else peer(python, name, kind, workdir, window, size)
                )
                print(
                    f"  {key} run {i + 1}/{times} {name}: load {before} -> {load()}: "
                    + ", ".join(f"{k}={v:.4g}" for k, v in result.items()),
                    flush=True,
                )
                runs[key][name].append(result)

    if workload in ("burst", "all"):
        rounds("burst", lambda: burst(workdir), "burst", 0)
    if workload in ("periodic", "all"):
        rounds("periodic", lambda: periodic(workdir, duration=window), "periodic", 0)
    if workload in ("idle", "all"):
        for size in sizes:
            template, rate = idle_template(workdir, size)
            print(f"  idle-{size}: gnomon created {size} year-away jobs at {rate:,.0f} jobs/s")
            rounds(
                f"idle-{size}",
                lambda t=template: idle(workdir, t, duration=window),
                "idle",
                size,
            )
            template.unlink()
            for peer_template in workdir.glob(f"*-idle-{size}-template.db*"):
                peer_template.unlink()
    table = side_by_side(runs)
    print(format_side_by_side(table), flush=True)
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "workload", nargs="?", default="all", choices=["burst", "periodic", "idle", "all"]
    )
    parser.add_argument("--quick", action="store_true", help="one run, short windows")
    parser.add_argument(
        "--window", type=float, default=None, help="seconds per measured window (60; 20 quick)"
    )
    parser.add_argument(
        "--threads",
        action="store_true",
        help="print gnomon's CPU per thread for each run (where its time goes)",
    )
    parser.add_argument(
        "--freeze",
        action="store_true",
        help="gnomon's process leaves its start-up objects out of garbage collection, as "
        "`gnomon up` does (default: as an application embedding the scheduler, untouched)",
    )
    parser.add_argument("--repeat", type=int, default=None, help="runs per workload (3)")
    parser.add_argument("--sizes", default=None, help="idle sizes, e.g. 100000,1000000")
    parser.add_argument("--json", type=Path, default=None, help="write the medians here")
    parser.add_argument(
        "--peers",
        action="store_true",
        help="run APScheduler and huey side by side (bench/.peers-venv)",
    )
    parser.add_argument(
        "--against",
        default=None,
        help=f"with --peers, only these (comma-separated: {', '.join(PEERS)})",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="keep databases and ledgers here (default: a temporary dir)",
    )
    args = parser.parse_args()
    times = args.repeat or (1 if args.quick else 3)
    window = args.window or (20.0 if args.quick else 60.0)
    Server.show_threads = args.threads
    Server.freeze = args.freeze
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
        if args.peers:
            against = args.against.split(",") if args.against else None
            if against and not set(against) <= set(PEERS):
                parser.error(f"--against: one of {', '.join(PEERS)}")
            table = run_peers(args.workload, times, window, sizes, workdir, against)
            print(f"\nload at the end {load()}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
            if args.json:
                args.json.write_text(json.dumps(table, indent=2) + "\n")
            return
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
