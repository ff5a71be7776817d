"""The benchmark's action: does nothing but note when it started, in a ledger file.

The ledger (one line per run: job id, scheduled_for in µs, start time) is written by the
action itself, so fires are counted from outside gnomon's own tables. Its path comes from
``GNOMON_BENCH_LEDGER``; without it the action is a pure no-op.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

_lock = threading.Lock()
_path = os.environ.get("GNOMON_BENCH_LEDGER")
_file = open(_path, "a", buffering=1 << 16) if _path else None  # noqa: SIM115


def noop(ctx: Any) -> None:
    started = time.time()
    if _file is not None:
        scheduled = ctx.scheduled_for.timestamp()
        with _lock:
            _file.write(f"{ctx.job_id} {round(scheduled * 1e6)} {started:.6f}\n")


def flush() -> None:
    if _file is not None:
        with _lock:
            _file.flush()
