"""Recording outcomes: one recorder thread writes the outcomes of a process's runs in batches.

Any dispatcher uses it — the local worker pool in the scheduler's process, and a worker
process that executes runs sent by another (Celery). Workers hand each outcome to
:meth:`OutcomeRecorder.put` as the action returns; the recorder writes everything that
finished meanwhile in one transaction, so the database's commit rate — not the number of
runs — is the limit. While the database is away it keeps the outcomes and retries; between
batches it runs the store's WAL checkpoint (see :meth:`SqlStore.checkpoint`).

With an outcome journal (:mod:`gnomon.dispatch.journal`), :meth:`put` first appends the
outcome there: it survives a crash before it is recorded, so the recorder may gather for
:data:`LINGER`. Without one, only the database keeps it, and the recorder gathers for at most
:data:`GROUP_COMMIT` while workers that run far ahead of it wait (back-pressure).

The recorder shares its owner's lock and condition (``idle``): the count of outcomes not yet
recorded is kept under the owner's own per-run critical section, not a second lock per run
(with a dozen busy threads, each extra lock taken per run is a chance of a convoy on the GIL).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence

from gnomon.clock import Clock
from gnomon.dispatch.journal import OutcomeJournal
from gnomon.errors import StoreError
from gnomon.store import FinishedRun
from gnomon.store.protocol import Store

log = logging.getLogger(__name__)
LINGER = 0.5
"""Seconds the recorder may gather outcomes while more are on their way, when a journal
keeps them through a crash meanwhile."""
GROUP_COMMIT = 0.05
"""Without a journal (a scheduler with a fixed worker id and no identity), seconds the
recorder may gather outcomes while more are on their way: the window (plus one commit) in
which a finished run's outcome is not yet durable, so that a crash in it runs the run again
(at least once). Shorter costs CPU: each recording transaction costs ~0.3-1 ms whatever it
holds (5 ms: +40% CPU per fire at a steady 500 fires/s; 50 ms: ~+15%)."""
MAX_BATCH = 500  # outcomes recorded in one transaction at most
CHECKPOINT_EVERY = 1.0  # seconds between the recorder's WAL checkpoints
MAX_UNRECORDED = 10_000
"""With a journal, outcomes waiting for the recorder before workers wait: a bound on memory
only (the journal keeps them through a crash)."""
BACKLOG_PER_WORKER = 8
"""Without a journal: outcomes not yet recorded, per worker, before a worker that finished a
run waits for the recorder. In a burst of quick runs the workers could otherwise run far
ahead of the database, and every outcome not yet durable is a run a crash would re-run."""
DB_RETRY_FIRST, DB_RETRY_MAX = 0.1, 5.0  # seconds between attempts while the database is away


class OutcomeRecorder:
    """Records the outcomes handed to :meth:`put`, in batches, in its own thread.

    ``more_coming(batch, within)`` (called under ``idle``'s lock) tells whether more outcomes
    are expected within ``within`` seconds — runs executing, runs due soon — so the recorder
    waits for them; ``after(batch)`` runs once a batch is recorded (or refused) — the owner
    forgets those runs and wakes whoever waits for them.
    """

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        idle: threading.Condition,
        workers: int,
        journal: OutcomeJournal | None = None,
        more_coming: Callable[[Sequence[FinishedRun], float], bool] = lambda batch, within: False,
        after: Callable[[list[FinishedRun]], None] = lambda batch: None,
    ) -> None:
        self.store, self.clock, self.journal = store, clock, journal
        self._idle = idle
        self._more_coming = more_coming
        self._after = after
        self.linger = LINGER if journal is not None else GROUP_COMMIT
        self.backlog = (
            MAX_UNRECORDED if journal is not None else max(16, BACKLOG_PER_WORKER * workers)
        )
        self.unrecorded = 0  # outcomes put, not yet recorded (under ``idle``'s lock)
        self.closing = False  # under ``idle``'s lock
        self.urgent = 0  # callers that want the outcomes now (under ``idle``'s lock)
        self._results: queue.SimpleQueue[FinishedRun | None] = queue.SimpleQueue()
        self._hurry = threading.Lock()  # held; released to make the recorder record now
        self._hurry.acquire()
        self._thread = threading.Thread(target=self._loop, name="gnomon-recorder", daemon=True)
        self._thread.start()

    # -- the workers' side ----------------------------------------------------------------

    def put(self, finished: FinishedRun) -> None:
        """Hand over an outcome (journaled first, when there is a journal). The caller then
        counts it with :meth:`admit_locked` inside its own critical section."""
        if self.journal is not None:
            try:
                self.journal.append(finished)
            except OSError:  # a full disk: the database alone keeps it, a moment later
                log.exception("outcome of run %s could not be journaled", finished.run_id)
        self._results.put(finished)
        if finished.retry_due is not None or self._results.qsize() >= MAX_BATCH:
            self.hurry()  # a retry may start once recorded; a full batch goes at once

    def admit_locked(self) -> None:
        """Count an outcome put; wait while too many are not recorded yet (back-pressure).
        Call with ``idle``'s lock held."""
        self.unrecorded += 1
        if self.unrecorded >= self.backlog:
            self.hurry()  # workers are about to wait for the recorder: record now
        while self.unrecorded > self.backlog and not self.closing:
            self._idle.wait()

    def hurry(self) -> None:
        """Look again now whether to record what has been gathered (someone waits for it,
        the batch is full, nothing more is coming): the recorder sleeps until its linger
        ends or this is called, never polling."""
        with contextlib.suppress(RuntimeError):  # already released
            self._hurry.release()

    def close(self, timeout: float | None = None) -> None:
        """Record everything put so far, then stop the thread (waiting up to ``timeout``)."""
        with self._idle:
            self.closing = True
            self._idle.notify_all()
        self._results.put(None)
        self.hurry()
        self._thread.join(timeout)

    # -- the recorder's thread ------------------------------------------------------------

    def _loop(self) -> None:
        with self.store.pinned():  # one connection for all its transactions (SQLite)
            self._record_all()

    def _record_all(self) -> None:
        checkpoint_at = self.clock.monotonic() + CHECKPOINT_EVERY
        while True:
            first = self._results.get()
            if first is None:
                return
            batch, stop = self._gather(first)
            self._record(batch)
            # Here, not in a scheduler step: see SqlStore.checkpoint.
            if self.clock.monotonic() >= checkpoint_at:
                self.store.checkpoint()
                checkpoint_at = self.clock.monotonic() + CHECKPOINT_EVERY
            if stop:
                return

    def _gather(self, first: FinishedRun) -> tuple[list[FinishedRun], bool]:
        """The outcomes to record in one transaction, and whether to stop after it.

        While more outcomes are on their way the recorder waits for them, up to
        :attr:`linger` from the first, and outcomes that arrive while it commits go in the
        next batch. So a steady stream costs a few transactions a second. It records at once
        when nothing more is coming soon (a lone run), when someone waits for the outcomes,
        when an outcome may let another run start (a retry), when workers wait for it, or
        when the batch is full. It sleeps on a lock rather than waking for each outcome, and
        without polling: whatever ends the wait early calls :meth:`hurry` (an outcome with a
        retry or a full batch in :meth:`put`, back-pressure in :meth:`admit_locked`, a
        waiter, a close, and the owner when its last run in flight ends with nothing due
        soon). Polling every 50 ms for those cost ~25% of an idle scheduler's CPU.
        """
        batch, stop = [first], False
        deadline = time.monotonic() + self.linger
        while True:
            while len(batch) < MAX_BATCH:
                try:
                    item = self._results.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    return batch, True
                batch.append(item)
            left = deadline - time.monotonic()
            if left <= 0 or len(batch) >= MAX_BATCH or not self._worth_waiting(batch, left):
                return batch, stop
            self._hurry.acquire(timeout=left)

    def _worth_waiting(self, batch: list[FinishedRun], within: float) -> bool:
        with self._idle:
            if self.urgent or self.closing or self.unrecorded >= self.backlog:
                return False
            if any(item.retry_due is not None for item in batch):
                return False
            return self._more_coming(batch, within)

    def _record(self, batch: list[FinishedRun]) -> None:
        try:
            self._store(batch)
        except Exception:  # not the database being away: bad data or a bug
            # The recorder must live on. Record what can be, one by one; a run whose outcome
            # cannot be recorded stays 'running' and is taken back when its lease expires.
            for item in batch if len(batch) > 1 else []:
                try:
                    self._store([item])
                except Exception:
                    log.exception("outcome of run %s cannot be recorded", item.run_id)
            if len(batch) == 1:
                log.exception("outcome of run %s cannot be recorded", batch[0].run_id)
        if self.journal is not None:
            self.journal.recorded(batch)
        self._after(batch)
        with self._idle:
            self.unrecorded -= len(batch)
            self._idle.notify_all()

    def _store(self, batch: list[FinishedRun]) -> None:
        delay = DB_RETRY_FIRST
        while True:
            try:
                self.store.finish_runs(batch)
                return
            except StoreError as exc:  # keep the outcomes until the database is back
                log.warning("cannot record %d outcomes yet (%s); retrying", len(batch), exc)
                threading.Event().wait(delay)
                delay = min(delay * 2, DB_RETRY_MAX)
