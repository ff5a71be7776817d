"""Misfire, overlap, pause/resume, remove, trigger-now and one-shot policies, end to end.

A real ``Scheduler`` on SQLite with a FakeClock: tests move time, call ``tick()``, and wait for
runs with ``wait_idle`` or on a gate (``tests.engine.blocking``). Nothing sleeps.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from gnomon import FakeClock, JobState, Misfire, Overlap, RunReason, RunStatus, Scheduler, python
from gnomon.definitions import define_job
from gnomon.errors import InvalidTrigger
from gnomon.models import Run
from gnomon.planning import planner_at
from tests.engine import blocking
from tests.engine.conftest import T0

RECORD = python("tests.engine.blocking:record")
WAIT = python("tests.engine.blocking:wait")
TEN_SECONDS = timedelta(seconds=10)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def step(scheduler: Scheduler, clock: FakeClock, seconds: float, *, idle: bool = True) -> None:
    """Move time on, tick, and (unless runs are meant to stay blocked) wait for the runs,
    ticking again while the scheduler reports work left over (more runs than workers)."""
    clock.advance(seconds)
    report = scheduler.tick(clock.now())
    while idle:
        assert scheduler.wait_idle(timeout=10)
        if not report.more:
            break
        report = scheduler.tick(clock.now())


def history(scheduler: Scheduler, job_id: str) -> list[Run]:
    """Every run of a job, oldest first."""
    return list(reversed(scheduler.store.list_runs(job_id, limit=10_000)))


def fired(scheduler: Scheduler, job_id: str) -> list[tuple[float, str]]:
    """(seconds after T0, status) of every run of a job, oldest first."""
    return [
        ((r.scheduled_for - T0).total_seconds(), r.status.value) for r in history(scheduler, job_id)
    ]


# -- misfire -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("misfire", "ran"),
    [
        pytest.param(Misfire.SKIP, [], id="skip"),
        pytest.param(Misfire.LATEST, [600], id="latest"),
        pytest.param(Misfire.ALL, [560, 570, 580, 590, 600], id="all-cap-5"),
    ],
)
def test_misfire_after_the_clock_jumps_ten_minutes(
    scheduler: Scheduler, clock: FakeClock, misfire: Misfire, ran: list[int]
) -> None:
    """An every-10-s job misses 60 fires (10 … 600 s); the policy picks which run."""
    scheduler.add(TEN_SECONDS, RECORD, id="job", misfire=misfire, grace=2, catchup_cap=5)
    step(scheduler, clock, 605)
    statuses = Counter(status for _, status in fired(scheduler, "job"))
    assert sum(statuses.values()) == 60  # every fire recorded, none dropped
    assert statuses["succeeded"] == len(ran)
    assert statuses["missed"] == 60 - len(ran)
    assert [s for s, status in fired(scheduler, "job") if status == "succeeded"] == ran
    assert len(blocking.gate("job").entered) == len(ran)
    missed_events = [e for e in scheduler.events(limit=1000) if e.kind == "run.missed"]
    assert len(missed_events) == 60 - len(ran)
    assert scheduler.get("job").next_fire_at == at(610)


@pytest.mark.parametrize("misfire", list(Misfire), ids=lambda m: m.value)
def test_a_fire_within_the_grace_period_runs_under_every_misfire_policy(
    scheduler: Scheduler, clock: FakeClock, misfire: Misfire
) -> None:
    scheduler.add(TEN_SECONDS, RECORD, id="job", misfire=misfire, grace=2)
    step(scheduler, clock, 12)  # the fire at 10 s is 2 s late: still on time
    assert fired(scheduler, "job") == [(10, "succeeded")]


def test_a_caught_up_job_goes_on_firing_on_schedule(scheduler: Scheduler, clock: FakeClock) -> None:
    scheduler.add(TEN_SECONDS, RECORD, id="job", misfire=Misfire.LATEST, grace=1)
    step(scheduler, clock, 35)  # 10, 20 missed; 30 late → latest runs
    step(scheduler, clock, 5)  # 40 on time
    assert fired(scheduler, "job") == [
        (10, "missed"),
        (20, "missed"),
        (30, "succeeded"),
        (40, "succeeded"),
    ]


def test_a_fire_recorded_before_an_outage_obeys_misfire_skip_after_it(
    scheduler: Scheduler, clock: FakeClock
) -> None:
    scheduler.add(TEN_SECONDS, RECORD, id="job", misfire=Misfire.SKIP, grace=2)
    clock.advance(10)
    now = clock.now()

    scheduler.store.advance_jobs(now, planner_at(now))  # recorded, then the process died
    step(scheduler, clock, 600)
    assert fired(scheduler, "job")[0] == (10, "missed")


# -- overlap -------------------------------------------------------------------------------


def test_overlap_allow_runs_side_by_side(scheduler: Scheduler, clock: FakeClock) -> None:
    scheduler.add(TEN_SECONDS, WAIT, id="job", overlap=Overlap.ALLOW)
    gate = blocking.gate("job")
    step(scheduler, clock, 10, idle=False)
    assert gate.wait_entered(1)
    step(scheduler, clock, 10, idle=False)
    assert gate.wait_entered(2)
    assert gate.running == 2
    gate.open()
    assert scheduler.wait_idle(timeout=10)
    assert fired(scheduler, "job") == [(10, "succeeded"), (20, "succeeded")]


def test_overlap_skip_records_the_fire_as_skipped(scheduler: Scheduler, clock: FakeClock) -> None:
    scheduler.add(TEN_SECONDS, WAIT, id="job", overlap=Overlap.SKIP)
    gate = blocking.gate("job")
    step(scheduler, clock, 10, idle=False)
    assert gate.wait_entered(1)
    step(scheduler, clock, 10, idle=False)  # fire 20 meets the unfinished run
    gate.open()
    assert scheduler.wait_idle(timeout=10)
    step(scheduler, clock, 10)  # fire 30: nothing unfinished any more
    assert fired(scheduler, "job") == [(10, "succeeded"), (20, "skipped"), (30, "succeeded")]
    assert len(gate.entered) == 2
    [skipped] = [r for r in history(scheduler, "job") if r.status is RunStatus.SKIPPED]
    assert skipped.error is not None
    assert "overlap" in skipped.error


def test_overlap_queue_runs_one_at_a_time(scheduler: Scheduler, clock: FakeClock) -> None:
    scheduler.add(TEN_SECONDS, WAIT, id="job", overlap=Overlap.QUEUE)
    gate = blocking.gate("job")
    step(scheduler, clock, 10, idle=False)
    assert gate.wait_entered(1)
    step(scheduler, clock, 10, idle=False)
    step(scheduler, clock, 10, idle=False)
    assert fired(scheduler, "job") == [(10, "running"), (20, "pending"), (30, "pending")]
    for started in (2, 3):
        gate.release()
        assert scheduler.wait_idle(timeout=10)
        scheduler.tick(clock.now())
        assert gate.wait_entered(started)
    gate.release()
    assert scheduler.wait_idle(timeout=10)
    assert fired(scheduler, "job") == [(10, "succeeded"), (20, "succeeded"), (30, "succeeded")]
    assert gate.most_running == 1
    runs = history(scheduler, "job")
    for earlier, later in itertools.pairwise(runs):
        assert earlier.finished_at is not None
        assert later.started_at is not None
        assert later.started_at >= earlier.finished_at


def test_overlap_replace_cancels_the_running_run(
    make_scheduler: Callable[..., Scheduler], clock: FakeClock
) -> None:
    scheduler = make_scheduler(lease=3)  # heartbeat (which delivers cancels) every 1 s
    scheduler.add(TEN_SECONDS, WAIT, id="job", overlap=Overlap.REPLACE)
    gate = blocking.gate("job")
    step(scheduler, clock, 10, idle=False)
    assert gate.wait_entered(1)
    step(scheduler, clock, 10, idle=False)  # fire 20 replaces the run of fire 10
    assert gate.wait_entered(2)
    step(scheduler, clock, 1, idle=False)  # the next heartbeat tells the old run to stop
    first, second = gate.entered
    assert first.cancelled.is_set()
    assert not second.cancelled.is_set()
    gate.release_run(second)  # the newer run finishes normally
    assert scheduler.wait_idle(timeout=10)
    assert fired(scheduler, "job") == [(10, "cancelled"), (20, "succeeded")]


def test_overlap_replace_cancels_a_pending_older_fire(
    scheduler: Scheduler, clock: FakeClock
) -> None:
    """Several fires due at once: only the newest runs, the others are recorded cancelled."""
    scheduler.add(TEN_SECONDS, RECORD, id="job", overlap=Overlap.REPLACE, grace=60)
    step(scheduler, clock, 30)
    assert fired(scheduler, "job") == [(10, "cancelled"), (20, "cancelled"), (30, "succeeded")]


# -- pause, resume, remove, trigger now, one-shot ------------------------------------------


def test_pause_and_resume_does_not_catch_up_the_pause(
    scheduler: Scheduler, clock: FakeClock
) -> None:
    scheduler.add(TEN_SECONDS, RECORD, id="job", misfire=Misfire.ALL, grace=3600)
    step(scheduler, clock, 10)
    paused = scheduler.pause("job")
    assert (paused.state, paused.next_fire_at) == (JobState.PAUSED, None)
    step(scheduler, clock, 60)  # six fires fall in the pause
    resumed = scheduler.resume("job")
    assert (resumed.state, resumed.next_fire_at) == (JobState.ACTIVE, at(80))
    scheduler.tick(clock.now())
    step(scheduler, clock, 10)
    # The six fires of the pause (20 … 70 s) are never run, and recorded as one summary.
    assert fired(scheduler, "job") == [(10, "succeeded"), (20, "missed"), (80, "succeeded")]
    summary = history(scheduler, "job")[1]
    assert summary.result == {
        "fires": 6,
        "first": "2026-01-01T00:00:20Z",
        "last": "2026-01-01T00:01:10Z",
    }
    assert summary.error == (
        "missed: the job was paused: 6 fires, 2026-01-01T00:00:20Z to 2026-01-01T00:01:10Z, "
        "none run"
    )
    events = scheduler.events(job_id="job", limit=1000)
    [missed] = [e for e in events if e.kind == "run.missed"]
    assert missed.data["fires"] == 6
    [resumed] = [e for e in events if e.kind == "job.resumed"]
    assert resumed.data == {"missed": 6}
    assert "job.paused" in [e.kind for e in events]


def test_a_long_pause_of_a_frequent_job_is_one_row_not_one_per_fire(
    scheduler: Scheduler, clock: FakeClock
) -> None:
    """A week's pause of an every-minute job: 10,080 fires, one row and one event."""
    scheduler.add(timedelta(minutes=1), RECORD, id="job")
    scheduler.pause("job")
    clock.advance(timedelta(days=7))
    scheduler.resume("job")
    [summary] = history(scheduler, "job")
    assert (summary.status, summary.result["fires"]) == (RunStatus.MISSED, 7 * 24 * 60)
    assert summary.result["last"] == "2026-01-08T00:00:00Z"
    assert [e.kind for e in scheduler.events(job_id="job", limit=100_000)].count("run.missed") == 1


def test_a_one_shot_whose_time_passes_during_a_pause_is_recorded_as_missed(
    scheduler: Scheduler, clock: FakeClock
) -> None:
    scheduler.add(T0 + timedelta(seconds=30), RECORD, id="once")
    scheduler.pause("once")
    step(scheduler, clock, 60)
    assert scheduler.resume("once").state is JobState.DONE
    assert fired(scheduler, "once") == [(30, "missed")]


def test_pause_and_resume_are_idempotent(scheduler: Scheduler) -> None:
    scheduler.add(TEN_SECONDS, RECORD, id="job")
    assert scheduler.pause("job") == scheduler.pause("job")
    assert scheduler.resume("job") == scheduler.resume("job")


def test_a_paused_jobs_pending_run_waits_for_resume(scheduler: Scheduler, clock: FakeClock) -> None:
    scheduler.add(timedelta(hours=1), RECORD, id="job")
    scheduler.trigger("job")
    scheduler.pause("job")
    step(scheduler, clock, 5)
    assert fired(scheduler, "job") == [(0, "pending")]
    scheduler.resume("job")
    step(scheduler, clock, 1)
    assert fired(scheduler, "job") == [(0, "succeeded")]


def test_remove_cancels_pending_runs_and_keeps_history(
    scheduler: Scheduler, clock: FakeClock
) -> None:
    scheduler.add(TEN_SECONDS, WAIT, id="job", overlap=Overlap.QUEUE)
    gate = blocking.gate("job")
    step(scheduler, clock, 10, idle=False)
    assert gate.wait_entered(1)
    step(scheduler, clock, 10, idle=False)  # fire 20 waits behind the running one
    scheduler.remove("job")
    gate.open()
    assert scheduler.wait_idle(timeout=10)
    step(scheduler, clock, 30)
    assert fired(scheduler, "job") == [(10, "succeeded"), (20, "cancelled")]
    assert len(gate.entered) == 1
    assert scheduler.list() == []
    assert [e.kind for e in scheduler.events(job_id="job", limit=100)][-2:] == [
        "job.removed",
        "run.succeeded",
    ]


def test_trigger_now_records_a_manual_run(scheduler: Scheduler, clock: FakeClock) -> None:
    scheduler.add(timedelta(hours=1), RECORD, id="job")
    run = scheduler.trigger("job")
    assert (run.reason, run.status, run.scheduled_for) == (RunReason.MANUAL, RunStatus.PENDING, T0)
    step(scheduler, clock, 0)
    [done] = scheduler.runs("job")
    assert (done.id, done.reason, done.status) == (run.id, RunReason.MANUAL, RunStatus.SUCCEEDED)
    assert scheduler.get("job").next_fire_at == at(3600)  # the schedule is unchanged


def test_trigger_now_twice_at_one_instant_runs_twice(
    scheduler: Scheduler, clock: FakeClock
) -> None:
    scheduler.add(timedelta(hours=1), RECORD, id="job")
    first, second = scheduler.trigger("job"), scheduler.trigger("job")
    assert first.id != second.id
    step(scheduler, clock, 0)
    assert [r.status for r in scheduler.runs("job")] == [RunStatus.SUCCEEDED] * 2
    assert len(blocking.gate("job").entered) == 2


def test_a_one_shot_fires_once_and_is_done(scheduler: Scheduler, clock: FakeClock) -> None:
    scheduler.add(T0 + timedelta(seconds=30), RECORD, id="once")
    step(scheduler, clock, 29)
    assert fired(scheduler, "once") == []
    step(scheduler, clock, 1)
    job = scheduler.get("once")
    assert (job.state, job.next_fire_at) == (JobState.DONE, None)
    step(scheduler, clock, 3600)
    assert fired(scheduler, "once") == [(30, "succeeded")]


def test_run_context_carries_the_fire(scheduler: Scheduler, clock: FakeClock) -> None:
    scheduler.add(TEN_SECONDS, RECORD, id="job")
    step(scheduler, clock, 10)
    [ctx] = blocking.gate("job").entered
    [run] = scheduler.runs("job")
    assert (ctx.job_id, ctx.run_id, ctx.scheduled_for, ctx.attempt) == ("job", run.id, at(10), 1)


def test_a_job_whose_trigger_raises_does_not_stop_the_others(
    scheduler: Scheduler, clock: FakeClock
) -> None:
    # Defining such a job is refused (its second fire cannot be computed), so it is stored
    # as an older version, or a trigger that breaks later, would have left it.
    broken = blocking.BrokenTrigger(T0 + TEN_SECONDS)
    with pytest.raises(InvalidTrigger, match="trigger bug"):
        scheduler.add(broken, RECORD, id="broken")
    job = define_job(TEN_SECONDS, RECORD, now=clock.now(), id="broken")
    scheduler.add_many([replace(job, trigger=broken, next_fire_at=T0 + TEN_SECONDS)])
    scheduler.add(TEN_SECONDS, RECORD, id="good")
    for _ in range(3):
        step(scheduler, clock, 10)
    assert fired(scheduler, "good") == [(10, "succeeded"), (20, "succeeded"), (30, "succeeded")]
    assert fired(scheduler, "broken") == []  # its one fire could not be planned: it is paused
    assert scheduler.get("broken").state is JobState.PAUSED
    [event] = [e for e in scheduler.events(job_id="broken") if e.kind == "job.paused"]
    assert "trigger bug" in event.data["error"]


# -- replicas and clock jumps --------------------------------------------------------------


def test_two_replicas_on_one_database_run_each_fire_once(
    make_scheduler: Callable[..., Scheduler], clock: FakeClock
) -> None:
    replicas = [make_scheduler(worker_id="A"), make_scheduler(worker_id="B")]
    for n in range(5):
        replicas[0].add(TEN_SECONDS, RECORD, id=f"job{n}", overlap=Overlap.ALLOW)
    for second in range(60):
        clock.advance(1)
        for replica in replicas if second % 2 else reversed(replicas):
            replica.tick(clock.now())
    for replica in replicas:
        assert replica.wait_idle(timeout=10)
        replica.tick(clock.now())
        assert replica.wait_idle(timeout=10)
    for n in range(5):
        assert fired(replicas[0], f"job{n}") == [(s, "succeeded") for s in range(10, 61, 10)]
        run_ids = [ctx.run_id for ctx in blocking.gate(f"job{n}").entered]
        assert len(run_ids) == len(set(run_ids)) == 6
    workers = {r.worker for n in range(5) for r in history(replicas[0], f"job{n}")}
    assert workers == {"A", "B"}


def test_a_clock_going_back_fires_nothing_twice(scheduler: Scheduler, clock: FakeClock) -> None:
    scheduler.add(TEN_SECONDS, RECORD, id="job")
    step(scheduler, clock, 30)
    clock.set(T0 + timedelta(seconds=5))  # back 25 s (NTP step, VM restore)
    step(scheduler, clock, 0)
    step(scheduler, clock, 30)  # 35 s: the clock is past 30 again
    step(scheduler, clock, 5)  # 40 s
    assert fired(scheduler, "job") == [(s, "succeeded") for s in (10, 20, 30, 40)]


# -- jitter --------------------------------------------------------------------------------


def test_jitter_delays_a_run_but_never_past_the_next_fire(
    scheduler: Scheduler, clock: FakeClock
) -> None:
    scheduler.add(TEN_SECONDS, RECORD, id="job", jitter=3600)
    for _ in range(20):
        step(scheduler, clock, 10)  # runs whose jittered due time has come start
    pending = history(scheduler, "job")
    assert len(pending) == 20
    for run in pending:
        assert run.scheduled_for <= run.due_at < run.scheduled_for + timedelta(seconds=5)
    assert len({r.due_at - r.scheduled_for for r in pending}) > 1
    step(scheduler, clock, 5)  # every due time has passed
    assert {r.status for r in history(scheduler, "job")} == {RunStatus.SUCCEEDED}


def test_backfill_runs_a_fire_the_pause_swallowed_but_never_one_that_ran(
    scheduler: Scheduler, clock: FakeClock
) -> None:
    from gnomon.errors import Conflict
    from gnomon.models import RunReason

    scheduler.add(TEN_SECONDS, RECORD, id="job")
    step(scheduler, clock, 10)
    scheduler.pause("job")
    step(scheduler, clock, 20)
    scheduler.resume("job")  # the fire at 20 s is recorded missed
    now = clock.now()
    backfilled = scheduler.store.add_run("job", at(20), now, RunReason.BACKFILL)
    assert (backfilled.attempt, backfilled.reason) == (2, RunReason.BACKFILL)
    with pytest.raises(Conflict):
        scheduler.store.add_run("job", at(10), now, RunReason.BACKFILL)  # it ran already
