"""Runs across jobs on every backend: the filtered list, retry, cancel, activity per minute."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from gnomon import service
from gnomon.clock import FakeClock
from gnomon.definitions import shell
from gnomon.errors import Conflict
from gnomon.models import RunReason, RunStatus
from gnomon.run_stats import run_activity
from gnomon.scheduler import Scheduler
from gnomon.store.activity import first_id_since

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def scheduler(store_url: str, clock: FakeClock) -> Iterator[Scheduler]:
    with Scheduler(store_url, clock=clock, workers=2) as s:
        s.add("every 7d", shell(["true"]), id="good")
        s.add("every 7d", shell(["sh", "-c", "exit 3"]), id="bad")
        yield s


def run_late(scheduler: Scheduler, clock: FakeClock, job_id: str, late: float) -> int:
    """Trigger ``job_id`` now; start it ``late`` seconds later and let it finish."""
    run = scheduler.trigger(job_id)
    clock.advance(late)
    scheduler.tick()
    assert scheduler.wait_idle(10)
    return run.id


def test_activity_counts_outcomes_per_minute_with_lateness(
    scheduler: Scheduler, clock: FakeClock
) -> None:
    run_late(scheduler, clock, "good", 2)  # finishes 08:00:02
    clock.advance(timedelta(minutes=30))
    run_late(scheduler, clock, "bad", 10)  # 08:30:12
    run_late(scheduler, clock, "good", 4)  # 08:30:16
    clock.advance(timedelta(minutes=30))  # 09:00:16
    last_hour = run_activity(scheduler, hours=1)
    assert len(last_hour.minutes) == 60
    assert last_hour.minutes[0].start == datetime(2026, 3, 2, 8, 1, tzinfo=UTC)
    assert last_hour.outcomes == {RunStatus.FAILED: 1, RunStatus.SUCCEEDED: 1}
    half_past = next(m for m in last_hour.minutes if m.start.minute == 30)
    assert half_past.outcomes == {RunStatus.FAILED: 1, RunStatus.SUCCEEDED: 1}
    assert (half_past.lateness_p50, half_past.lateness_p99) == (4, 10)
    three = run_activity(scheduler, hours=3)
    assert sum(three.outcomes.values()) == 3
    assert (three.lateness_p50, three.lateness_p99, three.cut) == (4, 10, False)


def test_first_id_since_finds_the_boundary_by_binary_search(
    scheduler: Scheduler, clock: FakeClock
) -> None:
    ids = []
    for _ in range(9):
        ids.append(scheduler.trigger("good").id)
        clock.advance(60)
    with scheduler.store._read() as conn:
        assert first_id_since(conn, START - timedelta(hours=1)) == ids[0]
        assert first_id_since(conn, START + timedelta(minutes=4, seconds=1)) == ids[5]
        assert first_id_since(conn, START + timedelta(hours=1)) == ids[-1] + 1


def test_find_runs_filters_and_pages(scheduler: Scheduler, clock: FakeClock) -> None:
    bad = [run_late(scheduler, clock, "bad", 1) for _ in range(3)]
    good = run_late(scheduler, clock, "good", 1)
    page = service.find_runs(scheduler, statuses=(RunStatus.FAILED,), limit=2)
    assert [r.id for r in page.runs] == bad[:0:-1]
    assert page.older == bad[1]
    rest = service.find_runs(scheduler, statuses=(RunStatus.FAILED,), before_id=page.older)
    assert ([r.id for r in rest.runs], rest.older) == ([bad[0]], None)
    assert [r.id for r in service.find_runs(scheduler, job_id="good").runs] == [good]
    later = service.find_runs(scheduler, since=START + timedelta(seconds=2))
    assert {r.id for r in later.runs} == {bad[2], good}


def test_retry_and_cancel(scheduler: Scheduler, clock: FakeClock) -> None:
    failed = run_late(scheduler, clock, "bad", 1)
    retry = service.retry_run(scheduler, failed)
    assert (retry.attempt, retry.reason, retry.status) == (2, RunReason.MANUAL, RunStatus.PENDING)
    with pytest.raises(Conflict, match="newer attempt"):
        service.retry_run(scheduler, failed)
    with pytest.raises(Conflict, match="only a finished, unsuccessful run"):
        service.retry_run(scheduler, retry.id)
    assert service.cancel_run(scheduler, retry.id) is RunStatus.CANCELLED
    assert service.get_run(scheduler, retry.id).status is RunStatus.CANCELLED
    with pytest.raises(Conflict, match="already ended"):
        service.cancel_run(scheduler, retry.id)
    again = service.retry_run(scheduler, retry.id)  # a cancelled attempt may be retried
    assert again.attempt == 3
    kinds = [e.kind for e in scheduler.events(limit=100)]
    assert kinds.count("run.cancelled") == 1
