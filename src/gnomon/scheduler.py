"""The Scheduler: the loop that makes fires happen, over the Python API for jobs
(:class:`~gnomon.job_api.JobApi`: defining, changing and reading jobs and their history).

``tick(now)`` is one iteration and is what tests call: it records every due fire (in
batches, each one transaction), recovers runs whose worker vanished, claims due runs up to
the free worker slots and hands them to the dispatcher. ``run_forever`` repeats it, sleeping
until the earliest due moment the store knows of — checked at least every ``poll`` seconds
so jobs added by other processes are seen — or until woken by a change: one made in this
process, or (on PostgreSQL) one another process committed and notified.
No list of jobs is kept in memory.
"""

from __future__ import annotations

import builtins
import logging
import math
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from gnomon.clock import Clock, SystemClock
from gnomon.dispatch import DispatchContext, Dispatcher, LocalDispatcher
from gnomon.dispatch.base import stop_cleanly
from gnomon.errors import ConfigError, InvalidSpec, MigrationError, StoreUnavailable
from gnomon.events import Event
from gnomon.events.relay import EventRelay
from gnomon.events.sinks import sinks_from_settings
from gnomon.job_api import JobApi
from gnomon.planning import planner_at
from gnomon.pruner import Pruner
from gnomon.references import import_folders
from gnomon.retention import Retention
from gnomon.settings import Settings
from gnomon.store import FinishedRun, SqlStore
from gnomon.store.admin import beat
from gnomon.store.identity import default_identity
from gnomon.store.listen import Subscription
from gnomon.tenure import Tenure, process_worker_id

log = logging.getLogger(__name__)
BATCH = 500  # due jobs recorded, and runs claimed ahead, per step at most
STEPS_PER_TICK = 20  # steps of one tick at most, so a large backlog does not starve the loop
HELD_RETRY = 0.02  # seconds before looking again at a due job another replica holds
LOOKAHEAD = 1.0
"""Seconds a tick looks ahead by default: the fires due in the next second are recorded and
their runs claimed in one transaction, and each run starts at its due time from memory. About
two steps a second (one when few fires are due) instead of one per fire; a crash in between
loses nothing (the runs are durable; their leases expire and they run again, late by the
lease)."""


@dataclass(frozen=True, slots=True)
class TickReport:
    jobs: int = 0  # due jobs processed
    fires: int = 0  # run rows recorded
    claimed: int = 0  # runs handed to workers
    lost: int = 0  # runs found without a live worker
    more: bool = False  # work is left over: tick again at once


class Scheduler(JobApi):
    """A durable scheduler over one database (``gnomon.db`` by default).

    >>> with Scheduler("jobs.db") as s:                       # doctest: +SKIP
    ...     s.add("every 10m", shell(["/usr/local/bin/backup.sh"]), id="backup")
    ...     s.run_forever()
    """

    def __init__(  # noqa: PLR0913 - keyword-only options
        self,
        url: str | None = None,
        *,
        store: SqlStore | None = None,
        dispatcher: Dispatcher | None = None,
        clock: Clock | None = None,
        workers: int | None = None,
        worker_id: str | None = None,
        lease: float | None = None,
        batch: int = BATCH,
        poll: float = 1.0,
        settings: Settings | None = None,
        lookahead: float | None = None,
        identity: str | None = None,
        recovery_interval: float | None = None,
        stop_timeout: float | None = None,
    ) -> None:
        """``store`` (instead of ``url``): the store to use, e.g. one shared with other code.
        ``dispatcher``: what executes the runs (see :mod:`gnomon.dispatch.base`); by default a
        :class:`~gnomon.dispatch.local.LocalDispatcher` of ``workers`` threads, started on
        first use. The scheduler starts the dispatcher given here too, and stops it on close.

        ``lookahead``: how far ahead (seconds) a tick records fires and claims runs, which
        the workers then start at their due time (see :meth:`tick`). Default
        :data:`LOOKAHEAD` on the system clock, 0 with an injected clock (a tick at ``now``
        then does exactly the work due at ``now``).

        ``identity``: the name this scheduler holds while it runs (see
        :mod:`gnomon.store.identity`); on start it takes back at once the runs an earlier,
        dead holder of the same identity left. Default: ``GNOMON_SCHEDULER_ID``, else the
        first free of ``HOST``, ``HOST-2``… ``worker_id`` (for tests) fixes the worker id
        instead, and holds no identity unless ``identity`` is given too.

        ``lease``: seconds a run stays held without a heartbeat before another scheduler
        takes it back; ``recovery_interval``: seconds between scans for such runs;
        ``stop_timeout``: how long a clean stop waits for runs in flight (then they are
        handed back). Defaults from :class:`~gnomon.settings.Settings`."""
        if lookahead is None:
            lookahead = LOOKAHEAD if clock is None else 0.0
        if lookahead < 0:  # refused before the database is opened
            raise InvalidSpec(f"lookahead must not be negative, got {lookahead}")
        self.lookahead = timedelta(seconds=lookahead)
        self.settings = settings or Settings.from_env()
        if store is not None and url is not None:
            raise InvalidSpec("give a database url or a store, not both")
        self._owns_store = store is None  # a given store is its owner's to close
        self.store = store if store is not None else SqlStore(url or self.settings.database_url)
        self.clock = clock or SystemClock()
        wanted = identity or (None if worker_id else self.settings.scheduler_id)
        self.tenure = Tenure(
            self.store,
            wanted,
            state_dir=self.settings.state_dir,
            fixed_worker=worker_id is not None,
        )
        self.worker_id = worker_id or process_worker_id(default_identity(), self)
        self.lease = self.settings.lease if lease is None else lease
        self.recovery_interval = (
            self.settings.recovery_interval if recovery_interval is None else recovery_interval
        )
        self.stop_timeout = self.settings.stop_timeout if stop_timeout is None else stop_timeout
        self.batch, self.poll = batch, poll
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._listening: Subscription | None = None  # while run_forever runs
        self._next_recovery = self.clock.monotonic()
        self._next_heartbeat = self.clock.monotonic()
        self._ticked_at: datetime | None = None  # ``now`` of the last tick
        self._ticked_until: datetime | None = None  # how far ahead the last tick looked
        self._seen_run: int | None = None  # the newest run id before the last tick
        self._starved = False  # the last tick had more due runs than it could hand over
        self._full = False  # the last tick's batch of due jobs was full: more are waiting
        self._ahead_full = False  # the last step took as many runs ahead as it was allowed
        self._wake_at: datetime | None = None  # the next wake-up, as the last tick saw it
        self._workers = workers or self.settings.workers
        self._given: Dispatcher | None = dispatcher
        self._dispatcher: Dispatcher | None = None
        self._dispatch_lock = threading.Lock()
        self._listeners: builtins.list[Callable[[FinishedRun], None]] = []
        self._notices: queue.SimpleQueue[Sequence[FinishedRun] | None] = queue.SimpleQueue()
        self._notifier: threading.Thread | None = None
        self.relay = EventRelay(self.store, clock=self.clock, holder=self.worker_id, poll=poll)
        self.pruner = Pruner(
            self.store,
            Retention.from_settings(self.settings),
            self.clock,
            interval=self.settings.prune_interval,
        )
        for sink in sinks_from_settings(self.settings):
            self.relay.add_sink(sink)

    @property
    def identity(self) -> str | None:
        """The identity this scheduler holds (None until it first claims runs, or when a
        fixed ``worker_id`` was given without one)."""
        return self.tenure.identity

    @property
    def dispatcher(self) -> Dispatcher:
        """The dispatcher, started on first use (reading jobs starts no thread).

        Before it starts, the scheduler takes its identity and with it the runs a dead
        earlier holder of that identity left (:meth:`Tenure.begin`)."""
        with self._dispatch_lock:
            if self._dispatcher is None:
                self.tenure.begin(self.clock.now, self._name_worker)
                dispatcher = self._given or LocalDispatcher(self._workers)
                self._given = None  # started once; a new one after a stop
                dispatcher.start(
                    DispatchContext(
                        store=self.store,
                        clock=self.clock,
                        worker_id=self.worker_id,
                        lease=self.lease,
                        prefetch=self.batch,
                        journal=self.tenure.journal,
                        on_free=self._worker_freed,
                        on_recorded=self._recorded,
                    )
                )
                self._dispatcher = dispatcher
            return self._dispatcher

    def _name_worker(self, identity: str) -> str:
        if not self.tenure.fixed_worker:
            self.worker_id = process_worker_id(identity, self)
        return self.worker_id

    def _worker_freed(self) -> None:
        # Due runs were left waiting for a worker, or runs of the look-ahead window for room
        # in the dispatcher: take them now.
        if self._starved or self._ahead_full:
            self._wake.set()

    def on_finished(self, listener: Callable[[FinishedRun], None]) -> None:
        """Call ``listener`` for every attempt this process ends, once its outcome is
        recorded (in a thread of its own, in the order they were recorded)."""
        self._listeners.append(listener)
        if self._notifier is None:
            self._notifier = threading.Thread(
                target=self._notify_listeners, name="gnomon-listeners", daemon=True
            )
            self._notifier.start()

    def _recorded(self, batch: Sequence[FinishedRun], wake: bool) -> None:
        # Tick again only if a finished run may let another start: runs were left waiting
        # for a worker, a retry was recorded, or an overlap=queue run ended. Waking on every
        # batch would double the ticks (and transactions) of a steady load.
        if wake or self._starved:
            self._wake.set()
        self.relay.notify()
        if self._listeners:  # in their own thread: a slow listener never delays recording
            self._notices.put(batch)

    def _notify_listeners(self) -> None:
        while (batch := self._notices.get()) is not None:
            for item in batch:
                for listener in self._listeners:
                    try:
                        listener(item)
                    except Exception:  # a listener's bug must not stop the others
                        log.exception("listener %r failed", listener)

    def on(self, pattern: str, hook: Callable[[Event], None]) -> None:
        """Call ``hook(event)`` for every lifecycle event whose kind matches ``pattern``.

        Patterns are fnmatch-style: ``"run.failed"``, ``"run.*"``, ``"*"``. Hooks run in the
        event relay's thread while the scheduler runs (or on :meth:`pump_events`).
        """
        self.relay.mark_start()
        self.relay.on(pattern, hook)

    def pump_events(self) -> int:
        """Deliver recorded events to hooks, and to the sinks this replica holds, now (for
        FakeClock-driven tests)."""
        return self.relay.pump()

    # -- running ----------------------------------------------------------------------------

    def tick(self, now: datetime | None = None) -> TickReport:
        """One iteration: record due fires, recover lost runs, start due runs."""
        now = now or self.clock.now()
        # Runs sent to a broker are never sent before they are due: nothing to look ahead for.
        until = now if self.dispatcher.queues else now + self.lookahead
        self._ticked_at, self._ticked_until = now, until
        jobs = fires = claimed = 0
        # Lost runs are looked for by the first step, in its transaction (``leases``), and
        # taken back only when it found some: a scan of its own cost an idle scheduler as
        # much as a step.
        leases = self._recovery_due()
        self._maintain(now, recover=False)
        lost = 0
        for i in range(STEPS_PER_TICK):
            # One transaction records a batch of fires and starts the runs that are due (or
            # hands them to workers that start them when due, up to ``until``), so workers
            # begin while later batches are recorded; it also tells when to wake.
            free = self.dispatcher.capacity()
            ahead = min(self.batch, self.dispatcher.room_ahead())
            result, started, self._wake_at = self.store.step(
                now,
                planner_at(now, until),
                self.batch,
                self.worker_id,
                free,
                self.lease,
                until,
                ahead=ahead,
                queue=self.dispatcher.queues,
                leases=leases and i == 0,
            )
            if i == 0:
                # Runs recorded from now on (a retry or backfill by the API, another process)
                # may be due before ``now`` yet unseen by this tick: the sleep after it must
                # not skip them (see Store.next_wakeup).
                self._seen_run = result.seen_run
            jobs, fires = jobs + result.jobs, fires + result.runs
            self.dispatcher.submit(started)
            claimed += len(started)
            later = [c.run.due_at for c in started if c.run.due_at > now]
            self._starved = len(started) - len(later) >= free  # due runs may wait for a worker
            # The window may hold more than the dispatcher takes ahead (the store's wake-up
            # counts them as seen): the dispatcher wakes the loop when it has room again.
            self._ahead_full = len(later) >= ahead
            if result.lapsed:  # taken back now, claimed by the next step
                lost = self.store.recover_lost_runs(now)
                if lost:
                    continue
            if not result.full:
                break
        self._full = result.full
        # (A last step that found lost runs leaves them for the next tick, at once.)
        more = result.full or (free > 0 and self._starved) or result.lapsed
        return TickReport(jobs, fires, claimed, lost, more)

    def _maintain(self, now: datetime, *, recover: bool = True) -> int:
        """Heartbeats for runs in flight; recovery of runs whose worker vanished (unless the
        caller's step looks for them, see :meth:`tick`); a few small steps of pruning old
        history (see :mod:`gnomon.pruner`); the dispatcher's optional ``watch`` (a local
        timer stuck in a run it started itself is replaced). Returns how many lost runs were
        taken back."""
        watch = getattr(self.dispatcher, "watch", None)
        if watch is not None:
            watch()
        mono = self.clock.monotonic()
        if mono >= self._next_heartbeat:
            self.dispatcher.heartbeat()
            # For `gnomon status`: this one is alive, and imports --python references from…
            beat(self.store, self.worker_id, now, import_folders())
            self._next_heartbeat = mono + self.lease / 3
        lost = self.store.recover_lost_runs(now) if recover and self._recovery_due() else 0
        self.pruner.step()
        return lost

    def _recovery_due(self) -> bool:
        """Is it time to look for lost runs (every ``recovery_interval``)? Checks the
        identity lock meanwhile."""
        mono = self.clock.monotonic()
        if mono < self._next_recovery:
            return False
        self._next_recovery = mono + self.recovery_interval
        self.tenure.check(self.worker_id)
        return True

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until every run handed to workers has finished and been recorded."""
        return self._dispatcher is None or self._dispatcher.wait_idle(timeout)

    def run_forever(self) -> None:
        """Tick and sleep until :meth:`stop` is called (from another thread or a signal),
        or Ctrl-C: a KeyboardInterrupt in this loop is a clean stop (runs in flight finish
        and are recorded, see :meth:`stop`), after which it returns."""
        log.info("scheduler %s started on %s", self.worker_id, self.store.url)
        self.relay.start()
        # Changes committed by other processes wake the loop at once (PostgreSQL: LISTEN; see
        # gnomon.store.listen); the poll stays as the fallback. None on SQLite.
        self._listening = self.store.listen(self._wake.set)
        interrupted = False
        try:
            with self.store.pinned():  # one connection for all its transactions (SQLite)
                self._loop()
        except KeyboardInterrupt:  # Ctrl-C in a script that runs the loop in its main thread
            interrupted = True
        if self._listening is not None:
            self._listening.close()
        self.relay.stop()
        if interrupted:
            self._stop.set()
            self._hand_back()
        log.info("scheduler %s stopped", self.worker_id)

    def _loop(self) -> None:
        failures = 0
        try:
            while not self._stop.is_set():
                try:
                    report = self.tick()
                    failures = 0
                    if not report.more or self._waiting_for_workers():
                        self._sleep()
                except (ConfigError, MigrationError):
                    raise  # this scheduler cannot run as configured: stop, and say why
                except Exception as exc:
                    # An outage, or anything else (a database error that is not one, a bug):
                    # it must not end the loop in silence while the process, its API and its
                    # workers live on. Logged (anything else with its traceback); ticked again.
                    failures += 1
                    delay = min(0.5 * 2 ** min(failures, 4), 5.0)
                    if isinstance(exc, StoreUnavailable):
                        log.warning("database unavailable (%s); retrying in %.1f s", exc, delay)
                    else:
                        log.exception("scheduler tick failed; retrying in %.1f s", delay)
                    self._sleeping(delay)
                    self.clock.wait(self._stop, delay)
        finally:
            self._sleeping(math.inf)  # nothing may wait for this loop any more

    def _waiting_for_workers(self) -> bool:
        """Are the due runs left over waiting only for this process's workers? They wake
        the loop when they have room (:meth:`LocalDispatcher.hungry`): ticking at once would
        claim a few runs per transaction."""
        return not self._full and self._starved and not self.dispatcher.hungry()

    def _sleep(self) -> None:
        """Sleep until the next due moment, a local change, or ``poll`` seconds."""
        known, self._wake_at = self._wake_at, None  # fresh from the tick: no need to ask
        while not self._stop.is_set():
            wake = known or self.store.next_wakeup(
                after=self._ticked_at, until=self._ticked_until, seen_run=self._seen_run
            )
            known, due = None, False
            now = self.clock.now()
            if wake is not None and wake <= now and self._starved:
                # Due runs wait for this process's workers, which wake the loop when they
                # have room (LocalDispatcher.hungry); polling now would claim a few at a time.
                timeout = self.poll
            elif wake is not None and wake <= now:
                if self._ticked_at is None or wake > self._ticked_at:
                    return  # it fell due after the last tick looked: tick now
                # A due job the last tick could not take: another replica holds it (its
                # transaction is recording the fires). Look again soon, not after a whole
                # poll: the runs it is recording are this replica's to share.
                timeout = min(self.poll, HELD_RETRY)
            elif wake is None:
                timeout = self.poll
            else:  # then it ticks (work falls due), or only looks (the poll)
                left = (wake - now).total_seconds()
                timeout, due = min(self.poll, left), left <= self.poll
            self._sleeping(timeout, tick=due)
            if self.clock.wait(self._wake, timeout):
                self._wake.clear()
                return
            now = self.clock.now()
            if wake is not None and now >= wake:
                # The tick comes now: it maintains, and its first step looks for lost runs
                # in its own transaction. (Maintaining here first made an idle scheduler
                # scan for them apart, in a transaction of its own, about once a second.)
                return
            self._maintain(now)

    def _sleeping(self, seconds: float, *, tick: bool = False) -> None:
        """The dispatcher's optional ``sleeping``: the loop sleeps up to ``seconds``, then
        ticks (``tick``) or only looks; work left to its next wake waits that long."""
        sleeping = getattr(self._dispatcher, "sleeping", None)
        if sleeping is not None:
            sleeping(seconds, tick=tick)

    def run_for(self, seconds: float) -> None:
        """Run the loop for ``seconds`` (on the scheduler's clock), then stop cleanly: runs
        in flight finish and are recorded (see :meth:`stop`). For scripts and examples that
        must end on their own; Ctrl-C during it is a clean stop too."""
        self.start()
        try:
            self.clock.wait(threading.Event(), seconds)
        finally:
            self.stop()

    def start(self) -> None:
        """Run the loop in a background thread."""
        if self._thread is not None:
            raise InvalidSpec("scheduler already started")
        self._stop.clear()
        self._thread = threading.Thread(
            target=self.run_forever, name="gnomon-scheduler", daemon=True
        )
        self._thread.start()

    def stop(self, wait: bool = True) -> None:
        """Stop the loop. With ``wait`` (a clean stop), also stop the workers: the runs
        claimed ahead and not started go back to ``pending`` in one transaction, so another
        scheduler (or this one, started again) runs them at once; runs in flight finish and
        are recorded within ``stop_timeout``, after which they too are handed back.
        ``wait=False`` only asks the loop to stop (safe in a signal handler)."""
        self._stop.set()
        self._wake.set()
        if not wait:
            return
        if self._thread is not None:
            self._thread.join()
        self._thread = None
        self._hand_back()

    def _hand_back(self) -> None:
        with self._dispatch_lock:
            dispatcher, self._dispatcher = self._dispatcher, None
        if dispatcher is None:
            return
        finished = stop_cleanly(
            dispatcher, self.store, self.worker_id, self.clock, self.stop_timeout
        )
        self.tenure.close_journal(clean=finished)

    def close(self) -> None:
        self.stop()
        if self._notifier is not None:  # listeners hear of every outcome recorded so far
            self._notices.put(None)
            self._notifier.join(timeout=5)
            self._notifier = None
        self.relay.stop()  # gives up the sink leases taken by pump_events
        self.tenure.end()
        if self._owns_store:
            self.store.close()

    def __enter__(self) -> Scheduler:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["Scheduler", "TickReport"]
