"""How soon a scheduler sees a job another process created: ``python -m bench.notify_latency``.

A scheduler runs in a child process (``--poll`` 30 s by default, so only a notification can
wake it early); this process creates ``--changes`` one-shot jobs due at once, one at a time
through its own store (as the API server or the CLI would), and measures from each commit
(the return of ``add_jobs``) to the moment the job's action started in the child (wall clock,
one machine); on PostgreSQL, also to the moment a listener of this process heard the
notification (the wake-up alone, without the scheduler's step; it can come before
``add_jobs`` returns, hence a negative time). Between changes it waits a random 0 to
``--gap`` s (1 s), so a polling scheduler is met at every phase of its poll.

``--db postgres`` (default: a throw-away database on ``--server``, dropped afterwards) uses
LISTEN/NOTIFY; ``--db sqlite`` (a temporary file) shows the poll alone, e.g. with ``--poll 1``.
Prints the median, p99 and max of each. Results: ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import os
import queue
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
SERVER = "postgresql://postgres@127.0.0.1:5432/test"  # tests.servers.POSTGRES_URL
WAIT = 60.0  # seconds before a change that was never seen counts as a failure
ACTION = "bench.notify_latency:started"  # by name: run as -m, this module is __main__


def started(ctx: Any) -> None:
    """The jobs' action (in the child): print the job id and when it started."""
    print(f"{ctx.job_id} {time.time():.6f}", flush=True)


def serve(url: str, poll: float) -> None:
    """Child process: run a scheduler until stdin closes; print ``ready`` once it listens."""
    from gnomon.scheduler import Scheduler
    from gnomon.store import SqlStore
    from gnomon.store.listen import Subscription, WakeListener

    store, subscribed = SqlStore(url), threading.Event()
    listen = store.listen

    def watched(callback: Callable[[], None]) -> Subscription | None:
        subscription = listen(callback)
        if isinstance(subscription, WakeListener):
            subscription.wait_listening(timeout=WAIT)
        subscribed.set()
        return subscription

    store.listen = watched  # type: ignore[method-assign]
    with Scheduler(store=store, poll=poll, workers=2) as scheduler:
        scheduler.start()
        subscribed.wait(WAIT)
        print("ready", flush=True)
        sys.stdin.read()  # until the parent closes it
    store.close()


@contextmanager
def database(kind: str, server: str) -> Iterator[str]:
    """A fresh database URL of ``kind``, removed afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/gnomon.db"
        return
    from tests.servers import fresh_postgres_database

    with fresh_postgres_database("gnomon_bench", server) as url:
        yield url


def measure(url: str, changes: int, poll: float, gap: float) -> tuple[list[float], list[float]]:
    """Seconds from each job's commit to its start in the child scheduler, and to the
    notification heard here (none on SQLite)."""
    from gnomon.clock import SystemClock
    from gnomon.definitions import define_job, python
    from gnomon.store import SqlStore
    from gnomon.store.listen import WakeListener

    store = SqlStore(url)  # migrates before the child opens it
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")])}
    child = subprocess.Popen(
        [sys.executable, "-m", "bench.notify_latency", "serve", url, str(poll)],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    stdin, stdout = child.stdin, child.stdout
    assert stdin is not None
    assert stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in stdout], daemon=True).start()
    heard: queue.Queue[float] = queue.Queue()
    listener = store.listen(lambda: heard.put(time.time()))
    try:
        if lines.get(timeout=WAIT).strip() != "ready":
            raise SystemExit("the scheduler did not start")
        if isinstance(listener, WakeListener):
            listener.wait_listening(timeout=WAIT)
        delays, wakes = [], []
        for n in range(changes):
            time.sleep(random.uniform(0, gap))  # meet a polling scheduler at any phase
            now = SystemClock().now()
            job = define_job(
                now + timedelta(milliseconds=1), python(ACTION), now=now, id=f"change-{n}"
            )
            store.add_jobs([job])
            committed = time.time()
            job_id, at = lines.get(timeout=WAIT).split()
            assert job_id == job.id, (job_id, job.id)
            delays.append(float(at) - committed)
            if listener is not None:
                wakes.append(heard.get(timeout=WAIT) - committed)
        return delays, wakes
    finally:
        if listener is not None:
            listener.close()
        stdin.close()
        child.wait(timeout=WAIT)
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--server", default=SERVER, help="PostgreSQL server (its database)")
    parser.add_argument("--changes", type=int, default=50)
    parser.add_argument("--poll", type=float, default=30.0)
    parser.add_argument("--gap", type=float, default=1.0, help="longest wait between changes")
    args = parser.parse_args()
    with database(args.db, args.server) as url:
        delays, wakes = measure(url, args.changes, args.poll, args.gap)
    print(f"{args.db}, poll {args.poll:g} s, {len(delays)} jobs created by another process")
    print(f"  commit to run start:       {summary(delays)}")
    if wakes:
        print(f"  commit to notification:    {summary(wakes)}")


def summary(seconds: list[float]) -> str:
    ms = sorted(s * 1000 for s in seconds)
    p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
    return f"median {statistics.median(ms):7.1f} ms, p99 {p99:7.1f} ms, max {ms[-1]:7.1f} ms"


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        serve(sys.argv[2], float(sys.argv[3]))
    else:
        main()
