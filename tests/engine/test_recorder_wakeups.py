"""The outcome recorder sleeps while it lingers for more outcomes: it never polls, and
whatever should end its wait early wakes it (issue 15: polling every 50 ms was ~25% of an
idle scheduler's CPU).

The recorder's linger is wall-clock time (it bounds how long an outcome waits to be
durable); these tests set it long, so an outcome recorded at once proves a wake-up, not a
timeout — and the one test that lets a linger end keeps it at 0.3 s.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from pathlib import Path

import pytest

from gnomon import FakeClock, RunStatus, Scheduler, python
from gnomon.dispatch import OutcomeRecorder
from gnomon.store import FinishedRun, SqlStore
from gnomon.triggers import AtTrigger
from tests.engine import blocking
from tests.engine.conftest import T0

NOOP = python("tests.engine.blocking:record")
WAIT = python("tests.engine.blocking:wait")
LONG = 30.0  # a linger no test waits out


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    store = SqlStore(f"sqlite:///{tmp_path / 'gnomon.db'}")
    yield store
    store.close()


def _recorder(
    store: SqlStore, clock: FakeClock, more_coming: Callable[[Sequence[FinishedRun], float], bool]
) -> tuple[OutcomeRecorder, threading.Event]:
    recorded = threading.Event()
    recorder = OutcomeRecorder(
        store,
        clock,
        idle=threading.Condition(),
        workers=1,
        more_coming=more_coming,
        after=lambda batch: recorded.set(),
    )
    return recorder, recorded


def _outcome(clock: FakeClock, **extra: object) -> FinishedRun:
    return FinishedRun(
        run_id=1, worker="w", status=RunStatus.SUCCEEDED, finished_at=clock.now(), **extra
    )  # type: ignore[arg-type]


def test_the_recorder_does_not_poll_while_it_lingers(store: SqlStore, clock: FakeClock) -> None:
    looks = 0

    def more_coming(batch: Sequence[FinishedRun], within: float) -> bool:
        nonlocal looks
        looks += 1
        return True  # more is always on its way: only the linger ends the wait

    recorder, recorded = _recorder(store, clock, more_coming)
    recorder.linger = 0.3
    try:
        recorder.put(_outcome(clock))
        with recorder._idle:  # counted as its owner does, which wakes a recorder asleep
            recorder.admit_locked()  # (else this test raced the thread's first look)
        assert recorded.wait(10)
        # One look when the outcome arrives; polling every 50 ms looked ~6 times.
        assert looks <= 2, f"the recorder looked {looks} times in one 0.3 s linger"
    finally:
        recorder.close(5)


def test_an_outcome_with_a_retry_is_recorded_at_once(store: SqlStore, clock: FakeClock) -> None:
    recorder, recorded = _recorder(store, clock, lambda batch, within: True)
    recorder.linger = LONG
    try:
        recorder.put(_outcome(clock))  # lingers: more is coming
        recorder.put(_outcome(clock, retry_due=clock.now() + timedelta(seconds=1)))
        assert recorded.wait(10), "the retry waited for the linger"
    finally:
        recorder.close(5)


def test_back_pressure_wakes_the_recorder(store: SqlStore, clock: FakeClock) -> None:
    idle = threading.Condition()
    recorded = threading.Event()
    recorder = OutcomeRecorder(
        store,
        clock,
        idle=idle,
        workers=1,
        more_coming=lambda batch, within: True,
        after=lambda batch: recorded.set(),
    )
    recorder.linger = LONG
    try:
        for _ in range(recorder.backlog):
            recorder.put(_outcome(clock))
            with idle:
                recorder.admit_locked()  # the last one fills the backlog: workers would wait
        assert recorded.wait(10), "workers at the backlog waited for the linger"
    finally:
        recorder.close(5)


def test_the_last_run_in_flight_ending_records_at_once(
    sqlite_scheduler: Callable[..., Scheduler], clock: FakeClock
) -> None:
    """One run ends while another is in flight: the recorder lingers for it. When that one
    ends too, with nothing due soon, its worker wakes the recorder, which records both now
    instead of lingering on (it used to notice by polling)."""
    scheduler = sqlite_scheduler()
    recorded: list[str | None] = []
    both = threading.Event()

    def seen(item: FinishedRun) -> None:
        recorded.append(item.job_id)
        if len(recorded) == 2:
            both.set()

    scheduler.on_finished(seen)
    scheduler.dispatcher.recorder.linger = LONG
    scheduler.add(AtTrigger(T0 + timedelta(seconds=1)), WAIT, id="slow")
    scheduler.add(AtTrigger(T0 + timedelta(seconds=1)), NOOP, id="quick")
    clock.advance(timedelta(seconds=1))
    scheduler.tick()
    slow = blocking.gate("slow")
    assert slow.wait_entered(1)
    assert blocking.gate("quick").wait_entered(1)
    slow.open()
    assert both.wait(10), f"outcomes waited for the recorder's linger (recorded: {recorded})"
    assert sorted(r.status.value for r in scheduler.runs()) == ["succeeded", "succeeded"]
