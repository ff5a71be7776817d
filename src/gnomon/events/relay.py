"""Fanning lifecycle events out of the events table: in-process hooks and durable sinks.

The events table is the source of truth. The relay hands each event to

- **hooks**: ``scheduler.on("run.failed", fn)``, patterns in :mod:`fnmatch` style
  (``"run.*"``, ``"*"``), called in the relay's hook thread. Hooks are local code: each
  process's hooks see the events recorded from the moment its relay starts (an in-memory
  cursor), once, whatever other replicas do;
- **sinks**: an ``http`` webhook (``GNOMON_EVENT_WEBHOOK``: one POST per event, JSON body) and
  an MQTT topic per event (``GNOMON_EVENT_MQTT_TOPIC=gnomon/events`` → ``gnomon/events/run/
  failed``, QoS 1). Sinks reuse the ``http`` and ``mqtt`` actions, so they get the same
  SSRF guard, PUBACK checks and redaction.

A sink delivers every event **at least once, in id order, by one replica at a time**, across
restarts:

- *A durable cursor per sink* (by name: ``webhook``, ``mqtt``; :mod:`gnomon.store.sinks`).
  The first time a sink runs against a database, its cursor starts after the newest event:
  enabling a sink on a database with a million old events does not replay them. From then
  on, events recorded while no replica ran are delivered when one starts again.
- *One replica at a time.* A replica delivers only while it holds the cursor's lease
  (:data:`SINK_LEASE`, renewed each time a third of it has passed, busy or idle). When the
  holder dies, another replica takes over once the lease expires; a replica that stops
  cleanly gives the lease up at once (its undelivered events go to the next holder). Every
  move of the cursor is conditional on the holder, so a replica that lost its lease (paused
  for longer than the lease) stops after the event in hand.
- *At least once.* The cursor moves after each batch of up to :data:`SINK_BATCH` events
  (and at each lease renewal), so a holder that dies mid-batch leaves at most that batch to
  be delivered again. Receivers deduplicate by the event's ``id``.
- *Retries.* A failed delivery holds the sink at that event (later events wait: order is
  kept) and is retried with exponential backoff, 1 s doubling to 60 s plus up to 10 %
  jitter, in the sink's own thread: hooks, other sinks and the scheduler do not wait. The
  attempt count and retry time are stored with the cursor, so a takeover continues them.
  After :data:`MAX_SINK_ATTEMPTS` attempts (about four minutes) the event is dropped: an
  error is logged and a ``sink.dropped`` event (sink, event id and kind, attempts, last
  error) is recorded in the transaction that moves the cursor past it, so the stream does
  not stall for ever behind one event. A ``sink.dropped`` that is dropped in turn is only
  logged, so a dead sink cannot feed itself.
- *PostgreSQL id gaps.* Ids come from a sequence and are taken before commit: id 10 can
  become visible after 11 (its transaction commits later), and the ids of rolled-back
  transactions never appear. A cursor moved past 11 while 10 is uncommitted would lose 10.
  So on PostgreSQL a sink delivers only the unbroken run of ids after its cursor; at a gap it
  waits, and only a gap seen for :data:`GAP_WAIT` is taken for rolled-back ids and passed.
  gnomon's transactions insert their events last and commit within milliseconds, so an id
  missing for that long is a rollback, not a late commit; the price is that a rollback
  which used event ids (rare: a connection lost mid-transaction) holds the sinks back that
  long. SQLite needs no wait: its single writer assigns ids in commit order.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import socket
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from gnomon.clock import Clock, SystemClock
from gnomon.errors import GnomonError, StoreUnavailable
from gnomon.events.model import Event
from gnomon.events.sinks import EventSink
from gnomon.limits import MAX_NOTE_CHARS
from gnomon.models import Policy
from gnomon.planning import backoff_delay
from gnomon.redaction import redact_text
from gnomon.store import SinkCursor, SqlStore

log = logging.getLogger(__name__)
Hook = Callable[[Event], None]
SINK_LEASE = 30.0
"""Seconds a replica holds a sink's cursor without renewing it: a dead holder's sink is
taken over after at most this long."""
SINK_BATCH = 20
"""Events delivered between two moves of the cursor (redelivered if the holder dies)."""
MAX_SINK_ATTEMPTS = 10
"""Attempts at one event before it is dropped (1+2+4+…+60 s: about four minutes)."""
SINK_RETRY = Policy(backoff=1.0, max_backoff=60.0)
GAP_WAIT = 10.0
"""Seconds an id gap must persist (PostgreSQL) before it is taken for a rollback."""
DROPPED = "sink.dropped"
HOOK_BATCH = 500  # events handed to in-process hooks per pump


class SinkFeed:
    """One sink's deliveries from its durable cursor (see the module docstring).

    :meth:`pump` is one step: take or renew the lease, deliver the next batch, move the
    cursor. It holds a lock, so the relay's thread and :meth:`EventRelay.pump` never run it
    at once in one process (they share the holder id).
    """

    def __init__(
        self,
        store: SqlStore,
        sink: EventSink,
        clock: Clock,
        holder: str,
        *,
        lease: float = SINK_LEASE,
        batch: int = SINK_BATCH,
    ) -> None:
        self.store, self.sink, self.clock, self.holder = store, sink, clock, holder
        self.lease, self.batch = lease, batch
        self._lock = threading.Lock()
        self._opened = False
        self._held = False  # this replica took the lease since it last gave it up
        self._gap: tuple[int, datetime] | None = None  # (the id before a gap, first seen at)

    def open(self) -> None:
        """Create the cursor at the newest event if this sink never ran on the database."""
        if not self._opened:
            self.store.open_sink_cursor(self.sink.name, self.clock.now())
            self._opened = True

    def pump(self) -> int:
        """Deliver the next batch if this replica holds the lease and no retry is waiting;
        returns how many events were delivered."""
        with self._lock:
            now = self.clock.now()
            cursor = self.store.take_sink_cursor(self.sink.name, self.holder, now, self.lease)
            self._held = cursor is not None
            if cursor is None or (cursor.retry_at is not None and cursor.retry_at > now):
                return 0
            found = self.store.list_events(after_id=cursor.after_id, limit=self.batch)
            return self._deliver(cursor, self._in_order(found, cursor.after_id, now))

    def _deliver(self, cursor: SinkCursor, batch: list[Event]) -> int:
        done = cursor.after_id
        for count, event in enumerate(batch):
            assert event.id is not None
            if cursor.renewal_due(self.clock.now(), self.lease):
                kept = done == cursor.after_id  # the next event's failures so far still count
                renewed = self._save(
                    cursor,
                    after_id=done,
                    attempts=cursor.attempts if kept else 0,
                    error=cursor.error if kept else None,
                )
                if renewed is None:
                    return count
                cursor = renewed
            try:
                self.sink.deliver(event)
            except Exception as exc:
                self._failed(cursor, done, event, exc)
                return count
            done = event.id
        if done != cursor.after_id:
            self._save(cursor, after_id=done)
        return len(batch)

    def _failed(self, cursor: SinkCursor, done: int, event: Event, exc: Exception) -> None:
        """Schedule the next attempt at ``event``, or drop it after the last one."""
        assert event.id is not None
        attempts = (cursor.attempts if done == cursor.after_id else 0) + 1
        error = redact_text(str(exc) or type(exc).__name__)[:MAX_NOTE_CHARS]
        name = self.sink.name
        if attempts < MAX_SINK_ATTEMPTS:
            delay = backoff_delay(SINK_RETRY, attempts)
            log.warning(
                "event sink %s: event %d (%s) failed, attempt %d of %d; retrying in %.1f s: %s",
                name,
                event.id,
                event.kind,
                attempts,
                MAX_SINK_ATTEMPTS,
                delay,
                error,
            )
            retry_at = self.clock.now() + timedelta(seconds=delay)
            self._save(cursor, after_id=done, attempts=attempts, retry_at=retry_at, error=error)
            return
        log.error(
            "event sink %s: event %d (%s) dropped after %d attempts: %s",
            name,
            event.id,
            event.kind,
            attempts,
            error,
        )
        dropped = (
            None
            if event.kind == DROPPED
            else Event(
                kind=DROPPED,
                at=self.clock.now(),
                job_id=event.job_id,
                run_id=event.run_id,
                data={
                    "sink": name,
                    "event_id": event.id,
                    "event_kind": event.kind,
                    "attempts": attempts,
                    "error": error,
                },
            )
        )
        self._save(cursor, after_id=event.id, dropped=dropped)

    def _save(self, cursor: SinkCursor, *, after_id: int, **progress: Any) -> SinkCursor | None:
        saved = self.store.save_sink_progress(
            cursor, after_id=after_id, now=self.clock.now(), lease=self.lease, **progress
        )
        if saved is None:
            log.warning(
                "event sink %s: another replica took the cursor over from %s",
                self.sink.name,
                self.holder,
            )
        return saved

    def _in_order(self, found: list[Event], after_id: int, now: datetime) -> list[Event]:
        """The events that may go out now without overtaking an uncommitted one: all of
        them where ids appear in commit order (SQLite); elsewhere (PostgreSQL), those before
        the first id gap younger than :data:`GAP_WAIT`."""
        if self.store.dialect.ids_in_commit_order:
            return found
        previous = after_id
        for index, event in enumerate(found):
            assert event.id is not None
            if event.id != previous + 1:
                if self._gap is None or self._gap[0] != previous:
                    self._gap = (previous, now)
                if now - self._gap[1] < timedelta(seconds=GAP_WAIT):
                    return found[:index]
                log.info(
                    "event sink %s: event ids %d-%d never appeared (rolled back); going on",
                    self.sink.name,
                    previous + 1,
                    event.id - 1,
                )
            previous = event.id
        return found

    def release(self) -> None:
        """Give the lease up, if this replica took it, so another takes over at once."""
        with self._lock:
            if not self._held:
                return
            try:
                self.store.release_sink_cursor(self.sink.name, self.holder)
                self._held = False
            except GnomonError as exc:  # the lease will expire instead
                log.warning("event sink %s: could not release its cursor: %s", self.sink.name, exc)


class EventRelay:
    """Hands new events to this process's hooks, and to the sinks whose cursors it holds.

    ``holder`` names this replica in the sink leases (the scheduler's ``worker_id``): it must
    differ between replicas. Hooks run in one thread, each sink in its own.
    """

    def __init__(
        self,
        store: SqlStore,
        *,
        clock: Clock | None = None,
        holder: str | None = None,
        poll: float = 1.0,
        lease: float = SINK_LEASE,
    ) -> None:
        self.store, self.poll, self.lease = store, poll, lease
        self.clock = clock or SystemClock()
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.hooks: list[tuple[str, Hook]] = []
        self.feeds: list[SinkFeed] = []
        self._cursor: int | None = None
        self._hooks_lock = threading.Lock()
        self._wakes: list[threading.Event] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def active(self) -> bool:
        return bool(self.hooks or self.feeds)

    @property
    def sinks(self) -> list[EventSink]:
        return [feed.sink for feed in self.feeds]

    def add_sink(self, sink: EventSink) -> None:
        if any(feed.sink.name == sink.name for feed in self.feeds):
            raise ValueError(f"an event sink named {sink.name!r} is already added")
        self.feeds.append(SinkFeed(self.store, sink, self.clock, self.holder, lease=self.lease))

    def on(self, pattern: str, hook: Hook) -> None:
        self.hooks.append((pattern, hook))

    def mark_start(self) -> None:
        """Start the hooks after the newest event (once), and create the cursors of sinks
        that never ran on this database (there too)."""
        with self._hooks_lock:
            if self._cursor is None:
                last = self.store.list_events(after_id=0, limit=1, newest=True)
                self._cursor = last[0].id if last and last[0].id is not None else 0
        for feed in self.feeds:
            feed.open()

    def pump(self, limit: int = HOOK_BATCH) -> int:
        """Deliver now what is waiting: to the hooks, and to each sink whose cursor this
        replica holds, until it has nothing it can deliver; returns how many events went out
        (counted once for the hooks, if there are any, and once per sink)."""
        self.mark_start()
        total = self._pump_hooks(limit)
        for feed in self.feeds:
            while delivered := feed.pump():
                total += delivered
        return total

    def _pump_hooks(self, limit: int = HOOK_BATCH) -> int:
        with self._hooks_lock:
            assert self._cursor is not None
            batch = self.store.list_events(after_id=self._cursor, limit=limit)
            for event in batch:
                self._run_hooks(event)
                self._cursor = event.id or self._cursor
            return len(batch) if self.hooks else 0

    def _run_hooks(self, event: Event) -> None:
        for pattern, hook in self.hooks:
            if fnmatch.fnmatchcase(event.kind, pattern):
                try:
                    hook(event)
                except Exception:  # a hook's bug must not stop the relay
                    log.exception("event hook %r failed on %s", hook, event.kind)

    def notify(self) -> None:
        for wake in self._wakes:
            wake.set()

    def start(self) -> None:
        if self._threads or not self.active:
            return
        self.mark_start()
        self._stop.clear()
        steps = [("hooks", self._pump_hooks)] + [(f.sink.name, f.pump) for f in self.feeds]
        for name, step in steps:
            wake = threading.Event()
            thread = threading.Thread(
                target=self._loop, args=(step, wake), name=f"gnomon-events-{name}", daemon=True
            )
            self._wakes.append(wake)
            self._threads.append(thread)
            thread.start()

    def _loop(self, step: Callable[[], int], wake: threading.Event) -> None:
        while not self._stop.is_set():
            try:
                while step() and not self._stop.is_set():
                    pass
            except StoreUnavailable as exc:
                log.warning("event relay: %s; retrying", exc)
            except Exception:
                log.exception("event relay failed; retrying")
            wake.wait(self.poll)
            wake.clear()

    def stop(self) -> None:
        """Stop the threads; the hooks still get what happened up to the stop, the sinks'
        leases are given up (their undelivered events go to the next holder)."""
        self._stop.set()
        self.notify()
        threads, self._threads, self._wakes = self._threads, [], []
        for thread in threads:
            thread.join()
        if threads:
            try:
                self._pump_hooks()
            except GnomonError as exc:
                log.warning("event relay: the hooks miss the last events: %s", exc)
        for feed in self.feeds:
            feed.release()


__all__ = ["DROPPED", "MAX_SINK_ATTEMPTS", "SINK_LEASE", "EventRelay", "SinkFeed"]
