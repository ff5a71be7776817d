"""Job search at 100k jobs, and what its index costs writes (issue 15).

``python bench/search_bench.py [--backend sqlite|postgresql|both] [--jobs 100000]
[--queries 200] [--repeat 3]``

Per backend and repeat: 100k jobs with varied names and actions (shell, http, mqtt, python)
are stored with ``Scheduler.add_many`` (chunks of 10,000) into a fresh database twice, once
with the search index (as migrated) and once with it dropped first (SQLite: the FTS5 table and
its triggers; PostgreSQL: the two GIN indexes of the copy), which gives the write cost of the
index; then
single ``Scheduler.add`` calls on each full database; then ``--queries`` searches of mixed
selectivity (id fragments, name words, action terms, misses, 1-2 character queries, wildcard
characters) through ``Scheduler.list`` (a first page of 51, as the API and dashboard ask),
indexed and, for comparison, by the plain scan. Every query's indexed and scanned results are
checked equal. Times are in ms; the load average is printed with each repeat, and the median
over repeats is printed at the end (JSON).

PostgreSQL: the database ``gnomon_search_bench`` on ``--pg`` (dropped and created again).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from sqlalchemy import create_engine, select, text  # noqa: E402

from gnomon import Scheduler  # noqa: E402
from gnomon.definitions import define_job  # noqa: E402
from gnomon.models import ActionSpec, Job  # noqa: E402
from gnomon.store.statements import job_search  # noqa: E402
from gnomon.store.tables import jobs as jobs_table  # noqa: E402

CHUNK = 10_000
PAGE = 51  # what a face asks for: a page of 50 and one more to know there is a next
PG_DB = "gnomon_search_bench"
WHEN = ["every 1h", "every 15m", "0 9 * * 1-5", "*/5 * * * *", "30 2 * * *"]
ADJ = ["nightly", "hourly", "weekly", "daily", "monthly", "urgent", "lazy", "quarterly"]
NOUN = ["backup", "report", "cleanup", "sync", "export", "import", "digest", "rotate", "probe"]
REFS = ["json:dumps", "json:loads", "os.path:join", "shutil:which", "textwrap:dedent"]
ROOM = ["kitchen", "garage", "attic", "cellar", "porch", "office", "hall"]


def load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def action_of(n: int) -> ActionSpec:
    noun = NOUN[n % len(NOUN)]
    kind = n % 4
    if kind == 0:
        argv = [f"/usr/local/bin/{noun}", f"--target=host{n % 500}", "--quiet"]
        return ActionSpec(kind="shell", config={"argv": argv})
    if kind == 1:
        url = f"https://api{n % 50}.example.com/hooks/{noun}?token=t{n}"
        return ActionSpec(kind="http", config={"url": url, "method": "POST"})
    if kind == 2:
        topic = f"home/{ROOM[n % len(ROOM)]}/{noun}/{n % 40}"
        return ActionSpec(kind="mqtt", config={"topic": topic})
    return ActionSpec(kind="python", config={"ref": REFS[n % len(REFS)]})


def make_jobs(count: int, now: datetime) -> list[Job]:
    return [
        define_job(
            WHEN[n % len(WHEN)],
            action_of(n),
            now=now,
            id=f"job-{n:06d}",
            name=f"{ADJ[n % len(ADJ)]} {NOUN[(n // 8) % len(NOUN)]} #{n}",
            paused=n % 100 == 0,
        )
        for n in range(count)
    ]


def make_queries(count: int, jobs: int, rng: random.Random) -> list[str]:
    """Mixed selectivity: from one job to most of them, misses, short and odd queries."""
    makers: list[Callable[[], str]] = [
        lambda: f"job-{rng.randrange(jobs):06d}",  # one job
        lambda: f"#{rng.randrange(jobs // 10)}",  # ~11 jobs (a prefix of the number)
        lambda: f"{rng.choice(ADJ)} {rng.choice(NOUN)}",  # ~1/72 of the jobs
        lambda: rng.choice(NOUN),  # ~1/9 (name or action)
        lambda: f"api{rng.randrange(50)}.example.com",  # ~1/200
        lambda: f"home/{rng.choice(ROOM)}",  # ~1/28
        lambda: f"--target=host{rng.randrange(500)}",  # ~1/2000
        lambda: rng.choice(REFS),  # 1/20
        lambda: "".join(rng.choice("qwxzjv") for _ in range(6)),  # a miss
        lambda: rng.choice(["example", "job", "every", "/usr/local"]),  # most jobs
        lambda: "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(2)),
        lambda: rng.choice("abcdefghijklmnopqrstuvwxyz0123456789#"),  # one character
        lambda: rng.choice(["50%", "a_b", 'say "hi"', "x*", "host_1", "100%"]),  # wildcards
    ]
    return [makers[i % len(makers)]() for i in range(count)]


def fresh_url(backend: str, workdir: Path, pg: str, name: str) -> str:
    """The URL of an empty database ``name``: a SQLite file in ``workdir``, or a PostgreSQL
    database on ``pg`` (dropped and created again)."""
    if backend == "sqlite":
        path = workdir / f"{name}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    admin = create_engine(f"{pg}/test", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return f"{pg}/{name}"


def drop_index(scheduler: Scheduler) -> None:
    """Remove the search index (the search text is still written): the baseline of writes."""
    with scheduler.store.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            for name in ("insert", "delete", "update"):
                conn.exec_driver_sql(f"DROP TRIGGER gnomon_jobs_search_{name}")
            conn.exec_driver_sql("DROP TABLE gnomon_jobs_search")
        else:  # the GIN indexes of the copy (the copy and its trigger stay)
            conn.exec_driver_sql("DROP INDEX ix_gnomon_jobs_search")
            conn.exec_driver_sql("DROP INDEX ix_gnomon_jobs_search_short")


def fill(scheduler: Scheduler, jobs: list[Job]) -> float:
    started = time.perf_counter()
    for start in range(0, len(jobs), CHUNK):
        scheduler.add_many(jobs[start : start + CHUNK])
    return time.perf_counter() - started


def single_adds(scheduler: Scheduler, count: int, tag: str) -> dict[str, float]:
    times = []
    for n in range(count):
        action = action_of(n)
        started = time.perf_counter()
        scheduler.add("every 1h", action, id=f"single-{tag}-{n}", name=f"single add {n}")
        times.append((time.perf_counter() - started) * 1000)
    return {"p50": statistics.median(times), "p99": pct(times, 99)}


def scan(scheduler: Scheduler, query: str) -> list[str]:
    with scheduler.store.engine.connect() as conn:
        plain = select(jobs_table.c.id).where(
            job_search(conn, query, scheduler.store.dialect, indexed=False)
        )
        return list(conn.execute(plain.order_by(jobs_table.c.id).limit(PAGE)).scalars())


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = call()
    return (time.perf_counter() - started) * 1000, result


def search(scheduler: Scheduler, queries: list[str]) -> dict[str, Any]:
    indexed: list[float] = []
    scanned: list[float] = []
    slowest: list[tuple[float, str]] = []
    for query in queries[:20]:  # warm-up
        scheduler.list(search=query, limit=PAGE)
    for query in queries:
        took, found = timed(lambda q=query: [j.id for j in scheduler.list(search=q, limit=PAGE)])
        took_scan, plain = timed(lambda q=query: scan(scheduler, q))
        assert found == plain, (query, found[:3], plain[:3])
        indexed.append(took)
        scanned.append(took_scan)
        slowest.append((took, query))
    slowest.sort(reverse=True)
    return {
        "indexed_p50": statistics.median(indexed),
        "indexed_p99": pct(indexed, 99),
        "indexed_max": max(indexed),
        "scan_p50": statistics.median(scanned),
        "scan_p99": pct(scanned, 99),
        "slowest": [f"{t:.1f} ms {q!r}" for t, q in slowest[:5]],
    }


def one_round(backend: str, args: argparse.Namespace, jobs: list[Job], tag: str) -> dict[str, Any]:
    workdir = Path(args.workdir)
    result: dict[str, Any] = {"backend": backend, "load_before": load()}
    url = fresh_url(
        backend, workdir, args.pg, PG_DB if backend != "sqlite" else f"search_{tag}_plain"
    )
    with Scheduler(url) as scheduler:
        drop_index(scheduler)
        result["add_many_without_index_s"] = fill(scheduler, jobs)
        result["single_add_without_index_ms"] = single_adds(scheduler, args.adds, tag)
    url = fresh_url(
        backend, workdir, args.pg, PG_DB if backend != "sqlite" else f"search_{tag}_indexed"
    )
    with Scheduler(url) as scheduler:
        result["add_many_with_index_s"] = fill(scheduler, jobs)
        result["single_add_with_index_ms"] = single_adds(scheduler, args.adds, tag)
        if backend == "postgresql":
            with scheduler.store.engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE gnomon_jobs")
        queries = make_queries(args.queries, len(jobs), random.Random(args.seed))
        result["search"] = search(scheduler, queries)
    result["add_many_ratio"] = result["add_many_with_index_s"] / result["add_many_without_index_s"]
    result["load_after"] = load()
    return result


def median_of(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    def med(get: Callable[[dict[str, Any]], float]) -> float:
        return round(statistics.median(get(r) for r in rounds), 2)

    return {
        "rounds": len(rounds),
        "add_many_without_index_s": med(lambda r: r["add_many_without_index_s"]),
        "add_many_with_index_s": med(lambda r: r["add_many_with_index_s"]),
        "add_many_ratio": med(lambda r: r["add_many_ratio"]),
        "single_add_without_index_p50_ms": med(lambda r: r["single_add_without_index_ms"]["p50"]),
        "single_add_with_index_p50_ms": med(lambda r: r["single_add_with_index_ms"]["p50"]),
        "search_indexed_p50_ms": med(lambda r: r["search"]["indexed_p50"]),
        "search_indexed_p99_ms": med(lambda r: r["search"]["indexed_p99"]),
        "search_scan_p50_ms": med(lambda r: r["search"]["scan_p50"]),
        "search_scan_p99_ms": med(lambda r: r["search"]["scan_p99"]),
        "loads": [f"{r['load_before']} → {r['load_after']}" for r in rounds],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--adds", type=int, default=100, help="single adds timed")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432")
    parser.add_argument("--workdir", default=tempfile.mkdtemp(prefix="gnomon-search-bench-"))
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    started = time.perf_counter()
    jobs = make_jobs(args.jobs, datetime.now(UTC))
    print(f"built {len(jobs)} jobs in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    summary: dict[str, Any] = {"jobs": args.jobs, "queries": args.queries}
    for backend in backends:
        rounds = []
        for n in range(args.repeat):
            result = one_round(backend, args, jobs, str(n))
            print(json.dumps(result), file=sys.stderr, flush=True)
            rounds.append(result)
        summary[backend] = median_of(rounds)
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
