"""Quick runs claimed ahead run in the dispatcher's timer thread, without waking a worker
(``LocalDispatcher._inline_locked``); one that turns out slow is left to that thread, and the
scheduler's loop starts a new timer for the runs due meanwhile (``LocalDispatcher.watch``).

A FakeClock drives the due times (see ``test_lookahead.py``); the dispatcher's thresholds
are real seconds, so the tests that need a run to look long set ``STALL`` to 0 instead of
waiting, and those that need runs to be quick raise ``quickness.QUICK`` to 0.25 s: a first
run on a loaded host can take more than the real 1 ms.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from gnomon import FakeClock, RunStatus, Scheduler, python
from gnomon.dispatch import local, quickness
from gnomon.triggers import IntervalTrigger
from tests.engine import blocking
from tests.engine.conftest import T0
from tests.engine.polling import eventually

MAYBE_WAIT = python("tests.engine.blocking:maybe_wait")


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def every_10s(first: float) -> IntervalTrigger:
    return IntervalTrigger(timedelta(seconds=10), at(first))


@pytest.fixture
def ahead(make_scheduler: Callable[..., Scheduler]) -> Scheduler:
    return make_scheduler(lookahead=1.0)


def dispatcher_of(scheduler: Scheduler) -> local.LocalDispatcher:
    dispatcher = scheduler.dispatcher
    assert isinstance(dispatcher, local.LocalDispatcher)
    return dispatcher


def fire(scheduler: Scheduler, clock: FakeClock, due: float) -> None:
    """Claim the fires due by ``due`` a little ahead, then let the clock reach ``due``."""
    clock.set(at(due - 0.6))
    scheduler.tick(clock.now())
    clock.set(at(due))
    scheduler.dispatcher.recheck()


def all_asleep(scheduler: Scheduler) -> None:
    dispatcher = dispatcher_of(scheduler)
    eventually(lambda: dispatcher._awake == 0, "the workers to go back to sleep")


def test_a_quick_job_runs_in_the_timer_thread_from_its_second_run_on(
    ahead: Scheduler, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(quickness, "QUICK", 0.25)  # every run is quick, even on a busy host
    ahead.add(every_10s(10), MAYBE_WAIT, id="quick")
    gate = blocking.gate("quick")
    for due in (10, 20, 30):
        all_asleep(ahead)
        fire(ahead, clock, due)
        assert gate.wait_entered(due // 10)
        assert ahead.wait_idle(timeout=10)
    first, *later = gate.threads
    assert first.startswith("gnomon-worker-")  # how long it takes is not known yet
    assert later == ["gnomon-timer", "gnomon-timer"]
    assert [r.status for r in ahead.runs("quick")] == [RunStatus.SUCCEEDED] * 3


def test_a_job_whose_last_run_was_not_quick_runs_on_a_worker(
    ahead: Scheduler, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(quickness, "QUICK", 0.0)  # no run is quick
    ahead.add(every_10s(10), MAYBE_WAIT, id="job")
    for due in (10, 20):
        all_asleep(ahead)
        fire(ahead, clock, due)
        assert ahead.wait_idle(timeout=10)
    assert all(name.startswith("gnomon-worker-") for name in blocking.gate("job").threads)


def test_a_quick_job_that_blocks_in_the_timer_does_not_hold_the_next_fires(
    ahead: Scheduler, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run blocks in the timer's thread; the scheduler's loop, at its next wake, starts
    a new timer, which starts the other job's run due meanwhile; the old one ends with its
    run, and every run is recorded once."""
    monkeypatch.setattr(quickness, "QUICK", 0.25)  # every run is quick, even on a busy host
    ahead.add(every_10s(10), MAYBE_WAIT, id="stuck")
    ahead.add(every_10s(10.3), MAYBE_WAIT, id="other")
    stuck, other = blocking.gate("stuck"), blocking.gate("other")

    def both(first: float) -> None:
        """Claim the fires at ``first`` and 0.3 s later, then start the first."""
        all_asleep(ahead)
        fire(ahead, clock, first)

    for first in (10, 20):  # both quick so far; the second time in the timer
        both(first)
        assert stuck.wait_entered(first // 10)
        all_asleep(ahead)
        clock.set(at(first + 0.3))
        ahead.dispatcher.recheck()
        assert ahead.wait_idle(timeout=10)
    assert stuck.threads[-1] == other.threads[-1] == "gnomon-timer"

    stuck.hold = True
    monkeypatch.setattr(local, "STALL", 0.0)  # any run counts as long now
    both(30)  # "stuck" blocks in the timer
    assert stuck.wait_entered(3)
    clock.set(at(30.3))
    ahead.dispatcher.recheck()  # the timer is busy: nobody looks
    assert len(other.entered) == 2
    ahead.tick(clock.now())  # the loop wakes: a new timer takes over
    assert other.wait_entered(3)
    assert stuck.running == 1  # still blocked, in the old timer thread
    stuck.release()
    assert ahead.wait_idle(timeout=10)
    dispatcher = dispatcher_of(ahead)
    eventually(lambda: sum(t.is_alive() for t in dispatcher._timers) == 1, "the old timer to end")
    statuses = [r.status for r in ahead.runs("stuck")] + [r.status for r in ahead.runs("other")]
    assert statuses == [RunStatus.SUCCEEDED] * 6


def test_a_job_that_notifies_on_failure_runs_on_a_worker(
    ahead: Scheduler, clock: FakeClock
) -> None:
    """A failure's notification is a network call: never in the timer's thread."""
    ahead.add(every_10s(10), MAYBE_WAIT, id="noisy", notify_urls=["json://127.0.0.1:9/hook"])
    for due in (10, 20):
        all_asleep(ahead)
        fire(ahead, clock, due)
        assert ahead.wait_idle(timeout=10)
    assert all(name.startswith("gnomon-worker-") for name in blocking.gate("noisy").threads)


def test_a_new_job_of_a_kind_that_has_been_quick_runs_in_the_timer_at_once(
    ahead: Scheduler, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scheduler starting with thousands of jobs: once runs of an action kind have been
    quick (TRUSTED of them in a row), a job of that kind not run here yet starts in the timer
    too, instead of waking a worker for its first run."""
    monkeypatch.setattr(quickness, "TRUSTED", 2)
    monkeypatch.setattr(quickness, "QUICK", 0.25)  # every run is quick, even on a busy host
    for i, due in enumerate((10, 20, 30, 40)):
        ahead.add(at(due), MAYBE_WAIT, id=f"job-{i}")
        all_asleep(ahead)
        fire(ahead, clock, due)
        assert blocking.gate(f"job-{i}").wait_entered(1)
        assert ahead.wait_idle(timeout=10)
    threads = [blocking.gate(f"job-{i}").threads[0] for i in range(4)]
    assert [name.startswith("gnomon-worker-") for name in threads] == [True, True, False, False]
    assert threads[2:] == ["gnomon-timer", "gnomon-timer"]


def test_a_new_job_that_turns_out_slow_in_the_timer_costs_its_kind_that_trust(
    ahead: Scheduler, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An untried job's run blocks in the timer: while it does, the next untried job of its
    kind runs on a worker (one such try at a time), and once it has ended slow, untried jobs
    of that kind go to the workers again until its runs have been quick long enough."""
    monkeypatch.setattr(quickness, "TRUSTED", 1)
    monkeypatch.setattr(quickness, "QUICK", 0.25)  # every run is quick, even on a busy host
    ahead.add(at(10), MAYBE_WAIT, id="quick")
    all_asleep(ahead)
    fire(ahead, clock, 10)  # on a worker (nothing known yet): the kind is trusted after it
    assert ahead.wait_idle(timeout=10)

    ahead.add(at(20), MAYBE_WAIT, id="slow")
    ahead.add(at(20.3), MAYBE_WAIT, id="next")
    slow, following = blocking.gate("slow"), blocking.gate("next")
    slow.hold = True
    monkeypatch.setattr(local, "STALL", 0.0)  # any run counts as long now
    all_asleep(ahead)
    fire(ahead, clock, 20)
    assert slow.wait_entered(1)
    assert slow.threads == ["gnomon-timer"]
    clock.set(at(20.3))
    ahead.dispatcher.recheck()  # the timer is busy: nobody looks
    assert not following.entered
    ahead.tick(clock.now())  # the loop wakes: a new timer takes over
    assert following.wait_entered(1)
    assert following.threads[0].startswith("gnomon-worker-")  # the kind is being tried
    monkeypatch.setattr(quickness, "QUICK", 0.0)  # "slow" was held for as long as it took
    slow.release()
    assert ahead.wait_idle(timeout=10)

    ahead.add(at(30), MAYBE_WAIT, id="after")
    all_asleep(ahead)
    fire(ahead, clock, 30)
    assert blocking.gate("after").wait_entered(1)
    assert ahead.wait_idle(timeout=10)
    assert blocking.gate("after").threads[0].startswith("gnomon-worker-")  # trust was lost
    statuses = [ahead.runs(j)[0].status for j in ("quick", "slow", "next", "after")]
    assert statuses == [RunStatus.SUCCEEDED] * 4
