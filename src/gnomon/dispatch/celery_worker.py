"""The worker's side of Celery dispatch: start a queued run by id, execute it, record it.

One :class:`RunExecutor` per worker process (a prefork child, or the solo/threads pool's
only process): its own store connection (made after the fork), its worker id
(``celery@HOST:PID``), and one heartbeat thread that keeps the leases of the runs it
executes alive and passes cancellation on. A message is a run id: of several deliveries of
one run (the scheduler's re-sends, the broker's redeliveries) exactly one starts it
(:meth:`~gnomon.store.queued.QueuedRunStore.start_queued`); the others return
``"duplicate"`` and are acknowledged. The outcome is recorded before the task returns, so
before Celery acknowledges the message (``acks_late``): a worker killed before that leaves
a ``running`` run whose lease expires, which a scheduler puts back to pending and sends
again (at least once; the broker's own redelivery is then a duplicate).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any, TypeVar

from gnomon.clock import Clock, SystemClock
from gnomon.destinations import Resolver
from gnomon.dispatch.group_commit import GroupCommit
from gnomon.errors import StoreError
from gnomon.runner import execute_run
from gnomon.store import ClaimedRun, FinishedRun
from gnomon.store.protocol import Store

log = logging.getLogger(__name__)
T = TypeVar("T")
RECORD_RETRY_FIRST, RECORD_RETRY_MAX = 0.1, 5.0  # seconds between attempts to record


class RunExecutor:
    """Executes the runs a worker process receives (see the module docstring)."""

    def __init__(
        self,
        store: Store,
        *,
        lease: float,
        clock: Clock | None = None,
        worker: str | None = None,
        destinations: Resolver | None = None,
    ) -> None:
        self.store, self.lease, self.destinations = store, lease, destinations
        self.clock = clock or SystemClock()
        self.worker = worker or f"celery@{socket.gethostname()}:{os.getpid()}"
        self._lock = threading.Lock()
        self._running: dict[int, threading.Event] = {}  # run id -> its cancel event
        self._beating = threading.Event()
        self._closed = threading.Event()
        self._beater: threading.Thread | None = None
        # Concurrent starts and outcomes (a pool of threads) are written in batches.
        self.starts = GroupCommit(self._start_many)
        self.finishes = GroupCommit(self.store.finish_runs)

    def execute(self, run_id: int) -> dict[str, Any]:
        """Start run ``run_id`` if it is still queued, execute it and record its outcome;
        what happened, as the task's JSON result."""
        claimed = self._retrying(lambda: self.starts(run_id), f"start run {run_id}")
        if claimed is None:
            log.info("run %s is not queued any more (a duplicate delivery): dropped", run_id)
            return {"run_id": run_id, "status": "duplicate"}
        cancel = threading.Event()
        with self._lock:
            self._running[run_id] = cancel
            self._start_heartbeats()
        try:
            finished = execute_run(
                claimed,
                clock=self.clock,
                worker=self.worker,
                cancelled=cancel,
                destinations=self.destinations,
            )
        finally:
            with self._lock:
                self._running.pop(run_id, None)
        recorded = self._record(finished)
        return {"run_id": run_id, "status": finished.status.value, "recorded": recorded}

    def _start_many(self, run_ids: Sequence[int]) -> list[ClaimedRun | None]:
        """Start these runs at once; a run id delivered twice in one batch starts once."""
        unique = list(dict.fromkeys(run_ids))
        started = self.store.start_queued_many(unique, self.worker, self.clock.now(), self.lease)
        first = dict(zip(unique, started, strict=True))
        return [first.pop(i, None) for i in run_ids]

    def _record(self, finished: FinishedRun) -> bool:
        """Record the outcome, retrying while the database is away for up to one lease (after
        that the run is taken back and runs again anyway). False if it was not accepted."""
        try:
            accepted = self._retrying(
                lambda: self.finishes(finished), f"record run {finished.run_id}"
            )
        except StoreError as exc:
            log.error("outcome of run %s not recorded (%s)", finished.run_id, exc)
            return False
        return accepted

    def _retrying(self, attempt: Callable[[], T], what: str) -> T:
        """``attempt()``, tried again while the database is away, for up to one lease; then
        its error. (Starting: the task fails and its run stays queued, to be sent again.)"""
        delay, waited = RECORD_RETRY_FIRST, 0.0
        while True:
            try:
                return attempt()
            except StoreError as exc:
                if waited >= self.lease:
                    raise
                log.warning("cannot %s yet (%s); retrying", what, exc)
                self.clock.wait(self._closed, delay)
                waited += delay
                delay = min(delay * 2, RECORD_RETRY_MAX)

    def _start_heartbeats(self) -> None:
        if self._beater is None:
            self._beater = threading.Thread(
                target=self._heartbeats, name="gnomon-heartbeat", daemon=True
            )
            self._beater.start()

    def _heartbeats(self) -> None:
        while not self._closed.wait(self.lease / 3):
            with self._lock:
                held = dict(self._running)
            if not held:
                continue
            until = self.clock.now() + timedelta(seconds=self.lease)
            try:
                stop = self.store.heartbeat(list(held), self.worker, until)
            except StoreError as exc:
                log.warning("heartbeat of %d run(s) failed (%s)", len(held), exc)
                continue
            for run_id in stop:
                log.info("run %s: cancellation asked, or no longer ours: stopping it", run_id)
                held[run_id].set()

    def close(self) -> None:
        self._closed.set()
        if self._beater is not None:
            self._beater.join(timeout=5)
        self.store.close()


__all__ = ["RunExecutor"]
