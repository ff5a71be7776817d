"""The outcome journal: a finished run's outcome survives a crash before it is recorded.

Recording outcomes costs a database transaction, so the recorder gathers them for up to half a
second (see :mod:`gnomon.dispatch.local`). Without more, a ``kill -9`` in that half second
would lose those outcomes, and their runs — finished — would run again. So a worker first
appends each outcome to this journal, one JSON line as the action returns, and then hands it
to the recorder.

The line is copied into a shared memory map of the journal file: it is then in the kernel's
page cache, which a crash of the process does not lose, without a system call (a ``write``
per outcome, or the GIL hand-over around one, cost more than the rest of the append). The file
is allocated on disk a window at a time (:data:`WINDOW`) before it is mapped, so a full disk
is an error at the allocation, never a ``SIGBUS`` at a copy; where the file cannot be
allocated or mapped, lines are written with ``pwrite`` instead.

The journal belongs to a scheduler *identity* (:mod:`gnomon.store.identity`): whoever holds
the identity next knows the writer is dead, and replays the journal before anything else —
every outcome the store does not have yet is recorded with its original worker id, and the
store's guard (an outcome counts only from the worker holding the run) refuses the rest. Only
then does it take back the runs still held, which were truly in flight.

Two segments bound its size: appends go to ``IDENTITY.outcomes``; when it grows past
:data:`ROTATE_BYTES` and the previous segment holds nothing unrecorded, the current one
becomes ``IDENTITY.outcomes.old`` and a new one starts. A segment's allocated tail is zeros
until written (a crash leaves them; replay skips them, as it skips a line the crash tore).
The journal is a file of the host that runs the scheduler: on SQLite beside the database, on
PostgreSQL in ``GNOMON_STATE_DIR``. A power loss can lose its last lines, as it can SQLite's
last commits (``synchronous=NORMAL``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import mmap
import os
import threading
from collections import Counter
from collections.abc import Iterable
from json.encoder import encode_basestring_ascii
from pathlib import Path

from gnomon.errors import StoreUnavailable
from gnomon.instants import from_micros, to_micros
from gnomon.models import RunStatus
from gnomon.store import SqlStore
from gnomon.store.rows import FinishedRun

log = logging.getLogger(__name__)
ROTATE_BYTES = 4 * 1024 * 1024
WINDOW = 256 * 1024
"""Bytes of a segment allocated and mapped at a time (a multiple of the page size; a longer
line is written with ``pwrite``). Only the
window is mapped, so the journal adds at most this much to the process's memory; moving it
costs a few tens of microseconds every couple of thousand outcomes."""
REPLAY_BATCH = 500  # journaled outcomes recorded in one transaction
_dumps = json.JSONEncoder(separators=(",", ":"), default=str).encode
_QUOTED_STATUS = {status: encode_basestring_ascii(status.value) for status in RunStatus}


def _line(item: FinishedRun) -> bytes:
    """One outcome as a JSON array (positional: the shortest path for the hot loop).

    Most outcomes carry no result, error, output or retry: their line is formatted directly
    (the JSON encoder costs more than the rest of the append); the others are encoded."""
    if item.result is None and item.error is None and not item.output and item.retry_due is None:
        job = "null" if item.job_id is None else encode_basestring_ascii(item.job_id)
        return (
            f"[{item.run_id},{encode_basestring_ascii(item.worker)},"
            f"{_QUOTED_STATUS[item.status]},{to_micros(item.finished_at)},{job},"
            "null,null,null,null]\n"
        ).encode()
    retry = None if item.retry_due is None else to_micros(item.retry_due)
    return (
        _dumps(
            [
                item.run_id,
                item.worker,
                item.status.value,
                to_micros(item.finished_at),
                item.job_id,
                item.result,
                item.error,
                item.output or None,
                retry,
            ]
        )
        + "\n"
    ).encode()


def _parse(line: str) -> FinishedRun | None:
    try:
        run_id, worker, status, finished, job_id, result, error, output, retry = json.loads(line)
        return FinishedRun(
            run_id=int(run_id),
            worker=str(worker),
            status=RunStatus(status),
            finished_at=from_micros(int(finished)),
            result=result,
            error=error,
            output=output or "",
            job_id=job_id,
            retry_due=None if retry is None else from_micros(int(retry)),
        )
    except (ValueError, KeyError, TypeError):  # a line torn by the crash: never recorded
        return None


def _pwrite(fd: int, data: bytes, offset: int) -> None:
    while data:
        written = os.pwrite(fd, data, offset)
        data, offset = data[written:], offset + written


class _Segment:
    """One open journal file, written at increasing offsets: through a mapped window where
    the file could be allocated and mapped, else with ``pwrite``. Not thread-safe (the
    journal's lock serialises it)."""

    def __init__(self, path: Path) -> None:
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        self.size = 0  # bytes written
        self._map: mmap.mmap | None = None
        self._window = 0  # the file offset the map starts at
        self._mappable = hasattr(os, "posix_fallocate")

    def write(self, line: bytes) -> None:
        start, end = self.size, self.size + len(line)
        if self._map is None or end > self._window + WINDOW:
            self._move_window(start, len(line))
        if self._map is not None:
            self._map[start - self._window : end - self._window] = line
        else:
            _pwrite(self.fd, line, start)
        self.size = end

    def _move_window(self, start: int, length: int) -> None:
        """Map the window holding ``start`` (allocated on disk first); on failure, or for a
        line too long for a window, fall back to ``pwrite``."""
        self._unmap()
        window = start - start % mmap.ALLOCATIONGRANULARITY  # a map starts on a page
        if not self._mappable or start + length > window + WINDOW:
            return
        try:
            os.posix_fallocate(self.fd, window, WINDOW)
            self._map = mmap.mmap(self.fd, WINDOW, offset=window)
            self._window = window
        except (OSError, ValueError) as exc:  # e.g. a full disk: pwrite says so per line
            log.debug("outcome journal not mapped (%s); writing it line by line", exc)

    def _unmap(self) -> None:
        if self._map is not None:
            self._map.close()
            self._map = None

    def close(self) -> None:
        """Close, cutting the allocated tail that was never written."""
        self._unmap()
        with contextlib.suppress(OSError):  # else the zeros stay; replay skips them
            os.ftruncate(self.fd, self.size)
        os.close(self.fd)


class OutcomeJournal:
    """Append-only journal of the outcomes of one identity (see the module docstring)."""

    def __init__(self, folder: Path, identity: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"{identity}.outcomes"
        self.old_path = folder / f"{identity}.outcomes.old"
        self._lock = threading.Lock()
        self._segment: _Segment | None = None
        self._generation = 0
        self._unrecorded: dict[int, int] = {}  # generation -> outcomes not yet recorded
        self._where: dict[tuple[int, str], int] = {}  # (run id, worker) -> generation

    def replay(self) -> list[FinishedRun]:
        """The outcomes a dead earlier holder of the identity wrote (old segment first)."""
        found: list[FinishedRun] = []
        for path in (self.old_path, self.path):
            try:
                data = path.read_bytes().rstrip(b"\0")  # the allocated tail never written
            except FileNotFoundError:
                continue
            text = data.decode(errors="replace")
            found.extend(item for line in text.splitlines() if (item := _parse(line)))
        return found

    def start(self) -> None:
        """Begin a new journal (after :meth:`replay` was recorded)."""
        with self._lock:
            self.old_path.unlink(missing_ok=True)
            self._segment = _Segment(self.path)

    def append(self, item: FinishedRun) -> None:
        """Journal one outcome; ``OSError`` if it cannot be (a full disk)."""
        line = _line(item)
        with self._lock:
            if self._segment is None:
                return
            self._segment.write(line)
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
            if self._segment is not None and not self._unrecorded.get(self._generation - 1):
                self._unrecorded.pop(self._generation - 1, None)
                if self._segment.size > ROTATE_BYTES:
                    self._rotate()

    def _rotate(self) -> None:
        assert self._segment is not None
        self._segment.close()
        os.replace(self.path, self.old_path)
        self._segment = _Segment(self.path)
        self._generation += 1

    def close(self, *, clean: bool) -> None:
        """Stop writing; ``clean`` (every outcome recorded) also removes the files."""
        with self._lock:
            if self._segment is not None:
                self._segment.close()
                self._segment = None
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
