"""The durable part of a periodic fire, hot, in one thread: ``python bench/step_bench.py``.

The periodic workload's jobs (5,000 interval jobs every 10 s, first fires spread over 10 s)
on a fresh SQLite database, driven without a clock or threads: a step every 0.5 s of
schedule time, looking 1 s ahead, as the scheduler's loop does (:meth:`SqlStore.step`), then
the outcomes of the runs it claimed recorded in one batch, as the recorder does
(:meth:`SqlStore.finish_runs`). Printed: CPU (``time.thread_time``) per fire of the step and
per outcome of the batch, medians over the rounds after the warm-up.

This is what the scheduler and recorder threads cost per fire with warm caches. In the real
process (``bench/run.py periodic --threads``) the same work costs about twice as much: each
wakes after a sleep with cold caches, and shares the GIL with the timer. So compare versions
of the step here (the figures vary by a few percent, not the tens of percent the whole-process
benchmark does), and the whole process with ``bench/run.py``.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import queue
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import create, fresh_db, intervals  # noqa: E402
from gnomon import Scheduler  # noqa: E402
from gnomon.models import RunStatus  # noqa: E402
from gnomon.planning import planner_at  # noqa: E402
from gnomon.store.rows import FinishedRun  # noqa: E402

T0 = 1_900_000_000.0  # the first fire (2030): far from the wall clock, which is not used
WARM = 20  # rounds not counted
TICK, LOOKAHEAD, BATCH, LEASE = 0.5, 1.0, 500, 30.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=5_000, help="interval jobs (5,000)")
    parser.add_argument("--rounds", type=int, default=60, help="steps, warm-up included (60)")
    parser.add_argument("--profile", metavar="SORT", help="cProfile the counted rounds")
    parser.add_argument(
        "--recorder-thread",
        action="store_true",
        help="record the outcomes in a second thread, pinned as the recorder's (as in the "
        "scheduler's process; the outcomes' own CPU is then not counted)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = fresh_db(Path(tmp), "step")
        create(db, intervals("p", args.jobs, 10.0, T0, 10.0), args.jobs)
        scheduler = Scheduler(str(db))
        try:
            record = Recorder(scheduler.store).record if args.recorder_thread else None
            run(scheduler, args.rounds, args.profile, record)
        finally:
            scheduler.close()


class Recorder:
    """Records outcomes in a thread of its own, inside ``Store.pinned`` as the recorder's
    thread is: the step's transactions and the outcomes' are then on the connections they
    use in the scheduler's process."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.batches: queue.SimpleQueue[list[FinishedRun]] = queue.SimpleQueue()
        self.done: queue.SimpleQueue[float] = queue.SimpleQueue()  # its CPU per batch
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self) -> None:
        with self.store.pinned():
            while True:
                batch = self.batches.get()
                started = time.thread_time()
                self.store.finish_runs(batch)
                self.done.put(time.thread_time() - started)

    def record(self, batch: list[FinishedRun]) -> float:
        """Record ``batch`` in the thread; the CPU seconds that took there."""
        self.batches.put(batch)
        return self.done.get()


def run(
    scheduler: Scheduler,
    rounds: int,
    profile: str | None,
    record: Callable[[list[FinishedRun]], float] | None = None,
) -> None:
    store = scheduler.store
    profiler = cProfile.Profile() if profile else None
    now = datetime.fromtimestamp(T0, UTC) - timedelta(seconds=TICK)
    step_us, finish_us, fires = [], [], []
    with store.pinned():
        for i in range(rounds):
            now += timedelta(seconds=TICK)
            until = now + timedelta(seconds=LOOKAHEAD)
            counted = i >= WARM
            if profiler is not None and counted:
                profiler.enable()
            t0 = time.thread_time()
            result, claimed, _wake = store.step(
                now, planner_at(now, until), BATCH, "w", BATCH, LEASE, until, ahead=BATCH
            )
            t1 = time.thread_time()
            done = [
                FinishedRun(
                    run_id=c.run.id,
                    worker="w",
                    status=RunStatus.SUCCEEDED,
                    finished_at=now,
                    job_id=c.run.job_id,
                )
                for c in claimed
            ]
            t2 = time.thread_time()
            if record is None:
                store.finish_runs(done)
                t3 = time.thread_time()
            else:
                t3 = t2 + record(done)
            if profiler is not None and counted:
                profiler.disable()
            if counted and result.runs and done:
                step_us.append((t1 - t0) / result.runs * 1e6)
                finish_us.append((t3 - t2) / len(done) * 1e6)
                fires.append(result.runs)
    print(
        f"step {statistics.median(step_us):.1f} µs per fire, "
        f"outcomes {statistics.median(finish_us):.1f} µs per outcome "
        f"(medians of {len(step_us)} rounds of ~{statistics.median(fires):.0f} fires)",
        flush=True,
    )
    if profiler is not None and profile is not None:
        pstats.Stats(profiler).sort_stats(profile).print_stats(30)


if __name__ == "__main__":
    main()
