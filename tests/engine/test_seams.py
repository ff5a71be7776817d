"""The engine's seams: a Scheduler over a given store and a given dispatcher.

A dispatcher written here, against the :class:`~gnomon.dispatch.base.Dispatcher` protocol
only, runs each run in the scheduler's thread and records outcomes through the shared
:class:`~gnomon.dispatch.recorder.OutcomeRecorder`: what a Celery worker does too.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path

import pytest

from gnomon import FakeClock, RunStatus, Scheduler, python
from gnomon.dispatch import DispatchContext, Dispatcher, LocalDispatcher, OutcomeRecorder
from gnomon.errors import InvalidSpec
from gnomon.runner import execute_run
from gnomon.settings import Settings
from gnomon.store import ClaimedRun, FinishedRun, SqlStore
from gnomon.triggers import AtTrigger
from tests.engine.conftest import T0

RECORD = python("tests.engine.blocking:record")


class InlineDispatcher:
    """Executes each run as it is submitted, in the caller's thread."""

    queues = False

    def __init__(self) -> None:
        self.executed: list[int] = []
        self.context: DispatchContext | None = None
        self._idle = threading.Condition()
        self._inflight: set[int] = set()
        self._recorder: OutcomeRecorder | None = None

    def start(self, context: DispatchContext) -> None:
        self.context = context
        self._recorder = OutcomeRecorder(
            context.store, context.clock, idle=self._idle, workers=1, after=self._after
        )

    def describe(self) -> str:
        return "inline"

    def capacity(self) -> int:
        return 10

    def hungry(self) -> bool:
        return True

    def room_ahead(self) -> int:
        return 0

    def submit(self, claimed: Sequence[ClaimedRun]) -> None:
        assert self.context is not None
        assert self._recorder is not None
        for item in claimed:
            with self._idle:
                self._inflight.add(item.run.id)
            finished = execute_run(item, clock=self.context.clock, worker=self.context.worker_id)
            self.executed.append(item.run.id)
            self._recorder.put(finished)
            with self._idle:
                self._recorder.admit_locked()

    def _after(self, batch: list[FinishedRun]) -> None:
        assert self.context is not None
        with self._idle:
            self._inflight -= {item.run_id for item in batch}
        self.context.on_recorded(batch, False)

    def recheck(self) -> None:
        pass

    def heartbeat(self) -> None:
        pass

    def in_flight(self) -> list[int]:
        with self._idle:
            return sorted(self._inflight)

    def wait_idle(self, timeout: float | None = None) -> bool:
        assert self._recorder is not None
        self._recorder.hurry()
        with self._idle:
            return self._idle.wait_for(lambda: not self._inflight, timeout)

    def drain(self) -> list[int]:
        return []

    def shutdown(self, wait: bool = True, timeout: float | None = None) -> None:
        if self._recorder is not None:
            self._recorder.close(timeout)


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'gnomon.db'}"


@pytest.fixture
def store(db: str) -> Iterator[SqlStore]:
    store = SqlStore(db)
    yield store
    store.close()


def test_a_scheduler_runs_on_a_given_store_and_dispatcher(
    store: SqlStore, clock: FakeClock
) -> None:
    inline = InlineDispatcher()
    given: Dispatcher = inline  # the protocol is all the scheduler knows
    scheduler = Scheduler(store=store, dispatcher=given, clock=clock, worker_id="w1")
    try:
        scheduler.add(AtTrigger(T0 + timedelta(seconds=1)), RECORD, id="job")
        clock.set(T0 + timedelta(seconds=1))
        report = scheduler.tick(clock.now())
        assert report.claimed == 1
        assert scheduler.wait_idle(timeout=10)
        [run] = scheduler.runs("job")
        assert run.status is RunStatus.SUCCEEDED
        assert inline.executed == [run.id]
        assert inline.context is not None
        assert inline.context.worker_id == "w1"
        assert scheduler.dispatcher is given
    finally:
        scheduler.close()
    assert scheduler.store is store


def test_a_given_local_dispatcher_is_started_by_the_scheduler(db: str, clock: FakeClock) -> None:
    pool = LocalDispatcher(workers=2)
    with Scheduler(db, dispatcher=pool, clock=clock, settings=Settings(workers=4)) as scheduler:
        scheduler.add(AtTrigger(T0 + timedelta(seconds=1)), RECORD, id="job")
        clock.set(T0 + timedelta(seconds=1))
        scheduler.tick(clock.now())
        assert scheduler.wait_idle(timeout=10)
        assert [r.status for r in scheduler.runs("job")] == [RunStatus.SUCCEEDED]
        assert scheduler.dispatcher is pool
        assert pool.describe() == "2 worker(s)"


def test_a_url_and_a_store_together_are_refused(db: str, store: SqlStore) -> None:
    with pytest.raises(InvalidSpec, match="not both"):
        Scheduler(db, store=store)


def test_a_local_dispatcher_starts_once(db: str, clock: FakeClock) -> None:
    pool = LocalDispatcher(workers=1)
    with Scheduler(db, dispatcher=pool, clock=clock) as scheduler:
        assert scheduler.dispatcher is pool
        with pytest.raises(RuntimeError, match="already started"):
            pool.start(DispatchContext(scheduler.store, clock, worker_id="x", lease=30))
