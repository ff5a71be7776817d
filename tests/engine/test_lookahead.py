"""The look-ahead: a tick records the fires due in the next moments and claims their runs,
and each run starts at its due time, not before (see ``Scheduler(lookahead=...)``).

A FakeClock drives it: the dispatcher's timer compares due times with the fake clock, and
``dispatcher.recheck()`` makes it look again after the test moved time on. Nothing sleeps.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from gnomon import FakeClock, Overlap, RunStatus, Scheduler, python
from gnomon.dispatch import local
from gnomon.errors import InvalidSpec
from gnomon.triggers import AtTrigger, IntervalTrigger
from tests.engine import blocking
from tests.engine.conftest import T0

RECORD = python("tests.engine.blocking:record")
BLOCKING = python("tests.engine.blocking:wait")


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def every(seconds: float, first: float) -> IntervalTrigger:
    return IntervalTrigger(timedelta(seconds=seconds), at(first))


@pytest.fixture
def ahead(make_scheduler: Callable[..., Scheduler]) -> Scheduler:
    return make_scheduler(lookahead=1.0)


def test_a_tick_claims_the_runs_due_within_the_look_ahead_and_starts_them_when_due(
    ahead: Scheduler, clock: FakeClock
) -> None:
    ahead.add(every(10, 10), RECORD, id="job")
    clock.set(at(9.4))
    report = ahead.tick(clock.now())
    assert (report.fires, report.claimed) == (1, 1)
    [run] = ahead.runs("job")
    assert run.status is RunStatus.RUNNING
    assert run.scheduled_for == at(10)
    assert run.started_at == at(10)  # recorded as starting when due, not when claimed
    assert not blocking.gate("job").entered  # claimed, but not started before it is due

    clock.set(at(10))
    ahead.dispatcher.recheck()
    assert ahead.wait_idle(timeout=10)
    [ctx] = blocking.gate("job").entered
    assert ctx.started_at == at(10)
    assert ahead.runs("job")[0].status is RunStatus.SUCCEEDED


def test_the_next_tick_comes_half_a_look_ahead_before_the_next_fire(
    ahead: Scheduler, clock: FakeClock
) -> None:
    ahead.add(every(10, 10), RECORD, id="job")
    clock.set(at(9.4))
    ahead.tick(clock.now())
    # The fire at 20 s is beyond this tick's horizon (10.4 s): the next tick is due at 19.5 s.
    assert ahead.store.next_wakeup(after=at(9.4), until=at(10.4)) == at(19.5)


def test_a_job_whose_overlap_policy_needs_the_fire_moment_is_not_planned_ahead(
    ahead: Scheduler, clock: FakeClock
) -> None:
    ahead.add(every(10, 10), RECORD, id="skip", overlap=Overlap.SKIP)
    clock.set(at(9.4))
    report = ahead.tick(clock.now())
    assert (report.fires, report.claimed) == (0, 0)  # decided at 10 s, when it is due
    assert ahead.store.next_wakeup(after=at(9.4), until=at(10.4)) == at(10)
    clock.set(at(10))
    assert ahead.tick(clock.now()).claimed == 1


def test_a_job_added_inside_the_window_a_tick_looked_at_is_looked_at_again_soon(
    ahead: Scheduler, clock: FakeClock, make_scheduler: Callable[..., Scheduler]
) -> None:
    clock.set(at(9.4))
    ahead.tick(clock.now())
    # Another process adds a job due before this tick's horizon: the tick never saw it.
    make_scheduler().add(at(10), RECORD, id="late")
    # The answer is the last tick itself: "look again now" (the loop ticks in a moment).
    assert ahead.store.next_wakeup(after=at(9.4), until=at(10.4)) == at(9.4)


def test_a_clean_stop_hands_back_the_runs_it_claimed_ahead(
    make_scheduler: Callable[..., Scheduler], clock: FakeClock
) -> None:
    first = make_scheduler(lookahead=1.0, lease=5.0)
    first.add(every(10, 10), RECORD, id="job")
    clock.set(at(9.4))
    assert first.tick(clock.now()).claimed == 1
    first.close()  # returns at once: the claimed run is not due, and is handed back
    assert not blocking.gate("job").entered
    [run] = make_scheduler().runs("job")
    assert (run.status, run.worker, run.due_at) == (RunStatus.PENDING, None, at(10))
    kinds = [e.kind for e in make_scheduler().events(job_id="job")]
    assert kinds[-2:] == ["run.started", "run.released"]

    second = make_scheduler()
    clock.set(at(10))  # on time: no lease to wait for
    second.tick(clock.now())
    assert second.wait_idle(timeout=10)
    assert [r.status for r in second.runs("job")] == [RunStatus.SUCCEEDED]
    assert [c.scheduled_for for c in blocking.gate("job").entered] == [at(10)]


def test_a_run_still_running_at_the_stop_timeout_is_handed_back_started(
    make_scheduler: Callable[..., Scheduler], clock: FakeClock
) -> None:
    first = make_scheduler(stop_timeout=0.05)
    first.add(at(10), BLOCKING, id="slow")
    clock.set(at(10))
    assert first.tick(clock.now()).claimed == 1
    gate = blocking.gate("slow")
    assert gate.wait_entered(1)
    first.close()  # the run is still in its action after the stop timeout
    [run] = make_scheduler().runs("slow")
    assert (run.status, run.worker) == (RunStatus.PENDING, None)
    assert run.error is not None
    assert "stopped before it finished" in run.error
    gate.open()  # the first call returns now; its outcome is refused (no longer held)

    second = make_scheduler()
    second.tick(clock.now())  # started once already: never dropped as a misfire
    assert second.wait_idle(timeout=10)
    assert [r.status for r in second.runs("slow")] == [RunStatus.SUCCEEDED]


def test_a_negative_look_ahead_is_refused(make_scheduler: Callable[..., Scheduler]) -> None:
    with pytest.raises(InvalidSpec, match="lookahead must not be negative"):
        make_scheduler(lookahead=-1)


def test_a_scheduler_restarted_with_the_same_identity_takes_back_its_runs_at_once(
    make_scheduler: Callable[..., Scheduler], clock: FakeClock
) -> None:
    first = make_scheduler(lookahead=1.0, lease=30.0, identity="alpha")
    first.add(every(10, 10), RECORD, id="job")
    clock.set(at(9.4))
    assert first.tick(clock.now()).claimed == 1
    # It dies: its memory is gone (nothing runs there), its identity lock with it.
    first.dispatcher.drain()
    first.tenure.end()
    [held] = make_scheduler().runs("job")
    assert held.status is RunStatus.RUNNING  # the lease would hold it for 30 s

    second = make_scheduler(identity="alpha")
    assert second.tick(clock.now()).claimed == 0  # took it back; not due yet
    assert second.identity == "alpha"
    [run] = second.runs("job")
    assert (run.status, run.worker) == (RunStatus.PENDING, None)
    clock.set(at(10))
    second.tick(clock.now())
    assert second.wait_idle(timeout=10)
    assert [r.status for r in second.runs("job")] == [RunStatus.SUCCEEDED]
    assert [c.scheduled_for for c in blocking.gate("job").entered] == [at(10)]


def test_two_live_schedulers_cannot_hold_one_identity(
    make_scheduler: Callable[..., Scheduler], clock: FakeClock
) -> None:
    from gnomon.errors import ConfigError

    make_scheduler(identity="alpha").tick(clock.now())
    with pytest.raises(ConfigError, match="'alpha' is held by another running scheduler"):
        make_scheduler(identity="alpha").tick(clock.now())


def test_a_window_larger_than_the_dispatcher_takes_ahead_is_claimed_as_room_comes_back(
    ahead: Scheduler, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dispatcher holds at most MAX_AHEAD runs waiting for their due time; the rest of the
    window is claimed once they are handed to workers (the timer says so: on_free)."""
    monkeypatch.setattr(local, "MAX_AHEAD", 3)
    for n in range(10):
        ahead.add(AtTrigger(at(10)), RECORD, id=f"job{n}")
    clock.set(at(9.5))
    assert ahead.tick(clock.now()).claimed == 3  # all it may hold ahead
    woken = threading.Event()
    assert ahead._ahead_full
    ahead._wake = woken  # the loop's wake-up, as run_forever would wait on it
    clock.set(at(10))
    ahead.dispatcher.recheck()  # the timer hands the three over: room ahead again
    assert woken.wait(10)
    for _ in range(10):
        report = ahead.tick(clock.now())
        assert ahead.wait_idle(timeout=10)
        if not report.more and all(blocking.gate(f"job{n}").entered for n in range(10)):
            break
    for n in range(10):
        assert len(blocking.gate(f"job{n}").entered) == 1
        [run] = ahead.runs(f"job{n}")
        assert run.status is RunStatus.SUCCEEDED
