"""API pages at 100k jobs / 1M runs (issue 15): ``GET /api/v1/jobs`` and ``…/{id}/runs``.

``python bench/api_pages_bench.py [--backend sqlite|postgresql|both] [--jobs 100000]
[--runs 1000000] [--requests 300] [--repeat 3]``

Per backend: 100k jobs (``bench/search_bench.py``'s varied names and actions, stored with
``Scheduler.add_many``), then 1M finished runs inserted in bulk with one SQL statement
(10 per job, interleaved in time order as a scheduler records them; 1 in 10 failed). The
API is served by a real uvicorn in a child process (``bench/api_bench.py --serve``:
``gnomon.api.serve_in_background``, rate limit off, a ``read`` token, so auth is measured),
and requests are sent one at a time over a keep-alive HTTP connection from this process.
Each endpoint gets ``--requests`` requests per round; p50/p99 per round, and the median of
the rounds at the end, with the load average.

PostgreSQL: the database ``gnomon_pages_bench`` on ``--pg`` (dropped and created again).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import text  # noqa: E402

from bench.search_bench import fill, fresh_url, load, make_jobs, make_queries, pct  # noqa: E402
from gnomon import Scheduler  # noqa: E402
from gnomon.instants import to_micros  # noqa: E402
from gnomon.store.admin import create_token  # noqa: E402

PG_DB = "gnomon_pages_bench"
HOUR = 3_600_000_000  # µs
RUN_COLUMNS = (
    "job_id, scheduled_for, attempt, due_at, reason, status, created_at, started_at, "
    "finished_at, cancel_requested"
)
SQLITE_RUNS = f"""
INSERT INTO gnomon_runs ({RUN_COLUMNS})
WITH RECURSIVE c(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM c WHERE n < :total - 1)
SELECT 'job-' || printf('%06d', n % :jobs), :t0 + (n / :jobs) * {HOUR}, 1,
       :t0 + (n / :jobs) * {HOUR}, 'schedule',
       CASE WHEN n % 10 = 0 THEN 'failed' ELSE 'succeeded' END,
       :t0 + (n / :jobs) * {HOUR}, :t0 + (n / :jobs) * {HOUR},
       :t0 + (n / :jobs) * {HOUR} + 1000, 0
FROM c
"""
POSTGRES_RUNS = f"""
INSERT INTO gnomon_runs ({RUN_COLUMNS})
SELECT 'job-' || lpad((n % :jobs)::text, 6, '0'), :t0 + (n / :jobs) * {HOUR}, 1,
       :t0 + (n / :jobs) * {HOUR}, 'schedule',
       CASE WHEN n % 10 = 0 THEN 'failed' ELSE 'succeeded' END,
       :t0 + (n / :jobs) * {HOUR}, :t0 + (n / :jobs) * {HOUR},
       :t0 + (n / :jobs) * {HOUR} + 1000, false
FROM generate_series(0, :total - 1) AS n
"""


def populate(url: str, jobs: int, runs: int) -> tuple[str, dict[str, float]]:
    """Store the jobs and runs; return a read token and how long each took (s)."""
    now = datetime.now(UTC)
    took: dict[str, float] = {}
    with Scheduler(url) as scheduler:
        took["add_many_jobs_s"] = fill(scheduler, make_jobs(jobs, now))
        started = time.perf_counter()
        with scheduler.store.engine.begin() as conn:
            insert = SQLITE_RUNS if conn.dialect.name == "sqlite" else POSTGRES_RUNS
            t0 = to_micros(now) - (runs // jobs + 1) * HOUR
            conn.execute(text(insert), {"total": runs, "jobs": jobs, "t0": t0})
        with scheduler.store.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
        took["insert_runs_s"] = time.perf_counter() - started
        token = create_token(scheduler.store, "bench", "read", now)[0]
    return token, took


def endpoints(
    client: httpx.Client, jobs: int, rng: random.Random
) -> dict[str, Callable[[], httpx.Response]]:
    queries = make_queries(200, jobs, rng)

    def job_id() -> str:
        return f"job-{rng.randrange(jobs):06d}"

    def get(params: dict[str, Any], path: str = "/api/v1/jobs") -> Callable[[], httpx.Response]:
        return lambda: client.get(path, params=params)

    return {
        "jobs, first page": get({"limit": 50}),
        "jobs, middle page (cursor)": get({"limit": 50, "after": f"job-{jobs // 2:06d}"}),
        "jobs, random cursor": lambda: client.get(
            "/api/v1/jobs", params={"limit": 50, "after": job_id()}
        ),
        "jobs, search (mixed queries)": lambda: client.get(
            "/api/v1/jobs", params={"limit": 50, "search": rng.choice(queries)}
        ),
        "jobs, search + cursor": lambda: client.get(
            "/api/v1/jobs", params={"limit": 50, "search": "backup", "after": job_id()}
        ),
        "runs of a job": lambda: client.get(f"/api/v1/jobs/{job_id()}/runs"),
        "runs of a job, status=failed": lambda: client.get(
            f"/api/v1/jobs/{job_id()}/runs", params={"status": "failed"}
        ),
    }


def measure(call: Callable[[], httpx.Response], n: int) -> dict[str, float]:
    for _ in range(20):  # warm-up
        call()
    times = []
    for _ in range(n):
        started = time.perf_counter()
        response = call()
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.text
    return {"p50": statistics.median(times), "p99": pct(times, 99), "max": max(times)}


def bench_backend(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    url = fresh_url(backend, Path(args.workdir), args.pg, PG_DB)
    started = time.perf_counter()
    token, took = populate(url, args.jobs, args.runs)
    print(f"{backend}: populated in {time.perf_counter() - started:.0f} s {took}", file=sys.stderr)
    child = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "api_bench.py"), "--serve", url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdin is not None
    assert child.stdout is not None
    base = child.stdout.readline().strip()
    rounds: list[dict[str, Any]] = []
    try:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            for n in range(args.repeat):
                result: dict[str, Any] = {"load_before": load()}
                rng = random.Random(n)
                for name, call in endpoints(client, args.jobs, rng).items():
                    result[name] = measure(call, args.requests)
                result["load_after"] = load()
                print(json.dumps({"backend": backend, **result}), file=sys.stderr, flush=True)
                rounds.append(result)
    finally:
        child.stdin.close()
        child.wait(timeout=60)
    names = [k for k in rounds[0] if not k.startswith("load")]
    return {
        **took,
        "rounds": len(rounds),
        "loads": [f"{r['load_before']} → {r['load_after']}" for r in rounds],
        **{
            name: {
                stat: round(statistics.median(r[name][stat] for r in rounds), 2)
                for stat in ("p50", "p99", "max")
            }
            for name in names
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432")
    parser.add_argument("--workdir", default=tempfile.mkdtemp(prefix="gnomon-pages-bench-"))
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    summary: dict[str, Any] = {"jobs": args.jobs, "runs": args.runs, "requests": args.requests}
    for backend in backends:
        summary[backend] = bench_backend(backend, args)
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
