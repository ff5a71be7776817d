"""Local dispatcher: a bounded pool of worker threads in the scheduler's process.

Workers execute runs; an :class:`~gnomon.dispatch.recorder.OutcomeRecorder` writes their
outcomes in batches (one transaction for everything that finished meanwhile), which keeps the
database's commit rate — not the number of runs — the limit. A heartbeat extends the leases
of runs in flight and delivers cancellation requests (``overlap=replace``) to them.

When runs are quick, the scheduler may hand over more runs than there are workers (see
:meth:`LocalDispatcher.capacity`): a short local queue lets one claim transaction feed the
pool for a while, instead of one claim per free worker. The queue is bounded by time — about
``HORIZON`` seconds of work at the observed run duration — so slow runs are never hoarded
away from other replicas.

Runs claimed ahead of time (the scheduler's look-ahead) wait in a heap; one timer thread
hands each to the workers when it falls due — or runs it itself, when it is the lone due run
of a job known to be quick (:mod:`gnomon.dispatch.quickness`) and no worker is awake: waking
a worker per fire cost as much as the run (:meth:`LocalDispatcher._inline_locked`). A run
that turns out slow there is left to that thread, and the scheduler's loop, at its next wake
(within ``poll``), starts a new timer (:meth:`LocalDispatcher.watch`). Workers are plain
threads on a queue rather than a ``ThreadPoolExecutor``: a quick run costs a few tens of
microseconds, and the executor's futures, and a timed wait per run, cost about as much again.

Only as many workers are awake as the runs need. Quick Python runs hold the GIL: eight
threads taking them from one queue spend more time handing the GIL and the locks around than
running (a 10,000-run burst drained in 1.35 s with eight awake, 0.65 s with one). So one
worker wakes for waiting runs, and it takes them one after the other; another wakes only when
runs wait and none has finished for :data:`STALL` seconds (the awake ones are blocked: I/O, a
subprocess, a sleep), the number awake doubling at each stall up to ``workers``. A worker
whose run was quick goes back to sleep while another is awake.
"""

from __future__ import annotations

import _thread
import contextlib
import heapq
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from datetime import timedelta

from gnomon import gil
from gnomon.clock import Clock
from gnomon.dispatch import quickness
from gnomon.dispatch.base import DispatchContext
from gnomon.dispatch.cancellation import Cancellation
from gnomon.dispatch.journal import OutcomeJournal
from gnomon.dispatch.quickness import Quickness
from gnomon.dispatch.recorder import OutcomeRecorder
from gnomon.errors import StoreError
from gnomon.events.notifications import notify_failure
from gnomon.models import Overlap, RunStatus
from gnomon.runner import execute_run
from gnomon.store import ClaimedRun, FinishedRun, SqlStore
from gnomon.store.destinations import DestinationCatalogue
from gnomon.store.protocol import Store

log = logging.getLogger(__name__)
HORIZON = 0.05  # seconds of queued work a claim may prefetch, at the observed run duration
SAMPLES = 16  # runs to observe before prefetching at all
STALL = 0.01
"""Seconds runs may wait while no run finishes before another worker wakes."""
MAX_AHEAD = 10_000
"""Runs claimed ahead that wait in memory for their due time, at most (each costs about 2 KB):
a larger burst due at one instant is claimed in part ahead, and the rest as workers free up
(measured with a cap of 2,000 on a 10,000-run burst: the drain took 1.5 times as long)."""


class LocalDispatcher:
    """Runs on a bounded pool of threads in this process (see the module docstring)."""

    queues = False  # runs execute here, under the scheduler's lease

    def __init__(self, workers: int = 8) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.workers = workers
        self._ready: deque[tuple[ClaimedRun, threading.Event]] = deque()  # due, not taken
        self._sleepers: list[_thread.LockType] = []  # sleeping workers' wake locks (LIFO)
        self._awake = workers  # workers not sleeping (each goes to sleep when it starts)
        self._finished = 0  # runs executed: progress, for the stall check
        self._progress = (0, 0.0)  # (runs finished, monotonic time) when last seen to move
        self._timer_at = gil.NEVER  # when the timer wakes next (time.monotonic())
        self._quickness = Quickness()  # which runs the timer may execute itself
        self._inline_since: float | None = None  # the timer runs a run itself since then
        self._watching = False  # the timer checks for stalls (runs wait, workers sleep)
        self._stopping = False
        self._later: list[tuple[float, int, ClaimedRun, threading.Event]] = []  # a heap
        self._order = itertools.count()  # ties in the heap keep the claim order
        self._alarm = _thread.allocate_lock()  # held; released to wake the timer early
        self._alarm.acquire()
        self._closing = False
        self._inflight: dict[int, threading.Event] = {}  # claimed, outcome not yet recorded
        self._busy = 0  # handed over and not yet executed: waiting, queued or running
        self._queued: set[int] = set()  # in-flight runs of overlap=queue jobs
        self._duration = 0.0  # moving average of a run's duration, seconds
        self._samples = 0
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._threads: list[threading.Thread] = []
        self._context: DispatchContext | None = None
        self._recorder: OutcomeRecorder | None = None

    def start(self, context: DispatchContext) -> None:
        """Start the workers, the timer and the recorder for ``context``'s scheduler."""
        if self._context is not None:
            raise RuntimeError("LocalDispatcher already started")
        self._context = context
        self.store: Store = context.store
        self.clock: Clock = context.clock
        self.worker_id, self.lease, self.prefetch = (
            context.worker_id,
            context.lease,
            context.prefetch,
        )
        self._on_free, self._on_recorded = context.on_free, context.on_recorded
        self._destinations = DestinationCatalogue(
            context.store if isinstance(context.store, SqlStore) else None,
            monotonic=context.clock.monotonic,
        )
        self._recorder = OutcomeRecorder(
            context.store,
            context.clock,
            idle=self._idle,
            workers=self.workers,
            journal=context.journal,
            more_coming=self._more_coming,
            after=self._recorded,
        )
        self._threads = [
            threading.Thread(target=self._work_loop, name=f"gnomon-worker-{i}", daemon=True)
            for i in range(self.workers)
        ]
        self._timer = self._new_timer()
        self._timers = [self._timer]
        for thread in [*self._threads, self._timer]:
            thread.start()

    def _new_timer(self) -> threading.Thread:
        return threading.Thread(target=self._timer_loop, name="gnomon-timer", daemon=True)

    def describe(self) -> str:
        return f"{self.workers} worker(s)"

    @property
    def recorder(self) -> OutcomeRecorder:
        if self._recorder is None:
            raise RuntimeError("LocalDispatcher not started")
        return self._recorder

    @property
    def journal(self) -> OutcomeJournal | None:
        return None if self._context is None else self._context.journal

    def capacity(self) -> int:
        """How many runs to claim now: the free workers, plus a queue of at most
        ``prefetch`` runs when runs are quick enough that it drains within ``HORIZON``.

        Runs claimed ahead and waiting for their due time are not counted: a step claims
        the runs of its look-ahead window whatever the previous one left waiting (with slow
        runs, that is at most the free workers per step)."""
        with self._lock:
            return self._room()[0]

    def _room(self) -> tuple[int, int]:
        """(runs to claim now, runs of prefetch among them); under ``self._lock``."""
        free = self.workers - (self._busy - len(self._later))
        if self._samples < SAMPLES or not self.prefetch:
            return free, 0
        extra = min(self.prefetch, int(self.workers * HORIZON / max(self._duration, 1e-6)))
        return free + extra, extra

    def room_ahead(self) -> int:
        """How many more runs due later (claimed ahead) may wait in memory."""
        with self._lock:
            return max(0, MAX_AHEAD - len(self._later))

    def in_flight(self) -> list[int]:
        with self._lock:
            return list(self._inflight)

    def submit(self, claimed: Sequence[ClaimedRun]) -> None:
        """Start each run when it is due: at once, or (claimed ahead) at its due time."""
        if not claimed:
            return
        now = self.clock.now()
        earliest = None
        with self._lock:
            self._busy += len(claimed)
            ready = len(self._ready)
            for item in claimed:
                cancel = Cancellation()
                self._inflight[item.run.id] = cancel
                if item.policy.overlap is Overlap.QUEUE:
                    self._queued.add(item.run.id)
                if item.run.due_at <= now:
                    self._ready.append((item, cancel))
                    continue
                due = item.run.due_at.timestamp()
                if not self._later or due < self._later[0][0]:
                    earliest = due
                heapq.heappush(self._later, (due, next(self._order), item, cancel))
            watch = len(self._ready) > ready and self._rouse_locked()
        if earliest is not None or watch:
            self.recheck()

    def recheck(self) -> None:
        """Make the timer look at the clock again now (an injected clock moved on)."""
        with contextlib.suppress(RuntimeError):  # already released: the timer wakes anyway
            self._alarm.release()

    def _rouse_locked(self) -> bool:
        """Runs are waiting: wake a worker if none is awake, else have the timer watch the
        awake ones for a stall. True if the timer must be woken to start watching (under
        ``self._lock``)."""
        if self._awake == 0:
            self._wake_locked(1)
            return False
        return self._watch_soon_locked()

    def _watch_soon_locked(self) -> bool:
        """Runs wait while workers sleep: the timer should watch for a stall. True if it was
        not watching yet (the caller wakes it with :meth:`recheck`, outside the lock)."""
        if self._watching or not (self._ready and self._sleepers):
            return False
        self._watching = True
        return True

    def _wake_locked(self, count: int) -> None:
        """Wake up to ``count`` sleeping workers, the most recent sleeper first (its stack is
        warm); under ``self._lock``."""
        for _ in range(min(count, len(self._sleepers))):
            self._awake += 1
            self._sleepers.pop().release()
        self._progress = (self._finished, time.monotonic())

    def _watch_locked(self) -> float | None:
        """While runs wait and workers sleep: wake more workers if no run finished for
        :data:`STALL` seconds (the awake ones are blocked). Returns when to look again."""
        if not (self._ready and self._sleepers):
            return None
        now = time.monotonic()
        finished, since = self._progress
        if finished != self._finished:
            self._progress = (self._finished, now)
        elif now - since >= STALL:
            self._wake_locked(max(1, self._awake))
        return STALL

    def _timer_loop(self) -> None:
        """Hand runs claimed ahead to the workers as they fall due; wake more workers when
        the awake ones are stalled (:meth:`_watch_locked`)."""
        while True:
            with self._lock:
                if self._timer is not threading.current_thread():
                    return  # another timer took over while this one ran a run (see watch)
                if self._closing:  # nobody here wants the GIL any more (see gnomon.gil)
                    self._timer_at = gil.NEVER
                    gil.want(gil.NEVER)
                    return
                now = self.clock.now().timestamp()
                was_full = len(self._later) >= MAX_AHEAD
                inline = self._hand_over_locked(now)
                delay = self._later[0][0] - now if self._later else None
                if self._watching:
                    watch = self._watch_locked()
                    self._watching = watch is not None
                    if watch is not None:
                        delay = watch if delay is None else min(delay, watch)
                room_again = was_full and len(self._later) < MAX_AHEAD
                # When this thread needs the GIL again; runs handed over: now.
                self._timer_at = gil.NEVER if delay is None else time.monotonic() + delay
                gil.want(0.0 if self._ready else self._timer_at)
            if room_again:  # the scheduler may claim more of its look-ahead window now
                self._on_free()
            if inline is not None:
                self._run_inline(*inline)
                continue  # (if it took long, another timer took over: see watch)
            # A plain lock, not an Event: at one run every few milliseconds, Event.wait's
            # Python-level machinery costs as much as the run.
            self._alarm.acquire(timeout=-1 if delay is None else delay)

    def _hand_over_locked(self, now: float) -> tuple[ClaimedRun, threading.Event] | None:
        """Move the runs due by ``now`` from the heap to the ready ones, and wake a worker
        for them; or return the one the timer runs itself (:meth:`_inline_locked`)."""
        due = False
        while self._later and self._later[0][0] <= now:
            _, _, item, cancel = heapq.heappop(self._later)
            self._ready.append((item, cancel))
            due = True
        if not due:
            return None
        inline = self._inline_locked(now)
        if inline is None:
            self._rouse_locked()
        return inline

    def _run_inline(self, item: ClaimedRun, cancel: threading.Event) -> None:
        self._inline_since = time.monotonic()
        try:
            self._work(item, cancel)
        except Exception:  # defensive: the timer must outlive any run's trouble
            log.exception("run %s could not be executed", item.run.id)
        self._inline_since = None
        if self._quickness.trying:  # (an untried job's run: its kind may try another now)
            with self._lock:
                self._quickness.tried(item)

    def _inline_locked(self, now: float) -> tuple[ClaimedRun, threading.Event] | None:
        """The run the timer may execute itself instead of waking a worker (under
        ``self._lock``), taken from the ready ones; None to hand them to the workers.

        Waking a worker costs as much as a quick run (two thread wake-ups per fire instead of
        one: about a fifth of the CPU of a steady stream of quick runs). So a lone due run of
        a job known to be quick (:class:`~gnomon.dispatch.quickness.Quickness`: its last run
        here was, or its action kind's have been) runs in the timer's thread, when no worker
        is awake and no other run is due within :data:`~gnomon.dispatch.quickness.QUICK`. If
        it takes long after all, the runs falling due meanwhile wait until the scheduler's
        loop next wakes (:meth:`watch`, within its ``poll``), which starts a new timer."""
        if len(self._ready) != 1 or self._awake or self._closing:
            return None
        item, cancel = self._ready[0]
        if item.policy.notify_urls:
            return None  # (a failure's notification is a network call: not in the timer)
        if self._later and self._later[0][0] <= now + quickness.QUICK:  # (it would start late)
            return None
        if not self._quickness.take(item):
            return None
        self._ready.popleft()
        return item, cancel

    def sleeping(self, seconds: float, *, tick: bool = False) -> None:
        """Called before the scheduler's loop sleeps for up to ``seconds`` (inf: it stops),
        after which it ticks (``tick``) or only looks: outcomes may wait for it if it wakes
        soon enough (see :meth:`OutcomeRecorder.loop_sleeps`)."""
        if self._recorder is None:
            return
        with self._lock:  # the last run's outcome waits for nothing more: not for the loop
            quiet = not self._more_coming((), self._recorder.linger)
        self._recorder.loop_sleeps(seconds, tick=tick, quiet=quiet)

    def watch(self) -> None:
        """Called whenever the scheduler's loop wakes: record the outcomes left to it
        (:meth:`OutcomeRecorder.record_waiting`); if the timer has been running a run
        itself (:meth:`_inline_locked`) for longer than :data:`STALL` while runs wait for
        their due time, start a new timer; the old one ends with its run."""
        if self._recorder is not None:
            self._recorder.record_waiting()
        since = self._inline_since
        if since is None or time.monotonic() - since < STALL:
            return
        with self._lock:
            if self._inline_since is None or self._closing or not self._later:
                return
            log.info("a run that was quick before is taking long; a new timer takes over")
            self._inline_since = None
            self._timer = self._new_timer()
            self._timers.append(self._timer)
            self._timer.start()

    def _work_loop(self) -> None:
        wake = _thread.allocate_lock()
        wake.acquire()
        quick = False
        while True:
            with self._lock:
                if self._stopping:
                    self._awake -= 1
                    return
                entry = None
                if self._ready and not (quick and self._awake > 1):
                    entry = self._ready.popleft()
                else:  # nothing to do, or a quick run while another worker is awake
                    self._awake -= 1
                    self._sleepers.append(wake)
                # This worker has the GIL: the next to want it is the timer (or a worker
                # it wakes; runs that wait for this one do not need another thread).
                gil.want(self._timer_at)
                # Runs left waiting while workers sleep: the timer watches for a stall.
                poke = self._watch_soon_locked()
            if poke:
                self.recheck()
            if entry is None:
                wake.acquire()  # the waker counted this worker awake again
                quick = False
                continue
            quick = self._work(*entry)

    def _claim_lapsed(self, item: ClaimedRun) -> bool:
        """Is a claim that waited long (a frozen process, a full queue) no longer ours?

        A claim younger than half the lease is ours: nobody takes a run back before its
        lease expires. An older one is confirmed — and its lease extended — in the store;
        if that fails, another process may hold the run now, and running it would run it
        twice.
        """
        claimed_at = item.run.started_at
        if claimed_at is None:
            return False
        now = self.clock.now()
        if (now - claimed_at).total_seconds() < self.lease / 2:
            return False
        until = now + timedelta(seconds=self.lease)
        try:
            return item.run.id in self.store.heartbeat([item.run.id], self.worker_id, until)
        except StoreError:
            return True  # cannot confirm: leave it; it is taken back when the lease expires

    def _release(self, run_id: int) -> None:
        with self._lock:
            self._inflight.pop(run_id, None)
            self._queued.discard(run_id)
            self._idle.notify_all()

    def _freed(self) -> None:
        """A worker is free again (its outcome may not be recorded yet): the scheduler may
        hand over more runs now instead of after the recorder's next batch."""
        with self._lock:
            self._busy -= 1
            hungry = self._hungry()
        if hungry:
            self._on_free()

    def hungry(self) -> bool:
        """Is it worth claiming more runs now? With a prefetch queue, only once half of it
        has drained: claiming at every run's end took a few runs per transaction."""
        with self._lock:
            return self._hungry()

    def _hungry(self) -> bool:
        room, extra = self._room()
        return room > 0 and room >= extra // 2

    def _work(self, item: ClaimedRun, cancel: threading.Event) -> bool:
        """Execute one run and hand its outcome to the recorder; True if it was quick."""
        if self._claim_lapsed(item):
            log.warning(
                "run %s: its claim lapsed before a worker could start it; not run here", item.run.id
            )
            self._release(item.run.id)
            self._freed()
            return False
        started = self.clock.monotonic()
        began = time.perf_counter()  # real time, whatever the clock: is the run quick?
        try:
            finished = execute_run(
                item,
                clock=self.clock,
                worker=self.worker_id,
                cancelled=cancel,
                destinations=self._destinations,
            )
        except Exception as exc:  # defensive: execute_run turns action errors into outcomes
            log.exception("run %s could not be executed", item.run.id)
            finished = FinishedRun(
                run_id=item.run.id,
                worker=self.worker_id,
                status=RunStatus.FAILED,
                finished_at=self.clock.now(),
                error=f"gnomon error: {exc}",
            )
        duration = self.clock.monotonic() - started
        policy = item.policy
        if policy.notify_urls and finished.status.value in policy.notify_on:
            try:
                notify_failure(
                    policy.notify_urls,
                    item.run.job_id,
                    finished.status,
                    finished.error,
                    item.run.scheduled_for,
                )
            except Exception:  # a notification problem must not lose the outcome
                log.exception("notification for run %s failed", item.run.id)
        recorder = self.recorder
        recorder.put(finished)
        # One critical section per run: with a dozen busy threads, every extra lock taken
        # per run is a chance of a convoy on the GIL (measured: a third more CPU in a burst).
        took = time.perf_counter() - began
        with self._lock:
            quick = self._quickness.ran(item, took)
            self._finished += 1
            self._samples += 1
            self._duration += (duration - self._duration) / min(self._samples, SAMPLES)
            recorder.admit_locked()  # back-pressure: never run far ahead of the recorder
            self._busy -= 1
            hungry = self._hungry()
            # The recorder lingers for more outcomes while runs are in flight or due soon;
            # when this was the last of them, it records now (it does not poll), unless the
            # scheduler's loop records it within a second (OutcomeRecorder.loop_sleeps).
            quiet = item.run.id in self._queued or not (
                self._more_coming((), recorder.linger)
                or recorder.loop_ticks_within_locked(recorder.linger)
            )
        if quiet:
            recorder.hurry()
        if hungry:
            self._on_free()
        return quick

    def _more_coming(self, batch: Sequence[FinishedRun], within: float) -> bool:
        """Are more outcomes on their way within ``within`` seconds (under ``self._lock``)?"""
        if self._closing:
            return False
        if batch and any(item.run_id in self._queued for item in batch):
            return False  # the end of an overlap=queue run may let the next one start
        if self._busy > len(self._later):  # runs executing (or due, waiting for a worker)
            return True
        return bool(self._later) and self._later[0][0] <= time.time() + within

    def _recorded(self, batch: list[FinishedRun]) -> None:
        # A retry or the end of an overlap=queue run may let a waiting run start.
        wake = any(item.retry_due is not None or item.run_id in self._queued for item in batch)
        # Outside the lock: one pop or discard is atomic, and a batch's worth of them under
        # the lock made every worker that finished meanwhile queue up behind the recorder.
        for item in batch:
            self._inflight.pop(item.run_id, None)
            self._queued.discard(item.run_id)
        self._on_recorded(batch, wake)

    def heartbeat(self) -> None:
        """Extend leases of runs in flight; pass on cancellation requests."""
        ids = self.in_flight()
        if not ids:
            return
        until = self.clock.now() + timedelta(seconds=self.lease)
        for run_id in self.store.heartbeat(ids, self.worker_id, until):
            with self._lock:
                event = self._inflight.get(run_id)
            if event is not None:
                event.set()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until no run is in flight (all outcomes recorded); False on timeout."""
        if self._recorder is None:
            return True
        with self._lock:
            self._recorder.urgent += 1
        self._recorder.hurry()
        try:
            with self._lock:
                return self._idle.wait_for(lambda: not self._inflight, timeout)
        finally:
            with self._lock:
                self._recorder.urgent -= 1

    def drain(self) -> list[int]:
        """Start no more runs: take back every run handed over but not started — claimed
        ahead and waiting for its due time, or due and waiting for a worker — and return
        their ids (the caller hands them back to the store). Runs already executing go on;
        their outcomes are still recorded."""
        with self._lock:
            self._closing = True
            if self._recorder is not None:  # workers waiting for it: record at once
                self._recorder.closing = True
            taken = [entry[2] for entry in self._later]
            self._later.clear()
            taken.extend(entry[0] for entry in self._ready)
            self._ready.clear()
            self._busy -= len(taken)
            for item in taken:
                self._inflight.pop(item.run.id, None)
                self._queued.discard(item.run.id)
            self._idle.notify_all()
        self.recheck()
        return [item.run.id for item in taken]

    def shutdown(self, wait: bool = True, timeout: float | None = None) -> None:
        """Stop the threads after :meth:`drain` (runs not started are dropped here: their
        claims lapse unless the caller hands them back). With ``wait``, runs already
        executing finish and are recorded first, for up to ``timeout`` seconds."""
        self.drain()
        deadline = None if timeout is None else time.monotonic() + timeout

        def left() -> float | None:
            return None if deadline is None else max(0.0, deadline - time.monotonic())

        with self._lock:
            self._stopping = True
            self._wake_locked(len(self._sleepers))
        if wait:
            for thread in [*self._threads, *self._timers]:
                thread.join(left())
        if self._recorder is not None:
            self._recorder.close(left() if wait else 0)
