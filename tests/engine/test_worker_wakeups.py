"""Only as many local workers are awake as the runs need (gnomon.dispatch.local, issue 15).

Quick runs hold the GIL: eight threads taking them from one queue spent more time handing the
GIL and the locks around than running them. One worker takes quick runs one after the other;
another wakes when runs wait and none finished for ``STALL`` seconds (the awake ones are
blocked), so blocking runs still run side by side, as many as there are workers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import pytest

from gnomon import FakeClock, Scheduler, python
from gnomon.dispatch import local
from gnomon.settings import Settings
from gnomon.triggers import AtTrigger
from tests.engine import blocking
from tests.engine.conftest import T0

QUICK = python("tests.engine.blocking:record_thread")
WAIT = python("tests.engine.blocking:wait")
DUE = T0 + timedelta(seconds=1)


def test_quick_runs_are_taken_by_one_worker(
    sqlite_scheduler: Callable[..., Scheduler], clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(local, "STALL", 60.0)  # no stall can wake another during the test
    blocking.threads.clear()
    scheduler = sqlite_scheduler(workers=8, settings=Settings(workers=8))
    for i in range(300):
        scheduler.add(AtTrigger(DUE), QUICK, id=f"quick-{i}")
    clock.advance(timedelta(seconds=1))
    for _ in range(300):  # each tick claims what the free workers (and a short queue) take
        scheduler.tick()
        assert scheduler.dispatcher.wait_idle(20)
        if len(blocking.threads) == 300:
            break
    assert len(blocking.threads) == 300
    assert len(Counter(blocking.threads)) == 1, Counter(blocking.threads)


def test_blocked_runs_wake_every_worker(
    sqlite_scheduler: Callable[..., Scheduler], clock: FakeClock
) -> None:
    """Four runs that block until all four have started: with one worker awake they would
    wait for ever; the stall check wakes the others, doubling, up to the four workers."""
    scheduler = sqlite_scheduler(workers=4)
    for i in range(4):
        scheduler.add(AtTrigger(DUE), WAIT, id=f"slow-{i}")
    clock.advance(timedelta(seconds=1))
    scheduler.tick()
    gates = [blocking.gate(f"slow-{i}") for i in range(4)]
    assert all(gate.wait_entered(1) for gate in gates), [len(g.entered) for g in gates]
    for gate in gates:
        gate.open()
    assert scheduler.dispatcher.wait_idle(20)
    assert [r.status.value for r in scheduler.runs()] == ["succeeded"] * 4


def test_a_worker_blocked_by_a_long_run_does_not_hold_up_quick_ones(
    sqlite_scheduler: Callable[..., Scheduler], clock: FakeClock
) -> None:
    blocking.threads.clear()
    scheduler = sqlite_scheduler(workers=2)
    scheduler.add(AtTrigger(DUE), WAIT, id="slow")
    for i in range(20):
        scheduler.add(AtTrigger(DUE + timedelta(microseconds=i + 1)), QUICK, id=f"quick-{i}")
    clock.advance(timedelta(seconds=2))
    scheduler.tick()
    slow = blocking.gate("slow")
    assert slow.wait_entered(1)
    pool = scheduler.dispatcher
    for _ in range(2_000):  # the other worker woke and runs them while slow is held
        if len(blocking.threads) == 20:
            break
        scheduler.tick()
        pool.recorder.hurry()
        with pool._lock:  # what the stall check reads; a condition wait, not a sleep
            pool._idle.wait(0.01)
    assert len(blocking.threads) == 20
    assert slow.running == 1
    slow.open()
    assert scheduler.dispatcher.wait_idle(20)
