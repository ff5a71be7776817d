"""What ``gnomon list``, ``history`` and ``runs`` read, on every backend: each job with its
last run in one query, removed jobs from their ``job.removed`` events, runs lost and re-run."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy.event

from gnomon import service
from gnomon.clock import FakeClock
from gnomon.definitions import shell
from gnomon.models import JobState, RunStatus
from gnomon.scheduler import Scheduler
from gnomon.store.activity import jobs_with_last_runs
from tests.contract.test_run_activity import START


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def scheduler(store_url: str, clock: FakeClock) -> Iterator[Scheduler]:
    with Scheduler(store_url, clock=clock, workers=2) as s:
        s.add("every 7d", shell(["true"]), id="good")
        s.add("every 7d", shell(["sh", "-c", "exit 3"]), id="bad")
        s.add("0 9 * * *", shell(["true"]), id="never", tz="Europe/Paris", name="Never run")
        yield s


def run_now(scheduler: Scheduler, job_id: str) -> int:
    run = scheduler.trigger(job_id)
    scheduler.tick()
    assert scheduler.wait_idle(10)
    return run.id


def test_each_job_comes_with_its_last_started_or_ended_run(
    scheduler: Scheduler, clock: FakeClock
) -> None:
    run_now(scheduler, "good")
    clock.advance(60)
    second = run_now(scheduler, "good")
    failed = run_now(scheduler, "bad")
    scheduler.trigger("good")  # pending: not a last run yet
    found = service.jobs_with_last_runs(scheduler)
    last = {job.id: run for job, run in found}
    assert [job.id for job, _ in found] == ["bad", "good", "never"]
    assert last["good"] is not None
    assert (last["good"].id, last["good"].status) == (second, RunStatus.SUCCEEDED)
    assert last["bad"] is not None
    assert (last["bad"].id, last["bad"].status) == (failed, RunStatus.FAILED)
    assert last["never"] is None
    scheduler.pause("bad")
    paused = service.jobs_with_last_runs(scheduler, state=JobState.PAUSED)
    assert [job.id for job, _ in paused] == ["bad"]
    assert [job.id for job, _ in service.jobs_with_last_runs(scheduler, search="NEVER")] == [
        "never"
    ]
    assert [job.id for job, _ in service.jobs_with_last_runs(scheduler, limit=1, offset=1)] == [
        "good"
    ]


def test_the_last_runs_of_a_page_of_jobs_are_one_query(scheduler: Scheduler) -> None:
    for n in range(30):
        scheduler.add("every 7d", shell(["true"]), id=f"job-{n:02}")
        scheduler.trigger(f"job-{n:02}")
    while scheduler.runs(status=RunStatus.PENDING, limit=1):  # two workers: a few ticks
        scheduler.tick()
        assert scheduler.wait_idle(10)
    statements: list[str] = []

    def seen(*args: object) -> None:
        statements.append(str(args[2]))

    engine = scheduler.store.engine
    sqlalchemy.event.listen(engine, "before_cursor_execute", seen)
    try:
        found = service.jobs_with_last_runs(scheduler, limit=100)
    finally:
        sqlalchemy.event.remove(engine, "before_cursor_execute", seen)
    assert len(found) == 33
    assert sum(run is not None for _, run in found) == 30
    assert len([s for s in statements if "gnomon_runs" in s]) == 1


def test_sqlite_finds_each_last_run_by_an_index_seek(tmp_path: Path, clock: FakeClock) -> None:
    """The plan never scans the runs table: each job's last run is a seek on its index, for
    the jobs of the page only (read in id order, by the key)."""
    with Scheduler(f"sqlite:///{tmp_path}/plan.db", clock=clock) as scheduler:
        captured: list[tuple[str, object]] = []

        def seen(*args: object) -> None:
            if "gnomon_runs" in str(args[2]):
                captured.append((str(args[2]), args[3]))

        engine = scheduler.store.engine
        sqlalchemy.event.listen(engine, "before_cursor_execute", seen)
        try:
            jobs_with_last_runs(scheduler.store, limit=100)
        finally:
            sqlalchemy.event.remove(engine, "before_cursor_execute", seen)
        [(sql, parameters)] = captured
        with engine.connect() as conn:
            plan = [row[3] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", parameters)]
    assert any("USING INDEX ix_gnomon_runs_job (job_id=?)" in step for step in plan), plan
    assert any("USING INTEGER PRIMARY KEY" in step for step in plan), plan
    assert not any(step.startswith("SCAN") and "gnomon_runs" in step for step in plan), plan
    assert "SCAN gnomon_jobs USING INDEX sqlite_autoindex_gnomon_jobs_1" in plan  # the page


def test_a_removed_job_keeps_what_it_was_in_its_event(scheduler: Scheduler) -> None:
    scheduler.remove("never")
    [event] = [e for e in scheduler.events(job_id="never") if e.kind == "job.removed"]
    assert event.data == {
        "name": "Never run",
        "when": "At 09:00 (Europe/Paris)",
        "tz": "Europe/Paris",
        "action": "shell",
        "state": "active",
    }


def test_removed_jobs_are_found_with_their_last_run_and_a_reused_id_is_live(
    scheduler: Scheduler, clock: FakeClock
) -> None:
    last = run_now(scheduler, "good")
    clock.advance(60)
    scheduler.remove("good")
    clock.advance(60)
    scheduler.remove("never")
    scheduler.remove("bad")
    scheduler.add("every 7d", shell(["true"]), id="bad")  # the id is used again: live
    removed = service.removed_jobs(scheduler)
    assert [r.id for r in removed] == ["never", "good"]  # most recently removed first
    never, good = removed
    assert (never.name, never.zone, never.action) == ("Never run", "Europe/Paris", "shell")
    assert never.removed_at == START + timedelta(seconds=120)
    assert never.last_run is None
    assert good.last_run is not None
    assert good.last_run.id == last
    assert good.removed_at == START + timedelta(seconds=60)
    assert service.removed_job(scheduler, "bad") is None
    assert service.removed_job(scheduler, "nosuch") is None
    found = service.removed_job(scheduler, "good")
    assert found is not None
    assert found.removed_at == good.removed_at
    assert [r.id for r in service.removed_jobs(scheduler, search="never RUN")] == ["never"]
    assert [r.id for r in service.removed_jobs(scheduler, search="tz")] == []  # not the name
    assert [r.id for r in service.removed_jobs(scheduler, limit=1)] == ["never"]


def test_a_removed_job_is_found_by_a_name_json_writes_escaped(scheduler: Scheduler) -> None:
    scheduler.add("every 1h", shell(["true"]), id="cafe", name='Café "au lait"')
    scheduler.remove("cafe")
    for search in ("CAFÉ", '"au', 'é "AU'):  # written \u00e9 and \" in the event's JSON
        assert [r.id for r in service.removed_jobs(scheduler, search=search)] == ["cafe"]
    assert service.removed_jobs(scheduler, search="u00e9") == []  # the escape is not the name


def test_a_job_removed_twice_is_listed_once_with_its_last_removal(
    scheduler: Scheduler, clock: FakeClock
) -> None:
    scheduler.remove("good")
    clock.advance(60)
    scheduler.add("every 1d", shell(["true"]), id="good", name="second life")
    scheduler.remove("good")
    [good] = service.removed_jobs(scheduler)
    assert (good.name, good.when, good.removed_at) == (
        "second life",
        "Every 1 day",
        START + timedelta(seconds=60),
    )


def test_a_run_lost_and_put_back_is_counted(scheduler: Scheduler, clock: FakeClock) -> None:
    run = scheduler.trigger("good")
    [claimed] = scheduler.store.claim_runs(clock.now(), "vanished:1", 1, 30)
    assert claimed.run.id == run.id
    clock.advance(31)
    assert scheduler.store.recover_lost_runs(clock.now()) == 1
    scheduler.tick()
    assert scheduler.wait_idle(10)
    again = scheduler.store.get_run(run.id)
    assert again.status is RunStatus.SUCCEEDED
    other = run_now(scheduler, "bad")
    runs = scheduler.runs(limit=10)
    assert service.loss_counts(scheduler, runs) == {run.id: 1}
    assert other not in service.loss_counts(scheduler, runs)
