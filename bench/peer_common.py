"""What the peer benchmarks (``apscheduler_run.py``, ``huey_run.py``) share: measuring.

The peers run in their own venv (``bench/.peers-venv``) without gnomon, each workload in a
process of its own that prints one JSON line of figures last, named as ``bench/run.py``
names gnomon's: the driver (``run.py --peers``) puts them side by side. Lateness is
measured as for gnomon: each fire notes (job, scheduled time, start time) in a ledger, and
fires are counted by scheduled time within the window. CPU is this process's own
``getrusage`` (user + system) over the window; RSS is read from ``/proc/self``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def copy_written(source: Path, target: Path) -> None:
    """Copy a template database and write the copy out (``fsync``) before the run, as
    bench/run.py does for gnomon's: else a scheduler's first ``fsync`` of the file wrote the
    whole copy out (~1 GB at 1M jobs) and its CPU counted as the scheduler's."""
    shutil.copyfile(source, target)
    with open(target, "rb+") as copied:
        os.fsync(copied.fileno())


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values (``run.py`` uses it too)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rss_mb() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    """RSS high-water mark (``VmHWM``), as ``serve.py`` reads it."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Ledger:
    """Fires noted by the job functions (or the executor): (key, scheduled, started)."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, float, float]] = []
        self.last = 0.0  # time of the last note
        self.count = 0
        self.done = threading.Event()
        self.expect: int | None = None
        self._lock = threading.Lock()

    def note(self, key: str, scheduled: float) -> None:
        now = time.time()
        with self._lock:
            self.lines.append((key, scheduled, now))
            self.count += 1
            self.last = now
            if self.expect is not None and self.count >= self.expect:
                self.done.set()

    def reset(self, expect: int | None = None) -> None:
        with self._lock:
            self.lines.clear()
            self.count = 0
            self.last = 0.0
            self.expect = expect
            self.done.clear()

    def fires(self, since: float, before: float) -> tuple[list[float], int, int]:
        """Lateness (s) of fires scheduled in [since, before); (lateness, lines, unique)."""
        with self._lock:
            lines = list(self.lines)
        lateness, keys, count = [], set(), 0
        for key, sched, started in lines:
            if since - 1e-6 <= sched < before:
                count += 1
                keys.add((key, round(sched * 1e6)))
                lateness.append(started - sched)
        return lateness, count, len(keys)


LEDGER = Ledger()
# Seconds waited after the measured window before counting fires: huey moves due tasks to
# its queue once a second, so its last fires in the window start up to ~1.2 s late; they
# count as late (p99), not as missing. gnomon's are counted at the window's end (its
# lateness is milliseconds).
COUNT_GRACE = 1.5


def burst_figures(
    rate: float, due: float, count: int, cpu_s: float, overran: bool
) -> dict[str, float]:
    lateness, lines, unique = LEDGER.fires(due - 1e-3, due + 1e-3)
    finished = LEDGER.count >= count
    return {
        "create_jobs_per_s": rate,
        "drain_s": LEDGER.last - due if finished else float("inf"),
        "p50_ms": pct(lateness, 50) * 1e3,
        "p99_ms": pct(lateness, 99) * 1e3,
        "max_ms": max(lateness, default=float("nan")) * 1e3,
        "seen": unique,
        "duplicates": lines - unique,
        "cpu_s": cpu_s,
        "peak_rss_mb": peak_rss_mb(),
        "creation_overran": float(overran),
    }


def window(since: float, until: float) -> tuple[float, float, float]:
    """Sleep from ``since`` to ``until`` (Unix times); (CPU s, wall s, RSS MB at the end)."""
    time.sleep(max(0.0, since - time.time()))
    cpu0, wall0 = cpu(), time.time()
    time.sleep(max(0.0, until - time.time()))
    return cpu() - cpu0, time.time() - wall0, rss_mb()


def periodic_figures(
    count: int, every: float, first: float, duration: float, measured: tuple[float, float, float]
) -> dict[str, float]:
    time.sleep(COUNT_GRACE)
    lateness, lines, unique = LEDGER.fires(first, first + duration)
    expected = count * round(duration / every)
    cpu_s, wall, _ = measured
    return {
        "expected": expected,
        "seen": unique,
        "missing": expected - unique,
        "duplicates": lines - unique,
        "p50_ms": pct(lateness, 50) * 1e3,
        "p99_ms": pct(lateness, 99) * 1e3,
        "max_ms": max(lateness, default=float("nan")) * 1e3,
        "cpu_s": cpu_s,
        "window_s": wall,
        "peak_rss_mb": peak_rss_mb(),
    }


def idle_figures(
    first: float, duration: float, measured: tuple[float, float, float]
) -> dict[str, float]:
    time.sleep(COUNT_GRACE)
    lateness, lines, unique = LEDGER.fires(first, first + duration - 0.5)
    cpu_s, wall, rss = measured
    return {
        "cpu_s_per_min": cpu_s * 60 / wall,
        "rss_mb": rss,
        "peak_rss_mb": peak_rss_mb(),
        "p99_ms": pct(lateness, 99) * 1e3,
        "max_ms": max(lateness, default=float("nan")) * 1e3,
        "seen": unique,
        "expected": round(10 * (duration - 0.5)),
        "duplicates": lines - unique,
    }


def parser(doc: str) -> argparse.ArgumentParser:
    """The command line every peer script takes (``run.py --peers`` calls them so)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("workload", choices=["burst", "periodic", "idle"])
    parser.add_argument("--store", default="sqlite", help="memory or sqlite (APScheduler)")
    parser.add_argument("--duration", type=float, default=60.0, help="window, s")
    parser.add_argument("--size", type=int, default=100_000, help="idle: far-future jobs")
    parser.add_argument("--template", type=Path, default=None, help="idle: a prepared store")
    parser.add_argument("--workdir", type=Path, required=True)
    return parser


def emit(figures: dict[str, Any]) -> None:
    """The result: one JSON line, last on stdout; then exit at once, not waiting for the
    peer's threads to finish work still queued (a saturated run could take minutes)."""
    print(json.dumps(figures), flush=True)
    os._exit(0)


def creation_lead(sample: Callable[[int], float], count: int) -> float:
    """Seconds to leave before the due instant to create ``count`` jobs: from the rate of
    a sample of 500 (``sample(n)`` creates n throw-away jobs, returns the seconds taken)."""
    n = 500
    rate = n / max(sample(n), 1e-6)
    return 3.0 + 1.5 * count / rate
