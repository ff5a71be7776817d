"""gnomon on Celery against raw Celery, side by side: ``python bench/celery_bench.py``.

Both sides run the same no-op through 2 Celery worker processes (``--pool prefork
--concurrency 1`` each by default; ``--pool threads --concurrency 8`` and others alike on
both sides; gnomon's worker settings: JSON, ``acks_late``, prefetch 1) on the local Redis
(a database number of its own, ``--redis-db``, and a fresh queue per run):

- **raw**: ``celery -A bench.celery_noop worker`` (two); this process sends ``--runs`` tasks
  with ``apply_async``. Time: first send → the last task done (a Redis counter the task
  increments).
- **gnomon**: two ``gnomon worker`` and one ``gnomon scheduler --broker`` on a fresh
  PostgreSQL database; ``--runs`` one-shot jobs (``bench.noop:noop``) all due at one
  instant. Time: the due instant → the last outcome recorded (``max(finished_at)``);
  fire-to-start lateness p50/p99 is ``started_at - due_at`` of the runs.

Runs alternate (raw, gnomon, gnomon, raw, …) so that a noisy machine affects both alike;
each figure is printed per run and as the median of ``--repeat`` runs, with the ratio
gnomon/raw. CPU seconds are each process tree's own over the measured window
(``worker_pool_cpu_s``: the workers' pool children alone, where the tasks run;
``database_cpu_s``: the PostgreSQL server processes serving gnomon's database;
``redis_cpu_s``: the whole Redis server, which other users of the machine may share).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gnomon.definitions import define_job, python  # noqa: E402
from gnomon.store import SqlStore  # noqa: E402

POSTGRES = os.environ.get("GNOMON_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
NOOP = python("bench.noop:noop")
WORKER_READY = " ready."  # Celery: "celery@host ready."
SCHEDULER_READY = "gnomon scheduler"
DONE = "finished_at IS NOT NULL"
WATCHER = "gnomon-bench"  # application name of the connection that waits for the runs


def pool_args(pool: str, concurrency: int) -> list[str]:
    """The Celery worker options both sides run with (``concurrency`` processes or threads
    each, in the pool ``pool``)."""
    return [
        "--pool",
        pool,
        "--concurrency",
        str(concurrency),
        "--without-mingle",
        "--without-gossip",
    ]


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5))) - 1]


def gnomon_command() -> list[str]:
    beside = Path(sys.executable).parent / "gnomon"
    return [str(beside)] if beside.exists() else [sys.executable, "-m", "gnomon"]


class Processes:
    """Child processes with their output in log files under ``logs``."""

    def __init__(self, logs: Path, env: dict[str, str]) -> None:
        self.logs, self.env = logs, {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
        self.env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])
        )
        self.started: list[tuple[subprocess.Popen[bytes], Path, str]] = []

    def start(self, name: str, command: list[str], ready: str) -> None:
        log = self.logs / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                command,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=ROOT,
                start_new_session=True,
            )
        self.started.append((proc, log, ready))

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        for proc, log, ready in self.started:
            while ready not in log.read_text(errors="replace"):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{log.name} did not start:\n{log.read_text()[-2000:]}")
                time.sleep(0.1)

    def cpu(self, name_prefix: str, *, children: bool = False) -> float:
        """User + system CPU seconds so far of the trees of processes named ``name_prefix*``
        (with ``children``, of their child processes only: a Celery worker's pool)."""
        total = 0.0
        for proc, log, _ in self.started:
            if not log.name.startswith(name_prefix):
                continue
            with contextlib.suppress(psutil.NoSuchProcess):
                root = psutil.Process(proc.pid)
                for p in [*([] if children else [root]), *root.children(recursive=True)]:
                    with contextlib.suppress(psutil.NoSuchProcess):
                        times = p.cpu_times()
                        total += times.user + times.system
        return total

    def stop(self) -> None:
        for proc, _, _ in self.started:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc, _, _ in self.started:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@contextlib.contextmanager
def fresh_database() -> Iterator[str]:
    """A new, empty database on the local PostgreSQL server (SQLAlchemy URL), dropped after."""
    name = f"gnomon_bench_{secrets.token_hex(4)}"
    with psycopg.connect(POSTGRES, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield (
            POSTGRES.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
            + "/"
            + name
        )
    finally:
        with psycopg.connect(POSTGRES, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database_cpu(url: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL server process serving database ``url`` (but
    this benchmark's own, which watches the runs finish)."""
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(POSTGRES, autocommit=True) as admin:
        query = "SELECT pid FROM pg_stat_activity WHERE datname = %s AND application_name <> %s"
        pids = [row[0] for row in admin.execute(query, (name, WATCHER))]
    found = {}
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            times = psutil.Process(pid).cpu_times()
            found[pid] = times.user + times.system
    return found


def redis_cpu() -> float:
    """CPU seconds so far of the local Redis server (0 if it is not found)."""
    for proc in psutil.process_iter(["name"]):
        if proc.info["name"] == "redis-server":
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                times = proc.cpu_times()
                return times.user + times.system
    return 0.0


def delete_queue(broker: str, queue: str) -> None:
    from kombu import Connection

    with Connection(broker, connect_timeout=5) as conn, contextlib.suppress(Exception):
        conn.default_channel.queue_delete(queue)


def wait_done(counter: Any, key: str, deadline: float) -> float:
    """The time the last task pushed to ``key`` (short waits: the client has a read timeout)."""
    while time.time() < deadline:
        done = counter.blpop([key], timeout=2)
        if done is not None:
            return float(done[1])
    raise RuntimeError("raw Celery: the tasks did not all finish within 10 minutes")


def raw_once(broker: str, runs: int, logs: Path, worker: list[str]) -> dict[str, float]:
    queue, key = f"bench-raw-{secrets.token_hex(4)}", f"bench:{secrets.token_hex(4)}"
    procs = Processes(logs, {"BENCH_BROKER_URL": broker, "BENCH_QUEUE": queue})
    os.environ.update(BENCH_BROKER_URL=broker, BENCH_QUEUE=queue)
    from bench import celery_noop

    celery_noop.app.conf.task_default_queue = queue  # the module may be imported already
    celery_noop.counter.delete(key, f"{key}:done")
    try:
        for i in (1, 2):
            command = [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "bench.celery_noop",
                "worker",
                "--queues",
                queue,
                "--hostname",
                f"raw-{i}@%h",
                "--loglevel",
                "INFO",
                *worker,
            ]
            procs.start(f"raw-worker-{i}", command, WORKER_READY)
        procs.wait_ready()
        cpu0, own0, start = procs.cpu("raw-worker"), time.process_time(), time.time()
        pool0, redis0 = procs.cpu("raw-worker", children=True), redis_cpu()
        for _ in range(runs):
            celery_noop.noop.apply_async(args=[runs, key], queue=queue)
        sent = time.time()
        last = wait_done(celery_noop.counter, f"{key}:done", deadline=start + 600)
        return {
            "throughput_per_s": runs / (last - start),
            "wall_s": last - start,
            "send_s": sent - start,
            "worker_cpu_s": procs.cpu("raw-worker") - cpu0,
            "worker_pool_cpu_s": procs.cpu("raw-worker", children=True) - pool0,
            "sender_cpu_s": time.process_time() - own0,
            "redis_cpu_s": redis_cpu() - redis0,
        }
    finally:
        procs.stop()
        celery_noop.counter.delete(key, f"{key}:done")
        delete_queue(broker, queue)


def create_jobs(url: str, runs: int, due: datetime) -> None:
    store = SqlStore(url)
    try:
        now = datetime.now(UTC)
        store.add_jobs([define_job(due, NOOP, now=now, id=f"bench-{i}") for i in range(runs)])
    finally:
        store.close()


def finished(url: str, runs: int, deadline: float) -> list[tuple[int, int, int, str]]:
    """Wait until ``runs`` runs have finished; their (due_at, started_at, finished_at, status)."""
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True, application_name=WATCHER) as conn:
        while True:
            row = conn.execute(f"SELECT count(*) FROM gnomon_runs WHERE {DONE}").fetchone()
            if row is not None and row[0] >= runs:
                break
            if time.time() > deadline:
                raise RuntimeError(f"gnomon: only {row and row[0]} of {runs} runs finished in time")
            time.sleep(0.1)
        query = f"SELECT due_at, started_at, finished_at, status FROM gnomon_runs WHERE {DONE}"
        return [tuple(r) for r in conn.execute(query).fetchall()]


def gnomon_cpu(procs: Processes) -> dict[str, float]:
    """CPU seconds so far of gnomon's processes (and of Redis)."""
    return {
        "worker_cpu_s": procs.cpu("gnomon-worker"),
        "worker_pool_cpu_s": procs.cpu("gnomon-worker", children=True),
        "scheduler_cpu_s": procs.cpu("gnomon-scheduler"),
        "redis_cpu_s": redis_cpu(),
    }


def gnomon_once(
    broker: str, runs: int, logs: Path, lead: float, worker: list[str]
) -> dict[str, float]:
    queue = f"bench-gnomon-{secrets.token_hex(4)}"
    with fresh_database() as url, tempfile.TemporaryDirectory() as state:
        SqlStore(url).close()  # the schema, before the processes race to create it
        procs = Processes(logs, {"GNOMON_STATE_DIR": state})
        common = [*gnomon_command(), "--db", url]
        broker_args = ["--broker", broker, "--queue", queue]
        try:
            for i in (1, 2):
                procs.start(
                    f"gnomon-worker-{i}",
                    [
                        *common,
                        "worker",
                        *broker_args,
                        "--hostname",
                        f"gnomon-{i}@%h",
                        *worker,
                    ],
                    WORKER_READY,
                )
            procs.start("gnomon-scheduler", [*common, "scheduler", *broker_args], SCHEDULER_READY)
            procs.wait_ready()
            due = time.time() + lead
            create_jobs(url, runs, datetime.fromtimestamp(due, UTC))
            overran = time.time() > due - 0.2
            time.sleep(max(0.0, due - time.time()))
            cpu0, db0 = gnomon_cpu(procs), database_cpu(url)
            rows = finished(url, runs, deadline=due + 600)
            # Backends opened during the window (the workers connect at their first run)
            # count from zero.
            cpu1, db1 = gnomon_cpu(procs), database_cpu(url)
        finally:
            procs.stop()
            delete_queue(broker, queue)
    last = max(r[2] for r in rows) / 1e6
    lateness = [(r[1] - r[0]) / 1e3 for r in rows if r[1] is not None]
    return {
        "throughput_per_s": runs / (last - due),
        "wall_s": last - due,
        **{key: cpu1[key] - cpu0[key] for key in cpu0},
        "database_cpu_s": sum(cpu - db0.get(pid, 0.0) for pid, cpu in db1.items()),
        "lateness_p50_ms": pct(lateness, 50),
        "lateness_p99_ms": pct(lateness, 99),
        "not_succeeded": float(sum(r[3] != "succeeded" for r in rows)),
        "creation_overran": float(overran),
    }


def figure(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def summary(results: dict[str, list[dict[str, float]]], repeat: int) -> dict[str, Any]:
    medians = {
        side: {k: statistics.median(r[k] for r in rs) for k in rs[0]}
        for side, rs in results.items()
    }
    print(f"\n== medians of {repeat} runs each ==")
    print(f"  {'figure':20} {'raw':>10} {'gnomon':>10} {'gnomon/raw':>11}")
    for key in sorted(set(medians["raw"]) | set(medians["gnomon"])):
        raw, gn = medians["raw"].get(key), medians["gnomon"].get(key)
        shown = f"{gn / raw:.3f}" if raw and gn is not None else "-"
        print(f"  {key:20} {figure(raw):>10} {figure(gn):>10} {shown:>11}")
    ratio = medians["gnomon"]["throughput_per_s"] / medians["raw"]["throughput_per_s"]
    print(f"\nthroughput gnomon/raw: {ratio:.3f} (target ≥ 0.90)")
    return {"medians": medians, "ratio": ratio, "runs": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000, help="tasks per run (10,000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each side (3)")
    parser.add_argument("--redis-db", type=int, default=13, help="Redis database number (13)")
    parser.add_argument("--lead", type=float, default=12.0, help="seconds to create the jobs")
    parser.add_argument(
        "--pool",
        choices=["prefork", "threads", "solo"],
        default="prefork",
        help="the workers' pool, both sides (prefork)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=1,
        help="processes (or threads) per worker, both sides (1; Celery's default: the CPUs)",
    )
    parser.add_argument("--only", choices=["raw", "gnomon"], help="run one side only")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--logs", type=Path, help="keep the processes' logs here")
    args = parser.parse_args()
    worker = pool_args(args.pool, args.concurrency)
    # A stop (timeout, kill) unwinds through the ``finally`` blocks that stop the workers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    broker = f"redis://127.0.0.1:6379/{args.redis_db}"
    print(
        f"2 workers per side, each: {' '.join(worker)}; "
        f"{args.runs} runs per side and run, {os.cpu_count()} CPUs",
        flush=True,
    )
    results: dict[str, list[dict[str, float]]] = {"raw": [], "gnomon": []}
    sides = [args.only] if args.only else ["raw", "gnomon"]
    with tempfile.TemporaryDirectory(prefix="celery-bench-") as tmp:
        logs = args.logs or Path(tmp)
        logs.mkdir(parents=True, exist_ok=True)
        for i in range(args.repeat):
            for side in sides if i % 2 == 0 else sides[::-1]:
                load = "/".join(f"{x:.2f}" for x in os.getloadavg())
                if side == "raw":
                    result = raw_once(broker, args.runs, logs, worker)
                else:
                    result = gnomon_once(broker, args.runs, logs, args.lead, worker)
                results[side].append(result)
                shown = ", ".join(f"{k}={v:.4g}" for k, v in result.items())
                print(f"{side} {i + 1}/{args.repeat} (load {load}): {shown}", flush=True)
    if args.only:
        return
    report = summary(results, args.repeat)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
