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

**Outcomes recorded by the scheduler's loop.** The recorder's thread sleeps until someone
wakes it, and each wake-up after a sleep costs about as much CPU as a small transaction
(~0.1-0.2 ms on these machines, measured with the thread's own scheduler statistics: an
idle scheduler spent a fifth of its CPU waking the recorder for two batches a second). The
scheduler's loop wakes anyway, about once a second while fires are due. So, with a journal,
an outcome finished while the loop will wake within :data:`LOOP_WAIT` is left to the loop:
it records whatever waits when it wakes (:meth:`OutcomeRecorder.record_waiting`, in its
own transaction before the tick's step), and the recorder's thread sleeps on. The loop says
how long it will sleep before each sleep (:meth:`OutcomeRecorder.loop_sleeps`); an outcome
that would wait longer than :data:`LOOP_WAIT` for it is handed to the recorder's thread, as
before. The recorder's thread still records whatever should not wait (a retry, a full
batch, back-pressure, a waiter, the last run in flight) and runs the WAL checkpoints.
"""

from __future__ import annotations

import contextlib
import logging
import math
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
LOOP_WAIT = 1.0
"""With a journal, seconds an outcome may wait for the scheduler's loop to record it when it
next wakes, instead of waking the recorder's thread (see the module docstring)."""


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
        # When the scheduler's loop next wakes and records the outcomes left to it
        # (time.monotonic(); inf: no loop will), and since when the oldest of those waits.
        self._loop_at = math.inf  # under ``idle``'s lock
        self._tick_at = math.inf  # loop_at, if the loop then wakes for work due (a tick)
        self._waiting_since: float | None = None  # under ``idle``'s lock
        # The thread sleeps until woken (under ``idle``'s lock); it starts by going to sleep.
        self._asleep = True
        self._checkpoint_at = clock.monotonic() + CHECKPOINT_EVERY
        self._checkpoint_wanted = False
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
        elif self._asleep and not self._leave_to_loop_locked():
            self.hurry()  # nobody else records it soon enough: the recorder gathers it
        while self.unrecorded > self.backlog and not self.closing:
            self._idle.wait()

    def hurry(self) -> None:
        """Look again now whether to record what has been gathered (someone waits for it,
        the batch is full, nothing more is coming): the recorder sleeps until its linger
        ends or this is called, never polling."""
        with contextlib.suppress(RuntimeError):  # already released
            self._hurry.release()

    def loop_ticks_within_locked(self, seconds: float) -> bool:
        """Do outcomes wait for the scheduler's loop, which wakes for a tick within
        ``seconds`` or is awake (it then looks again before it sleeps)? Under ``idle``'s
        lock."""
        return self._waiting_since is not None and self._tick_at <= time.monotonic() + seconds

    def _leave_to_loop_locked(self) -> bool:
        """May the outcome just put wait for the scheduler's loop (under ``idle``'s lock)?"""
        if self.journal is None or self.urgent or self.closing:
            return False  # (without a journal, an outcome waiting is a run a crash re-runs)
        if self._waiting_since is None:
            now = time.monotonic()
            if self._loop_at > now + LOOP_WAIT:
                return False
            self._waiting_since = now
        return True

    # -- the scheduler's loop's side -------------------------------------------------------

    def loop_sleeps(self, seconds: float, *, tick: bool = False, quiet: bool = False) -> None:
        """The scheduler's loop is about to sleep for up to ``seconds`` (inf: it stops), and
        then tick (``tick``: work falls due) or only look. The outcomes waiting for it go to
        the recorder's thread now if they would wait longer than :data:`LOOP_WAIT`, or, when
        ``quiet`` (no more outcomes are coming soon), longer than the recorder's linger."""
        with self._idle:
            self._loop_at = time.monotonic() + seconds
            self._tick_at = self._loop_at if tick else math.inf
            since = self._waiting_since
            hand_over = since is not None and (
                self._loop_at > since + LOOP_WAIT or (quiet and seconds > self.linger)
            )
        if hand_over:
            self.hurry()

    def record_waiting(self) -> None:
        """In the scheduler's loop, at each wake: record the outcomes left to it (in this
        thread's own transactions). If the database is away they go back to the recorder's
        thread, which keeps them until it is back."""
        with self._idle:
            if self._waiting_since is None:
                return
            self._waiting_since = None
        while True:
            batch, closing = self._take(MAX_BATCH)
            recorded = not batch or self._store_once(batch)
            if batch and recorded:
                self._recorded(batch)
            if not recorded or closing:  # the recorder's thread records them, or the rest
                for item in [] if recorded else batch:
                    self._results.put(item)
                if closing:
                    self._results.put(None)  # (after them: it stops once they are recorded)
                self.hurry()
                return
            if len(batch) < MAX_BATCH:
                break
        if self.clock.monotonic() >= self._checkpoint_at and self.store.checkpoint_due():
            self._checkpoint_wanted = True  # the recorder's thread runs it, off this path
            self.hurry()

    def _store_once(self, batch: list[FinishedRun]) -> bool:
        """Record ``batch`` in one attempt; False if that failed. (The loop does not wait for
        the database, nor sort out a bad outcome: the recorder's thread does both.)"""
        try:
            self.store.finish_runs(batch)
        except Exception as exc:
            log.debug("the loop could not record %d outcomes (%s)", len(batch), exc)
            return False
        return True

    def _take(self, limit: int) -> tuple[list[FinishedRun], bool]:
        """Up to ``limit`` outcomes put and not yet taken, and whether the end (a close) came
        after them."""
        batch: list[FinishedRun] = []
        while len(batch) < limit:
            try:
                item = self._results.get_nowait()
            except queue.Empty:
                break
            if item is None:
                return batch, True
            batch.append(item)
        return batch, False

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
        while True:
            with self._idle:
                # Nothing waits, or what waits is left to the scheduler's loop: sleep until
                # woken (never polling).
                self._asleep = self._results.empty() or self._waiting_since is not None
            if self._asleep:
                self._hurry.acquire()
                with self._idle:
                    self._asleep = False
                    self._waiting_since = None  # woken: this thread records what waits
            try:
                first = self._results.get_nowait()
            except queue.Empty:  # woken with nothing to record: for a checkpoint, perhaps
                pass
            else:
                if first is None:
                    return
                batch, stop = self._gather(first)
                self._record(batch)
                if stop:
                    return
            # Here, not in a scheduler step: see SqlStore.checkpoint.
            if self._checkpoint_wanted or self.clock.monotonic() >= self._checkpoint_at:
                self._checkpoint_wanted = False
                self.store.checkpoint()
                self._checkpoint_at = self.clock.monotonic() + CHECKPOINT_EVERY

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
        batch = [first]
        deadline = time.monotonic() + self.linger
        while True:
            more, stop = self._take(MAX_BATCH - len(batch))
            batch.extend(more)
            if stop:
                return batch, True
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
        self._recorded(batch)

    def _recorded(self, batch: list[FinishedRun]) -> None:
        """``batch`` is recorded (or refused): tell the journal and the owner."""
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
