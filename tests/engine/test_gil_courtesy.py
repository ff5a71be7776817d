"""The local dispatcher says when its threads want the GIL (gnomon.gil): the timer, the
moment it wakes next; once a worker has taken the runs handed over, nobody until then.
The store's long loops (a step, a batch of outcomes) let them run at that moment."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from gnomon import FakeClock, Scheduler, gil, python
from gnomon.triggers import IntervalTrigger
from tests.engine.conftest import T0
from tests.engine.polling import eventually

RECORD = python("tests.engine.blocking:record")


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_the_timer_wants_the_gil_when_a_run_claimed_ahead_falls_due(
    make_scheduler: Callable[..., Scheduler], clock: FakeClock
) -> None:
    gil.want(gil.NEVER)
    ahead = make_scheduler(lookahead=1.0)
    ahead.add(IntervalTrigger(timedelta(seconds=10), at(10)), RECORD, id="job")
    clock.set(at(9.4))
    before = time.monotonic()
    assert ahead.tick(clock.now()).claimed == 1  # due in 0.6 s (on the fake clock)
    ahead.dispatcher.recheck()
    eventually(lambda: gil._wanted < gil.NEVER, "the timer to say when it wakes")
    assert before + 0.5 <= gil._wanted <= time.monotonic() + 0.6

    clock.set(at(10))
    ahead.dispatcher.recheck()
    assert ahead.wait_idle(timeout=10)
    # The run was taken by a worker; nothing more is claimed ahead: nobody wants it.
    eventually(lambda: gil._wanted == gil.NEVER, "nobody to want the GIL any more")


def test_a_closed_scheduler_leaves_nobody_wanting_the_gil(
    make_scheduler: Callable[..., Scheduler], clock: FakeClock
) -> None:
    """A moment left behind would make every later step in the process sleep at each job."""
    ahead = make_scheduler(lookahead=1.0)
    ahead.add(IntervalTrigger(timedelta(seconds=10), at(10)), RECORD, id="job")
    clock.set(at(9.4))
    assert ahead.tick(clock.now()).claimed == 1
    ahead.dispatcher.recheck()
    eventually(lambda: gil._wanted < gil.NEVER, "the timer to say when it wakes")
    gil.want(0.0)  # as while runs handed over wait for a worker
    ahead.close()
    assert gil._wanted == gil.NEVER


@pytest.fixture(autouse=True)
def _nobody_wants_it_afterwards() -> None:
    gil.want(gil.NEVER)
