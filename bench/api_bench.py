"""API latency with a large store: ``python bench/api_bench.py [--jobs 100000] [--requests 500]``.

Fills a SQLite store with ``--jobs`` jobs (interval and cron, 1 % paused), starts the API in a
separate process (``gnomon.api.serve_in_background``, rate limit off, a ``write`` token:
auth is part of what is measured), then sends sequential keep-alive requests from this
process and reports p50/p95/p99/max per endpoint. Target: p99 < 50 ms for list and create.
``--markdown`` prints the table for ``bench/API.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import httpx  # noqa: E402


def populate(db: str, count: int) -> str:
    """Create ``count`` jobs and a write token; return the token."""
    from gnomon.clock import SystemClock
    from gnomon.definitions import define_job
    from gnomon.models import ActionSpec
    from gnomon.scheduler import Scheduler
    from gnomon.store.admin import create_token

    now = SystemClock().now()
    action = ActionSpec(kind="http", config={"url": "https://example.com/hook"})
    specs = ["every 1h", "every 15m", "0 9 * * 1-5", "*/5 * * * *", "30 2 * * *"]
    with Scheduler(db) as scheduler:
        for start in range(0, count, 5000):
            batch = [
                define_job(
                    specs[n % len(specs)],
                    action,
                    now=now,
                    id=f"job-{n:06d}",
                    name=f"Job number {n}",
                    paused=n % 100 == 0,
                )
                for n in range(start, min(count, start + 5000))
            ]
            scheduler.add_many(batch)
        return create_token(scheduler.store, "bench", "write", now)[0]


def serve(db: str) -> None:
    """Child process: serve the API on a free port, print its URL, run until stdin closes."""
    from gnomon.api import serve_in_background
    from gnomon.scheduler import Scheduler

    with Scheduler(db) as scheduler:
        server = serve_in_background(scheduler, "127.0.0.1", 0, rate_limit=None)
        print(server.url, flush=True)
        sys.stdin.read()
        server.stop()


def measure(call: Callable[[], httpx.Response], n: int) -> dict[str, float]:
    for _ in range(20):  # warm-up
        call()
    times = []
    for _ in range(n):
        start = time.perf_counter()
        response = call()
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code < 300, response.text
    times.sort()
    return {
        "p50": statistics.median(times),
        "p95": times[int(0.95 * n) - 1],
        "p99": times[int(0.99 * n) - 1],
        "max": times[-1],
    }


def endpoints(client: httpx.Client, jobs: int) -> dict[str, Callable[[], httpx.Response]]:
    counter = iter(range(10**9))
    body = {
        "when": "every 1h",
        "action": {"kind": "http", "config": {"url": "https://example.com/x"}},
    }

    def create() -> httpx.Response:
        return client.post("/api/v1/jobs", json={**body, "id": f"new-{next(counter)}"})

    def page() -> httpx.Response:
        return client.get("/api/v1/jobs", params={"limit": 50, "offset": random.randrange(jobs)})

    def cursor() -> httpx.Response:
        after = f"job-{random.randrange(jobs):06d}"
        return client.get("/api/v1/jobs", params={"limit": 50, "after": after})

    return {
        "list first page (limit 50)": lambda: client.get("/api/v1/jobs", params={"limit": 50}),
        "list, cursor at a random job": cursor,
        "list, random offset (up to N)": page,
        "list state=paused": lambda: client.get("/api/v1/jobs", params={"state": "paused"}),
        "list search (substring)": lambda: client.get(
            "/api/v1/jobs", params={"search": "number 4242"}
        ),
        "get one job": lambda: client.get(f"/api/v1/jobs/job-{random.randrange(jobs):06d}"),
        "create (http action)": create,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    db = os.path.join(tempfile.mkdtemp(prefix="gnomon-api-bench-"), "bench.db")
    started = time.perf_counter()
    token = populate(db, args.jobs)
    print(f"stored {args.jobs} jobs in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", db],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    assert child.stdin is not None
    url = child.stdout.readline().strip()
    results: dict[str, Any] = {}
    try:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
            for name, call in endpoints(client, args.jobs).items():
                results[name] = measure(call, args.requests)
                shown = "  ".join(f"{k} {v:6.1f} ms" for k, v in results[name].items())
                print(f"{name:32} {shown}", file=sys.stderr)
    finally:
        child.stdin.close()
        child.wait(timeout=30)
    if args.markdown:
        print(
            f"| endpoint ({args.jobs:,} jobs, {args.requests} requests) | p50 | p95 | p99 | max |"
        )
        print("|---|---:|---:|---:|---:|")
        for name, r in results.items():
            print(
                f"| {name} | "
                + " | ".join(f"{r[k]:.1f} ms" for k in ("p50", "p95", "p99", "max"))
                + " |"
            )
    else:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
