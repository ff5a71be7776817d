"""The SQLite writer lock of one process, with a fast lane for recording outcomes.

SQLite has one writer at a time. The threads of one process queue for it on this lock rather
than meeting in ``BEGIN IMMEDIATE`` and SQLite's busy-wait. Recording outcomes goes first:
an outcome waiting for the lock is a finished run that a crash would make run again, while a
scheduler step that waits a few milliseconds only starts its runs that much later. So a
*priority* holder (the recorder) waits at most for the transaction in progress, never behind
a queue of steps.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class WriterLock:
    """A lock whose priority acquirers overtake the ordinary ones waiting.

    Uncontended, it costs one plain lock: an ordinary acquirer that finds a priority one
    waiting gives the lock back and steps aside for a moment (the recorder's transaction is
    short), instead of every acquisition paying for a condition variable."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counter = threading.Lock()
        self._urgent = 0  # priority acquirers waiting

    @contextmanager
    def hold(self, *, priority: bool = False) -> Iterator[None]:
        if priority:
            with self._counter:
                self._urgent += 1
            self._lock.acquire()
            with self._counter:
                self._urgent -= 1
        else:
            self._lock.acquire()
            while self._urgent:
                self._lock.release()
                time.sleep(STEP_ASIDE)
                self._lock.acquire()
        try:
            yield
        finally:
            self._lock.release()


STEP_ASIDE = 0.0002  # seconds an ordinary acquirer waits while a priority one goes first
