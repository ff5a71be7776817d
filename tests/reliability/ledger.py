"""The ledger: a durable record of fires, written by the actions, outside gnomon's tables.

Every job of the reliability tests runs :func:`record` (``"tests.reliability.ledger:record"``),
which appends one JSON line per executed attempt. Each line is one ``os.write`` to a file
opened with ``O_APPEND``: on a local file system such a small write lands whole and is never
interleaved with another process's line, so several scheduler processes can share one ledger.
The checker (:mod:`tests.reliability.checker`) counts fires from here, never from the store.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from gnomon.actions.base import RunContext

REFERENCE = "tests.reliability.ledger:record"


def record(ctx: RunContext, path: str, delay: float = 0.0, starts: str | None = None) -> None:
    """Append ``{job_id, scheduled_for, attempt, run_id, pid, written_at}`` to ``path``.

    With ``delay``, work that long first: a run that is reliably in flight when a fault comes.
    With ``starts``, first append the same fields to that file as the work begins (its
    ``written_at`` is the start): every *execution* is counted there, including those a
    crash cut short, which never reach ``path``.
    """
    if starts:
        _append(starts, ctx)
    if delay:
        time.sleep(delay)
    _append(path, ctx)


def _append(path: str, ctx: RunContext) -> None:
    line = (
        json.dumps(
            {
                "job_id": ctx.job_id,
                "scheduled_for": ctx.scheduled_for.isoformat(),
                "attempt": ctx.attempt,
                "run_id": ctx.run_id,
                "pid": os.getpid(),
                "written_at": time.time(),
            }
        )
        + "\n"
    )
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


@dataclass(frozen=True, slots=True)
class Entry:
    job_id: str
    scheduled_for: datetime
    attempt: int
    run_id: int
    pid: int
    written_at: float

    @property
    def fire(self) -> tuple[str, datetime]:
        return (self.job_id, self.scheduled_for)

    @property
    def lateness(self) -> float:
        """Seconds between the fire's instant and the action's write."""
        return self.written_at - self.scheduled_for.timestamp()


def read(path: Path) -> list[Entry]:
    """Every complete line of the ledger (a missing file is an empty ledger).

    Appends never interleave, but a reader may catch the last one half-copied while the
    processes are still writing: text after the last newline is not a line yet.
    """
    try:
        text = path.read_text()
    except FileNotFoundError:
        return []
    entries = []
    for line in text.split("\n")[:-1]:
        data = json.loads(line)
        data["scheduled_for"] = datetime.fromisoformat(data["scheduled_for"])
        entries.append(Entry(**data))
    return entries
