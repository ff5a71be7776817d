"""CPU of the local worker thread per quick run: ``python bench/worker_run_bench.py``.

Two figures, each the median of ``--repeat`` batches of ``--runs`` calls, measured with
``time.thread_time()`` (this thread's CPU only, so the recorder's thread is not counted):

- ``execute_run``: :func:`gnomon.runner.execute_run` of a claimed run of the python action
  ``bench.noop:noop`` (the periodic benchmark's action), writing to its ledger file;
- ``_work``: :meth:`LocalDispatcher._work` around it (claim check, execute, journal append,
  hand-over to the recorder, bookkeeping), with a real outcome journal in a temporary folder
  and a store that records nothing.

``--profile`` prints the functions that cost most in one more batch of ``_work`` (cProfile).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import os
import pstats
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
_ledger = tempfile.NamedTemporaryFile(prefix="gnomon-bench-ledger-", delete=False)  # noqa: SIM115
_ledger.close()
os.environ.setdefault("GNOMON_BENCH_LEDGER", _ledger.name)
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))  # bench.noop; gnomon itself comes from PYTHONPATH

from gnomon.clock import SystemClock  # noqa: E402
from gnomon.definitions import python  # noqa: E402
from gnomon.dispatch.base import DispatchContext  # noqa: E402
from gnomon.dispatch.journal import OutcomeJournal  # noqa: E402
from gnomon.dispatch.local import LocalDispatcher  # noqa: E402
from gnomon.models import Policy, Run, RunReason, RunStatus  # noqa: E402
from gnomon.runner import execute_run  # noqa: E402
from gnomon.store import ClaimedRun, FinishedRun  # noqa: E402


class NullStore:
    """A store that records nothing (the recorder's thread is not what is measured)."""

    def finish_runs(self, batch: Sequence[FinishedRun]) -> list[bool]:
        return [True] * len(batch)

    def checkpoint(self) -> None:
        pass

    def checkpoint_due(self) -> bool:
        return False

    def pinned(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()

    def heartbeat(self, ids: Sequence[int], worker: str, until: datetime) -> list[int]:
        return list(ids)


def claimed_run(run_id: int, now: datetime) -> ClaimedRun:
    run = Run(
        id=run_id,
        job_id=f"job-{run_id % 5000}",
        scheduled_for=now,
        due_at=now,
        attempt=1,
        reason=RunReason.SCHEDULE,
        status=RunStatus.RUNNING,
        created_at=now - timedelta(seconds=1),
        started_at=now,
        worker="bench",
    )
    return ClaimedRun(run=run, action=python("bench.noop:noop"), policy=Policy())


def measure(label: str, runs: int, repeat: int, once: Any) -> float:
    per_run = []
    for _ in range(repeat):
        t0 = time.thread_time()
        for i in range(runs):
            once(i)
        per_run.append((time.thread_time() - t0) / runs * 1e6)
    median = statistics.median(per_run)
    shown = ", ".join(f"{x:.1f}" for x in per_run)
    print(f"{label:12} {median:7.1f} µs/run (median of {repeat} x {runs:,}: {shown})", flush=True)
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20_000, help="runs per batch (20,000)")
    parser.add_argument("--repeat", type=int, default=5, help="batches (5)")
    parser.add_argument("--profile", action="store_true", help="cProfile one more batch")
    args = parser.parse_args()
    clock = SystemClock()
    now = clock.now()
    claims = [claimed_run(i + 1, now) for i in range(args.runs)]
    cancel = threading.Event()

    def execute(i: int) -> None:
        execute_run(claims[i], clock=clock, worker="bench", cancelled=cancel)

    execute(0)  # warm: imports, caches
    measure("execute_run", args.runs, args.repeat, execute)

    with tempfile.TemporaryDirectory() as tmp:
        journal = OutcomeJournal(Path(tmp), "bench")
        journal.start()
        dispatcher = LocalDispatcher(workers=1)
        context = DispatchContext(
            store=NullStore(),  # type: ignore[arg-type]
            clock=clock,
            worker_id="bench",
            lease=3600.0,
            journal=journal,
        )
        dispatcher.start(context)  # its worker sleeps: nothing is submitted
        with dispatcher._lock:  # one more run "executing": the recorder gathers outcomes
            dispatcher._busy += 1  # for its linger, as in a steady stream of runs
        try:

            def work(i: int) -> None:
                item = claims[i]
                with dispatcher._lock:  # as submit() does, without handing it to a worker
                    dispatcher._busy += 1
                    dispatcher._inflight[item.run.id] = cancel
                dispatcher._work(item, cancel)

            work(0)
            measure("_work", args.runs, args.repeat, work)
            if args.profile:
                profile = cProfile.Profile()
                profile.enable()
                for i in range(args.runs):
                    work(i)
                profile.disable()
                pstats.Stats(profile).sort_stats("tottime").print_stats(30)
        finally:
            with dispatcher._lock:
                dispatcher._busy -= 1
            dispatcher.drain()
            dispatcher.shutdown(wait=True, timeout=10)
            journal.close(clean=True)
    os.unlink(_ledger.name)


if __name__ == "__main__":
    main()
