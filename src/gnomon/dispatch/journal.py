"""The outcome journal: a finished run's outcome survives a crash before it is recorded.

Recording outcomes costs a database transaction, so the recorder gathers them for up to half a
second (see :mod:`gnomon.dispatch.local`). Without more, a ``kill -9`` in that half second
would lose those outcomes, and their runs — finished — would run again. So a worker first
appends each outcome to this journal, one ``write`` of one JSON line as the action returns
(microseconds; the kernel keeps it through a crash of the process), and then hands it to the
recorder.

The journal belongs to a scheduler *identity* (:mod:`gnomon.store.identity`): whoever holds
the identity next knows the writer is dead, and replays the journal before anything else —
every outcome the store does not have yet is recorded with its original worker id, and the
store's guard (an outcome counts only from the worker holding the run) refuses the rest. Only
then does it take back the runs still held, which were truly in flight.

Two segments bound its size: appends go to ``IDENTITY.outcomes``; when it grows past
:data:`ROTATE_BYTES` and the previous segment holds nothing unrecorded, the current one
becomes ``IDENTITY.outcomes.old`` and a new one starts. The journal is a file of the host that
runs the scheduler: on SQLite beside the database, on PostgreSQL in ``GNOMON_STATE_DIR``.
A power loss can lose its last lines, as it can SQLite's last commits (``synchronous=NORMAL``).
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

from gnomon.errors import StoreUnavailable
from gnomon.instants import from_micros, to_micros
from gnomon.models import RunStatus
from gnomon.store import SqlStore
from gnomon.store.rows import FinishedRun

log = logging.getLogger(__name__)
ROTATE_BYTES = 4 * 1024 * 1024
REPLAY_BATCH = 500  # journaled outcomes recorded in one transaction
_dumps = json.JSONEncoder(separators=(",", ":"), default=str).encode


def _gil_holding_write() -> Callable[[int, bytes], int]:
    """``write(2)`` called *without* releasing the GIL, where the C library allows it.

    ``os.write`` releases the GIL around the system call; with a dozen busy threads, getting
    it back costs a hand-over (tens of microseconds) per outcome — more than the write of one
    short line to the page cache, which this keeps (``ctypes.PyDLL`` calls hold the GIL)."""
    try:
        libc = ctypes.PyDLL(None)
        write = libc.write
    except (OSError, AttributeError):  # no C library to call: the ordinary way
        return os.write
    write.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t]
    write.restype = ctypes.c_ssize_t

    def held(fd: int, data: bytes) -> int:
        written = int(write(fd, data, len(data)))
        if written == len(data):
            return written
        if written < 0:  # an error: let os.write raise it as OSError
            written = 0
        return written + os.write(fd, data[written:])

    return held


_write = _gil_holding_write()


def _line(item: FinishedRun) -> bytes:
    """One outcome as a JSON array (positional: the shortest path for the hot loop)."""
    retry = None if item.retry_due is None else to_micros(item.retry_due)
    return (_dumps([item.run_id, item.worker, item.status.value, to_micros(item.finished_at),
                    item.job_id, item.result, item.error, item.output or None, retry])
            + "\n").encode()  # fmt: skip


def _parse(line: str) -> FinishedRun | None:
    try:
        run_id, worker, status, finished, job_id, result, error, output, retry = json.loads(line)
        return FinishedRun(
            run_id=int(run_id), worker=str(worker), status=RunStatus(status),
            finished_at=from_micros(int(finished)), result=result, error=error,
            output=output or "", job_id=job_id,
            retry_due=None if retry is None else from_micros(int(retry)),
        )  # fmt: skip
    except (ValueError, KeyError, TypeError):  # a line torn by the crash: never recorded
        return None


class OutcomeJournal:
    """Append-only journal of the outcomes of one identity (see the module docstring)."""

    def __init__(self, folder: Path, identity: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"{identity}.outcomes"
        self.old_path = folder / f"{identity}.outcomes.old"
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._generation = 0
        self._size = 0  # bytes in the current segment
        self._unrecorded: dict[int, int] = {}  # generation -> outcomes not yet recorded
        self._where: dict[tuple[int, str], int] = {}  # (run id, worker) -> generation

    def replay(self) -> list[FinishedRun]:
        """The outcomes a dead earlier holder of the identity wrote (old segment first)."""
        found: list[FinishedRun] = []
        for path in (self.old_path, self.path):
            try:
                text = path.read_text(errors="replace")
            except FileNotFoundError:
                continue
            found.extend(item for line in text.splitlines() if (item := _parse(line)))
        return found

    def start(self) -> None:
        """Begin a new journal (after :meth:`replay` was recorded)."""
        with self._lock:
            self.old_path.unlink(missing_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND,
                               0o600)  # fmt: skip

    def append(self, item: FinishedRun) -> None:
        line = _line(item)
        with self._lock:
            if self._fd is None:
                return
            _write(self._fd, line)
            self._size += len(line)
            self._where[(item.run_id, item.worker)] = self._generation
            self._unrecorded[self._generation] = self._unrecorded.get(self._generation, 0) + 1

    def recorded(self, items: Iterable[FinishedRun]) -> None:
        """These outcomes are in the store (or refused by it): no need to replay them."""
        # The pops outside the lock (each is atomic): workers append under it as runs end.
        popped = (self._where.pop((item.run_id, item.worker), None) for item in items)
        done = Counter(generation for generation in popped if generation is not None)
        with self._lock:
            for generation, count in done.items():
                self._unrecorded[generation] -= count
            if self._fd is not None and not self._unrecorded.get(self._generation - 1):
                self._unrecorded.pop(self._generation - 1, None)
                if self._size > ROTATE_BYTES:  # counted: a stat here would free the GIL
                    self._rotate()

    def _rotate(self) -> None:
        assert self._fd is not None
        os.close(self._fd)
        os.replace(self.path, self.old_path)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o600)
        self._generation += 1
        self._size = 0

    def close(self, *, clean: bool) -> None:
        """Stop writing; ``clean`` (every outcome recorded) also removes the files."""
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            if clean and not any(self._unrecorded.values()):
                self.path.unlink(missing_ok=True)
                self.old_path.unlink(missing_ok=True)


def record_journaled(store: SqlStore, outcomes: list[FinishedRun]) -> int:
    """Record replayed outcomes (the store refuses those it has); how many it took.

    :class:`StoreUnavailable` propagates (the caller retries the whole start-up); an outcome
    that cannot be recorded for any other reason is logged and skipped, never a start-up that
    fails for good."""
    accepted = 0
    for start in range(0, len(outcomes), REPLAY_BATCH):
        chunk = outcomes[start : start + REPLAY_BATCH]
        try:
            accepted += sum(store.finish_runs(chunk))
            continue
        except StoreUnavailable:
            raise
        except Exception:  # bad data somewhere in the chunk: one by one
            log.warning("journaled outcomes refused as a batch; recording them one by one")
        for item in chunk:
            try:
                accepted += sum(store.finish_runs([item]))
            except StoreUnavailable:
                raise
            except Exception:
                log.exception("journaled outcome of run %s cannot be recorded", item.run_id)
    return accepted
