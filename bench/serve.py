"""The scheduler process of a benchmark: ``python bench/serve.py CONFIG_JSON``.

Runs gnomon's scheduler (with its local workers) on the benchmark's database, alone in its
own process so that its CPU time and memory are measured cleanly. It prints ``ready`` once
started, and measures from ``since`` until ``until`` (Unix times) or, with ``expect``, until
that many runs have been recorded as succeeded. It prints one JSON line with its measurements
and exits.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import threading
import time
from pathlib import Path


def _rss_mb() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_rss_mb() -> float:
    """This process's RSS high-water mark. Not ``ru_maxrss``: Linux carries that over from
    the parent across fork + exec, so it reported the benchmark driver's memory."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _thread_cpu() -> dict[str, tuple[float, int]]:
    """Each of this process's threads, by name: (CPU seconds, times put on a CPU) — where the
    scheduler's time goes (timer, workers, recorder, the loop) and how often each thread
    wakes, without a profiler's overhead. From the thread's own scheduler statistics
    (``/proc/.../schedstat``: ns, not the ~10 ms ticks of ``stat``). Linux only; empty
    elsewhere."""
    out: dict[str, tuple[float, int]] = {}
    for thread in threading.enumerate():
        try:
            fields = Path(f"/proc/self/task/{thread.native_id}/schedstat").read_text().split()
        except OSError:
            continue
        out[thread.name] = (int(fields[0]) / 1e9, int(fields[2]))
    return out


def main() -> None:
    cfg = json.loads(sys.argv[1])
    os.environ["GNOMON_BENCH_LEDGER"] = cfg["ledger"]
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from bench import noop
    from gnomon import Scheduler
    from gnomon.models import RunStatus

    expect = cfg.get("expect")
    succeeded = 0
    last_recorded = 0.0
    done = threading.Event()
    scheduler = Scheduler(cfg["db"], workers=cfg.get("workers"))

    def count(item: object) -> None:
        nonlocal succeeded, last_recorded
        if getattr(item, "status", None) is RunStatus.SUCCEEDED:
            succeeded += 1
            last_recorded = time.time()
            if expect is not None and succeeded >= expect:
                done.set()

    scheduler.on_finished(count)
    scheduler.dispatcher  # start the workers now, not at the first fire  # noqa: B018
    if cfg.get("freeze"):  # as `gnomon up` does (gnomon.cli.up.freeze_startup_objects)
        from gnomon.cli.up import freeze_startup_objects

        freeze_startup_objects()
    startup_cpu = _cpu()
    scheduler.start()
    print("ready", flush=True)
    time.sleep(max(0.0, cfg.get("since", 0.0) - time.time()))  # measure from the first fire
    cpu0, wall0, threads0 = _cpu(), time.time(), _thread_cpu()
    done.wait(max(0.0, cfg["until"] - time.time()))
    cpu1, wall1, threads1 = _cpu(), time.time(), _thread_cpu()
    rss_end = _rss_mb()
    scheduler.close()
    noop.flush()
    report = {
        "cpu": cpu1 - cpu0,
        "wall": wall1 - wall0,
        "startup_cpu": startup_cpu,
        "rss_end_mb": rss_end,
        "peak_rss_mb": _peak_rss_mb(),
        "succeeded": succeeded,
        "last_recorded": last_recorded,
        "finished": done.is_set(),
        "threads": {k: round(v[0] - threads0.get(k, (0.0, 0))[0], 4) for k, v in threads1.items()},
        "wakes": {k: v[1] - threads0.get(k, (0.0, 0))[1] for k, v in threads1.items()},
    }
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
