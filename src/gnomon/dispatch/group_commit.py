"""Group commit: the same write asked for by several threads at once, done once for all.

A Celery worker whose pool runs several tasks in one process (``--pool threads``) starts
and finishes its runs concurrently. Each start and each outcome is one transaction, and
what a quick run costs is mostly those transactions: the round trip, the statement, the
commit's flush. :class:`GroupCommit` makes the threads that arrive while a write is in
flight wait for it to end and then go as one batch, written by one of them (leader and
followers, as a database's own group commit): one statement and one commit for the whole
batch. Nobody waits for a batch to fill: a thread alone writes at once, as before.

Each caller still gets its own answer, and only once its batch is committed, so what the
caller relies on is unchanged (a run starts only once its start is durable; a message is
acknowledged only once its outcome is). A failed batch fails each of its callers with the
same error; each retries on its own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

K = TypeVar("K")
R = TypeVar("R")


class _Slot(Generic[R]):
    __slots__ = ("done", "error", "result")

    def __init__(self) -> None:
        self.done = False
        self.result: R | None = None
        self.error: BaseException | None = None


class GroupCommit(Generic[K, R]):
    """Calls ``write(items)`` (one result per item, in order) for the items of every thread
    that arrived while the previous call was in flight (see the module docstring)."""

    def __init__(self, write: Callable[[Sequence[K]], Sequence[R]], max_batch: int = 100) -> None:
        self._write, self.max_batch = write, max_batch
        self._cond = threading.Condition(threading.Lock())
        self._pending: list[tuple[K, _Slot[R]]] = []
        self._busy = False
        self.batches = self.items = 0  # how many writes, for how many items (for tests, bench)

    def __call__(self, item: K) -> R:
        slot: _Slot[R] = _Slot()
        with self._cond:
            self._pending.append((item, slot))
        while True:
            with self._cond:
                while self._busy and not slot.done:
                    self._cond.wait()
                if slot.done:  # written, by a leader or by this thread
                    return self._answer(slot)
                # Lead: write what is waiting, oldest first (this item among it, unless more
                # than a batch waits: then this thread leads again, or a follower does).
                self._busy = True
                batch = self._pending[: self.max_batch]
                del self._pending[: self.max_batch]
            try:
                results = self._write([i for i, _ in batch])
                if len(results) != len(batch):
                    raise RuntimeError(f"a write of {len(batch)} items answered {len(results)}")
            except BaseException as exc:  # every caller of the batch gets the error
                self._settle(batch, None, exc)
            else:
                self._settle(batch, results, None)

    def _settle(
        self,
        batch: list[tuple[K, _Slot[R]]],
        results: Sequence[R] | None,
        error: BaseException | None,
    ) -> None:
        with self._cond:
            for n, (_, s) in enumerate(batch):
                s.done, s.error = True, error
                if results is not None:
                    s.result = results[n]
            self.batches += 1
            self.items += len(batch)
            self._busy = False
            self._cond.notify_all()  # the batch's followers, and the next leader

    @staticmethod
    def _answer(slot: _Slot[R]) -> R:
        if slot.error is not None:
            raise slot.error
        return slot.result  # type: ignore[return-value]


__all__ = ["GroupCommit"]
