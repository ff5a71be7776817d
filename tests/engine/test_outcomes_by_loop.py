"""Outcomes recorded by the scheduler's loop (issue 15): with a journal, an outcome finished
while the loop will wake within ``LOOP_WAIT`` waits for it, and the recorder's thread sleeps
on (each wake-up of it cost about as much CPU as a small transaction). Whatever would wait
longer goes to the recorder's thread, as before; nothing is lost when the database is away.

The recorder's thread is never woken in these tests unless something hands it work, so an
outcome recorded in the test's own thread proves that it waited for the "loop".
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path

import pytest

from gnomon import FakeClock, RunStatus, Scheduler, python
from gnomon.dispatch import OutcomeRecorder
from gnomon.dispatch.journal import OutcomeJournal
from gnomon.dispatch.recorder import LOOP_WAIT
from gnomon.errors import StoreUnavailable
from gnomon.store import FinishedRun, SqlStore
from gnomon.triggers import AtTrigger

RECORD = python("tests.engine.blocking:record")
WAIT = 10.0  # seconds a test waits for the recorder's thread, at most (it never times out)


class WatchedStore(SqlStore):
    """A real SQLite store that notes which thread recorded which outcomes, and can be
    away for a number of calls."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.recorded: list[tuple[str, list[int]]] = []
        self.away = 0  # the next calls of finish_runs that fail as if the database were away
        self.changed = threading.Condition()

    def finish_runs(self, finished: Sequence[FinishedRun]) -> list[bool]:
        if self.away:
            self.away -= 1
            raise StoreUnavailable("database away (test)")
        result = super().finish_runs(finished)
        with self.changed:
            self.recorded.append(
                (threading.current_thread().name, [item.run_id for item in finished])
            )
            self.changed.notify_all()
        return result

    def wait_recorded(self, count: int) -> list[tuple[str, list[int]]]:
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.recorded) >= count, WAIT)
            return list(self.recorded)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[WatchedStore]:
    store = WatchedStore(f"sqlite:///{tmp_path / 'gnomon.db'}")
    yield store
    store.close()


class Worker:
    """A recorder and its owner's lock, and what a worker does with an outcome."""

    def __init__(self, store: SqlStore, clock: FakeClock, journal: OutcomeJournal | None):
        self.clock, self.idle = clock, threading.Condition()
        self.recorder = OutcomeRecorder(store, clock, idle=self.idle, workers=1, journal=journal)

    def put(self, run_id: int) -> None:
        """Put an outcome, then count it under the owner's lock (LocalDispatcher._work)."""
        self.recorder.put(
            FinishedRun(
                run_id=run_id, worker="w", status=RunStatus.SUCCEEDED, finished_at=self.clock.now()
            )
        )
        with self.idle:
            self.recorder.admit_locked()

    def waits_for_a_tick(self) -> bool:
        with self.idle:
            return self.recorder.loop_ticks_within_locked(LOOP_WAIT)


def _journal(tmp_path: Path) -> OutcomeJournal:
    journal = OutcomeJournal(tmp_path / "journal", "test")
    journal.start()
    return journal


@pytest.fixture
def worker(store: WatchedStore, clock: FakeClock, tmp_path: Path) -> Iterator[Worker]:
    """A recorder with a journal: outcomes may wait for the loop."""
    made = Worker(store, clock, _journal(tmp_path))
    yield made
    made.recorder.close(5)


def test_an_outcome_waits_for_a_loop_that_wakes_soon_and_the_loop_records_it(
    store: WatchedStore, worker: Worker
) -> None:
    recorder = worker.recorder
    recorder.loop_sleeps(LOOP_WAIT / 2)
    worker.put(1)
    worker.put(2)
    assert not worker.waits_for_a_tick()  # (only looks: the last run's worker would hurry)
    recorder.loop_sleeps(LOOP_WAIT / 2, tick=True)
    assert worker.waits_for_a_tick()  # (it ticks then: the last run's worker leaves it)
    recorder.record_waiting()  # the loop wakes: this thread records them
    assert store.recorded == [(threading.current_thread().name, [1, 2])]
    assert recorder.unrecorded == 0
    recorder.record_waiting()  # nothing left: no transaction
    assert len(store.recorded) == 1


def test_an_outcome_goes_to_the_recorder_when_the_loop_then_sleeps_longer(
    store: WatchedStore, worker: Worker
) -> None:
    recorder = worker.recorder
    recorder.loop_sleeps(LOOP_WAIT / 2)
    worker.put(1)
    recorder.loop_sleeps(LOOP_WAIT * 30)  # it would wait too long: handed over now
    assert store.wait_recorded(1) == [("gnomon-recorder", [1])]


@pytest.mark.parametrize("sleep", [0.8, 0.3])
def test_when_nothing_more_is_coming_an_outcome_waits_for_the_loop_no_longer_than_a_linger(
    store: WatchedStore, worker: Worker, sleep: float
) -> None:
    """The last run in flight ended and nothing is due soon (``quiet``): its outcome waits
    for the loop only if that is no longer than the recorder's own linger (0.5 s)."""
    recorder = worker.recorder
    recorder.loop_sleeps(0.1)
    worker.put(1)
    recorder.loop_sleeps(sleep, quiet=True)
    if sleep > recorder.linger:
        assert store.wait_recorded(1) == [("gnomon-recorder", [1])]
    else:
        recorder.record_waiting()
        assert store.recorded == [(threading.current_thread().name, [1])]


def test_a_loop_that_ends_hands_what_waits_for_it_over(store: WatchedStore, worker: Worker) -> None:
    recorder = worker.recorder
    recorder.loop_sleeps(LOOP_WAIT / 2)
    worker.put(1)
    recorder.loop_sleeps(math.inf)
    assert store.wait_recorded(1) == [("gnomon-recorder", [1])]
    worker.put(2)  # no loop any more: the recorder records it
    assert store.wait_recorded(2)[1] == ("gnomon-recorder", [2])


@pytest.mark.parametrize("journal", [False, True], ids=["no-journal", "no-loop"])
def test_without_a_journal_or_a_loop_the_recorder_records_every_outcome(
    store: WatchedStore, clock: FakeClock, tmp_path: Path, journal: bool
) -> None:
    """Without a journal an outcome waiting is a run a crash would run again, so none waits
    for the loop; without a loop (``loop_sleeps`` never called) none may."""
    worker = Worker(store, clock, _journal(tmp_path) if journal else None)
    try:
        if not journal:
            worker.recorder.loop_sleeps(LOOP_WAIT / 2)
        worker.put(1)
        assert store.wait_recorded(1) == [("gnomon-recorder", [1])]
    finally:
        worker.recorder.close(5)


def test_outcomes_the_loop_cannot_record_go_back_to_the_recorder(
    store: WatchedStore, worker: Worker
) -> None:
    """The database is away when the loop wakes: the loop does not wait for it (it has a
    backoff of its own); the recorder's thread keeps the outcomes and records them once the
    database is back."""
    recorder = worker.recorder
    recorder.loop_sleeps(LOOP_WAIT / 2)
    worker.put(1)
    store.away = 2  # the loop's attempt, and the recorder's first
    recorder.record_waiting()
    assert store.wait_recorded(1) == [("gnomon-recorder", [1])]
    assert store.away == 0
    assert recorder.unrecorded == 0


def test_a_close_records_what_waits_for_the_loop(store: WatchedStore, worker: Worker) -> None:
    worker.recorder.loop_sleeps(LOOP_WAIT / 2)
    worker.put(1)
    worker.recorder.close(5)
    assert store.recorded == [("gnomon-recorder", [1])]


def test_the_scheduler_loop_says_how_long_it_sleeps_and_when_it_ends(
    tmp_path: Path, clock: FakeClock
) -> None:
    """The loop tells its dispatcher before each sleep (its optional ``sleeping``), and
    ``inf`` when it ends, so nothing waits for a loop that is gone."""
    slept: list[float] = []
    asked = threading.Event()
    with Scheduler(f"sqlite:///{tmp_path / 'g.db'}", clock=clock, poll=0.5) as scheduler:
        dispatcher = scheduler.dispatcher

        def sleeping(seconds: float, *, tick: bool) -> None:
            slept.append(seconds)
            asked.set()

        dispatcher.sleeping = sleeping  # type: ignore[attr-defined]
        thread = threading.Thread(target=scheduler.run_forever, daemon=True)
        thread.start()
        assert asked.wait(WAIT)
        scheduler.stop(wait=False)  # the loop ends; the dispatcher lives on until the close
        thread.join(WAIT)
    assert 0 < slept[0] <= 0.5  # the poll: no job is due
    assert slept[-1] == math.inf


def test_the_last_run_s_outcome_does_not_wait_for_a_loop_that_only_looks(
    tmp_path: Path, clock: FakeClock
) -> None:
    """The last run in flight ends with nothing due soon while the loop sleeps only to look
    (no tick is due): its worker has it recorded at once, as when there is no loop (the
    end of a burst is recorded then, not up to a second later)."""
    finished = threading.Event()
    with Scheduler(f"sqlite:///{tmp_path / 'g.db'}", clock=clock) as scheduler:
        scheduler.on_finished(lambda item: finished.set())
        dispatcher = scheduler.dispatcher
        assert scheduler.tenure.journal is not None  # (outcomes could wait for the loop)
        dispatcher.sleeping(LOOP_WAIT / 2, tick=False)  # type: ignore[attr-defined]
        scheduler.add(AtTrigger(clock.now() + timedelta(seconds=1)), RECORD, id="lone")
        clock.advance(timedelta(seconds=1))
        scheduler.tick()
        assert finished.wait(WAIT), "the last run's outcome waited for the loop"
        assert [run.status for run in scheduler.runs()] == [RunStatus.SUCCEEDED]
