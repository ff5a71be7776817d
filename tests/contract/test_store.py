"""The Store contract, run on SQLite and on the real local PostgreSQL.

Times are passed in (the store never reads a clock), so every test uses fixed instants from
``T0``. Jobs are built directly as domain objects: the store does not validate actions.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy.event
from sqlalchemy import text

from gnomon.errors import (
    ConfigError,
    Conflict,
    GnomonError,
    JobExists,
    JobNotFound,
    RunNotFound,
    StoreUnavailable,
)
from gnomon.events import Event
from gnomon.models import (
    ActionSpec,
    Job,
    JobState,
    Misfire,
    Overlap,
    Policy,
    Run,
    RunReason,
    RunStatus,
)
from gnomon.planning import FirePlan, planner_at
from gnomon.store import ClaimedRun, FinishedRun, SqlStore
from gnomon.store.engine import upgrade_schema
from gnomon.store.sql import MAX_LOSSES
from gnomon.store.statements import SPARSE
from gnomon.store.tables import jobs as jobs_table
from gnomon.triggers import AtTrigger, IntervalTrigger

T0 = datetime(2026, 1, 1, tzinfo=UTC)
EVERY = timedelta(seconds=10)
ACTION = ActionSpec(kind="python", config={"ref": "json:dumps", "args": [1], "kwargs": {}})


def seconds(n: float) -> datetime:
    return T0 + timedelta(seconds=n)


def make_job(
    job_id: str,
    *,
    first: datetime | None = None,
    policy: Policy | None = None,
    state: JobState = JobState.ACTIVE,
    name: str | None = None,
) -> Job:
    """An interval job firing every 10 s from ``first`` (T0 + 10 s by default)."""
    first = first or T0 + EVERY
    return Job(
        id=job_id,
        name=name or f"job {job_id}",
        trigger=IntervalTrigger(EVERY, first),
        action=ACTION,
        policy=policy or Policy(),
        state=state,
        next_fire_at=None if state is JobState.PAUSED else first,
        created_at=T0,
        updated_at=T0,
    )


def one_shot(job_id: str, at: datetime) -> Job:
    return replace(make_job(job_id, first=at), trigger=AtTrigger(at))


planner = planner_at


def advance(store: SqlStore, now: datetime, limit: int = 500) -> int:
    """Record due fires at ``now``; the number of jobs processed."""
    return store.advance_jobs(now, planner(now), limit).jobs


def all_runs(store: SqlStore, job_id: str | None = None) -> list[Run]:
    """Every run, oldest first."""
    return list(reversed(store.list_runs(job_id, limit=100_000)))


def finished(
    claimed: ClaimedRun,
    worker: str,
    *,
    at: datetime,
    status: RunStatus = RunStatus.SUCCEEDED,
    retry_due: datetime | None = None,
    **fields: object,
) -> FinishedRun:
    return FinishedRun(
        run_id=claimed.run.id,
        worker=worker,
        status=status,
        finished_at=at,
        retry_due=retry_due,
        **fields,  # type: ignore[arg-type]
    )


def kinds(events: Iterable[Event]) -> list[str]:
    return [e.kind for e in events]


def counts(store: SqlStore) -> tuple[int, int, int]:
    """(jobs, runs, events) stored."""
    return (
        store.count_jobs(),
        len(store.list_runs(limit=100_000)),
        len(store.list_events(limit=100_000)),
    )


# -- jobs ----------------------------------------------------------------------------------


def test_added_job_reads_back_equal(store: SqlStore) -> None:
    job = make_job("a", policy=Policy(max_attempts=3, timeout=2.5, overlap=Overlap.QUEUE))
    store.add_jobs([job])
    assert store.get_job("a") == job
    assert kinds(store.list_events()) == ["job.created"]


def test_get_unknown_job_names_the_id(store: SqlStore) -> None:
    with pytest.raises(JobNotFound, match="'ghost'"):
        store.get_job("ghost")


def test_list_jobs_orders_by_id_filters_and_pages(store: SqlStore) -> None:
    store.add_jobs([make_job("b", name="backup"), make_job("a", name="alpha")])
    store.add_jobs([make_job("c", name="cleanup", state=JobState.PAUSED)])
    assert [j.id for j in store.list_jobs()] == ["a", "b", "c"]
    assert [j.id for j in store.list_jobs(state=JobState.PAUSED)] == ["c"]
    assert [j.id for j in store.list_jobs(search="back")] == ["b"]
    assert [j.id for j in store.list_jobs(limit=1, offset=1)] == ["b"]


@pytest.mark.parametrize("text", ["%", "_", "a_b", "100%"])
def test_search_takes_wildcard_characters_literally(store: SqlStore, text: str) -> None:
    store.add_jobs([make_job("axb", name="plain"), make_job("a_b", name="100% sure")])
    expected = sorted(j.id for j in store.list_jobs() if text in j.id or text in j.name)
    assert [j.id for j in store.list_jobs(search=text)] == expected


def test_search_ignores_case_on_every_backend(store: SqlStore) -> None:
    store.add_jobs([make_job("Nightly-Backup", name="Backup"), make_job("other")])
    assert [j.id for j in store.list_jobs(search="BACKUP")] == ["Nightly-Backup"]
    assert [j.id for j in store.list_jobs(search="nightly")] == ["Nightly-Backup"]


def test_count_jobs_by_state(store: SqlStore) -> None:
    store.add_jobs([make_job("a"), make_job("b"), make_job("c", state=JobState.PAUSED)])
    assert store.count_jobs() == 3
    assert store.count_jobs(JobState.ACTIVE) == 2
    assert store.count_jobs(JobState.PAUSED) == 1
    assert store.count_jobs(JobState.DONE) == 0


def test_save_job_replaces_the_definition_and_records_the_event(store: SqlStore) -> None:
    job = make_job("a")
    store.add_jobs([job])
    changed = replace(job, name="renamed", policy=Policy(max_attempts=5), updated_at=seconds(1))
    store.save_job(changed, Event(kind="job.updated", at=seconds(1), job_id="a"))
    assert store.get_job("a") == changed
    assert kinds(store.list_events()) == ["job.created", "job.updated"]


def test_save_unknown_job_is_not_found_and_records_nothing(store: SqlStore) -> None:
    with pytest.raises(JobNotFound, match="'ghost'"):
        store.save_job(make_job("ghost"), Event(kind="job.updated", at=T0, job_id="ghost"))
    assert counts(store) == (0, 0, 0)


def test_remove_job_cancels_pending_runs_and_keeps_history(store: SqlStore) -> None:
    store.add_jobs([make_job("a")])
    advance(store, seconds(10))
    [done] = store.claim_runs(seconds(10), "w1", 10, 30)
    store.finish_runs([finished(done, "w1", at=seconds(11))])
    advance(store, seconds(20))  # a second fire, left pending
    store.remove_job("a", seconds(21))
    with pytest.raises(JobNotFound):
        store.get_job("a")
    history = all_runs(store, "a")
    assert [r.status for r in history] == [RunStatus.SUCCEEDED, RunStatus.CANCELLED]
    assert history[1].finished_at == seconds(21)
    assert kinds(store.list_events(job_id="a"))[-1] == "job.removed"
    assert store.claim_runs(seconds(30), "w1", 10, 30) == []


def test_remove_unknown_job_is_not_found(store: SqlStore) -> None:
    with pytest.raises(JobNotFound, match="'ghost'"):
        store.remove_job("ghost", T0)


def test_duplicate_id_is_refused_and_nothing_of_the_batch_is_stored(store: SqlStore) -> None:
    store.add_jobs([make_job("a")])
    before = counts(store)
    with pytest.raises(JobExists, match="'a'") as caught:
        store.add_jobs([make_job("new"), make_job("a"), make_job("other")])
    assert caught.value.job_id == "a"
    assert counts(store) == before
    assert [j.id for j in store.list_jobs()] == ["a"]


def test_duplicate_id_inside_one_batch_names_that_id(store: SqlStore) -> None:
    with pytest.raises(JobExists) as caught:
        store.add_jobs([make_job("x"), make_job("y"), make_job("y")])
    assert caught.value.job_id == "y"
    assert counts(store) == (0, 0, 0)


# -- recording fires -----------------------------------------------------------------------


def test_advance_records_the_fire_and_moves_next_fire_at(store: SqlStore) -> None:
    store.add_jobs([make_job("a")])
    assert advance(store, seconds(9.999)) == 0  # not due yet
    result = store.advance_jobs(seconds(10), planner(seconds(10)))
    assert (result.jobs, result.runs, result.full) == (1, 1, False)
    [run] = all_runs(store)
    assert (run.job_id, run.scheduled_for, run.due_at) == ("a", seconds(10), seconds(10))
    assert (run.attempt, run.reason, run.status) == (1, RunReason.SCHEDULE, RunStatus.PENDING)
    assert store.get_job("a").next_fire_at == seconds(20)
    assert advance(store, seconds(10)) == 0  # already advanced


class Crash(BaseException):
    """An abrupt failure in the middle of a step (what a killed thread or process leaves)."""


def test_advance_is_all_or_nothing(store: SqlStore) -> None:
    """A step interrupted half-way leaves no run recorded and no job advanced."""
    store.add_jobs([make_job("r", policy=Policy(overlap=Overlap.REPLACE))])
    store.add_jobs([make_job("z", first=seconds(25))])
    advance(store, seconds(10))
    [running] = store.claim_runs(seconds(10), "w", 10, 30)
    before = (all_runs(store), store.list_jobs(), store.list_events(limit=1000))
    plan = planner(seconds(25))

    def crashing(job: Job, unfinished: int) -> FirePlan:
        if job.id == "z":  # planned after "r", whose fire at 20 replaces its running run
            raise Crash
        return plan(job, unfinished)

    with pytest.raises(Crash):
        store.advance_jobs(seconds(25), crashing)
    assert (all_runs(store), store.list_jobs(), store.list_events(limit=1000)) == before
    assert store.heartbeat([running.run.id], "w", seconds(50)) == set()  # no cancel kept
    advance(store, seconds(25))  # the same step, uninterrupted, does replace it
    assert store.heartbeat([running.run.id], "w", seconds(50)) == {running.run.id}


def test_a_job_that_cannot_be_planned_is_paused_and_the_others_advance(store: SqlStore) -> None:
    store.add_jobs([make_job("a"), make_job("b")])
    plan = planner(seconds(10))

    def failing(job: Job, unfinished: int) -> FirePlan:
        if job.id == "b":
            raise RuntimeError("trigger bug")
        return plan(job, unfinished)

    store.advance_jobs(seconds(10), failing)
    assert [(r.job_id, r.scheduled_for) for r in all_runs(store)] == [("a", seconds(10))]
    a, b = store.list_jobs()
    assert (a.state, a.next_fire_at) == (JobState.ACTIVE, seconds(20))
    assert (b.state, b.next_fire_at) == (JobState.PAUSED, None)
    [paused] = [e for e in store.list_events(job_id="b") if e.kind == "job.paused"]
    assert "trigger bug" in paused.data["error"]


def test_a_job_whose_stored_trigger_cannot_be_read_is_paused(store: SqlStore) -> None:
    """E.g. a trigger kind from a plugin that was uninstalled."""
    store.add_jobs([make_job("a"), make_job("gone")])
    with store.engine.begin() as conn:
        conn.execute(
            jobs_table.update()
            .where(jobs_table.c.id == "gone")
            .values(trigger='{"kind": "uninstalled-plugin", "v": 1}')
        )
    assert advance(store, seconds(10)) == 2
    assert [r.job_id for r in all_runs(store)] == ["a"]
    [paused] = [e for e in store.list_events(job_id="gone") if e.kind == "job.paused"]
    assert "uninstalled-plugin" in paused.data["error"]
    assert store.count_jobs(JobState.PAUSED) == 1


def test_advance_claims_due_jobs_in_batches(store: SqlStore) -> None:
    store.add_jobs([make_job(f"j{i}") for i in range(5)])
    first = store.advance_jobs(seconds(10), planner(seconds(10)), limit=2)
    assert (first.jobs, first.full) == (2, True)
    assert advance(store, seconds(10), limit=2) == 2
    last = store.advance_jobs(seconds(10), planner(seconds(10)), limit=2)
    assert (last.jobs, last.full) == (1, False)
    assert len(all_runs(store)) == 5


def test_a_fired_one_shot_is_done(store: SqlStore) -> None:
    store.add_jobs([one_shot("once", seconds(5))])
    advance(store, seconds(5))
    job = store.get_job("once")
    assert (job.state, job.next_fire_at) == (JobState.DONE, None)
    assert [r.scheduled_for for r in all_runs(store)] == [seconds(5)]
    assert advance(store, seconds(500)) == 0


def test_missed_fires_are_recorded_as_rows_and_events(store: SqlStore) -> None:
    store.add_jobs([make_job("a", policy=Policy(misfire=Misfire.SKIP, grace=1))])
    advance(store, seconds(45))  # fires at 10, 20, 30, 40: all later than the grace
    missed = all_runs(store)
    assert [r.status for r in missed] == [RunStatus.MISSED] * 4
    assert [r.scheduled_for for r in missed] == [seconds(s) for s in (10, 20, 30, 40)]
    assert all(r.finished_at == seconds(45) and r.error for r in missed)
    assert kinds(store.list_events()).count("run.missed") == 4
    assert store.get_job("a").next_fire_at == seconds(50)


@pytest.mark.parametrize(
    "policy",
    [
        pytest.param(Policy(), id="pending-fire"),
        pytest.param(Policy(misfire=Misfire.SKIP, grace=0), id="missed-fire"),
        pytest.param(Policy(max_attempts=1), id="finished-fire"),
    ],
)
def test_a_repeated_fire_is_a_no_op(
    store: SqlStore, policy: Policy, request: pytest.FixtureRequest
) -> None:
    """The UNIQUE (job_id, scheduled_for, attempt) key, not the scheduler, stops a repeat.

    Simulates a second replica (or a retried commit) that saw the old ``next_fire_at``.
    """
    job = make_job("a", policy=policy)
    store.add_jobs([job])
    advance(store, seconds(10.5))
    if "finished" in request.node.callspec.id:
        [claimed] = store.claim_runs(seconds(10.5), "w", 1, 30)
        store.finish_runs([finished(claimed, "w", at=seconds(10.6))])
    [first] = all_runs(store)
    store.save_job(job, Event(kind="job.updated", at=seconds(11), job_id="a"))  # rewind
    assert store.get_job("a").next_fire_at == seconds(10)
    advance(store, seconds(10.5))
    assert all_runs(store) == [first]
    assert store.get_job("a").next_fire_at == seconds(20)


def test_concurrent_advances_record_each_fire_once(
    store: SqlStore, open_store: Callable[[], SqlStore]
) -> None:
    store.add_jobs([make_job(f"j{i:02}") for i in range(40)])
    others = [open_store() for _ in range(3)]
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def replica(replica_store: SqlStore) -> None:
        try:
            barrier.wait(timeout=10)
            for second in range(10, 61, 10):
                while replica_store.advance_jobs(seconds(second), planner(seconds(second)), 7).full:
                    pass
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=replica, args=(s,)) for s in [store, *others]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    fires = [(r.job_id, r.scheduled_for) for r in all_runs(store)]
    assert len(fires) == len(set(fires))
    assert len(fires) == 40 * 6
    assert {j.next_fire_at for j in store.list_jobs(limit=1000)} == {seconds(70)}


# -- claiming and finishing runs -----------------------------------------------------------


def test_claim_hands_out_due_runs_with_their_action_and_policy(store: SqlStore) -> None:
    policy = Policy(max_attempts=2, timeout=5.0)
    store.add_jobs([make_job("a", policy=policy)])
    advance(store, seconds(10))
    [claimed] = store.claim_runs(seconds(10), "w1", 10, 30)
    assert (claimed.action, claimed.policy) == (ACTION, policy)
    assert (claimed.run.status, claimed.run.worker) == (RunStatus.RUNNING, "w1")
    assert claimed.run.started_at == seconds(10)
    stored = store.get_run(claimed.run.id)
    assert (stored.status, stored.worker, stored.started_at) == (
        RunStatus.RUNNING,
        "w1",
        seconds(10),
    )
    assert kinds(store.list_events())[-1] == "run.started"
    assert store.claim_runs(seconds(10), "w2", 10, 30) == []


def test_claim_takes_only_due_runs_earliest_first_up_to_the_limit(store: SqlStore) -> None:
    store.add_jobs([one_shot("late", seconds(30)), one_shot("early", seconds(10))])
    store.add_jobs([one_shot("middle", seconds(20))])
    advance(store, seconds(30))
    assert store.claim_runs(seconds(30), "w", 0, 30) == []
    first = store.claim_runs(seconds(30), "w", 2, 30)
    assert [c.run.job_id for c in first] == ["early", "middle"]
    assert [c.run.job_id for c in store.claim_runs(seconds(30), "w", 2, 30)] == ["late"]


def test_a_run_is_not_claimed_before_its_due_time(store: SqlStore) -> None:
    store.add_jobs([make_job("a")])
    run = store.add_run("a", seconds(50), seconds(50), RunReason.MANUAL)
    assert run.due_at == seconds(50)
    assert store.claim_runs(seconds(49), "w", 10, 30) == []
    assert [c.run.id for c in store.claim_runs(seconds(50), "w", 10, 30)] == [run.id]


def _claim_all(claimer: SqlStore, worker: str, barrier: threading.Barrier) -> list[int]:
    barrier.wait(timeout=10)
    got: list[int] = []
    while batch := claimer.claim_runs(seconds(100), worker, 3, 30):
        got.extend(c.run.id for c in batch)
    return got


@pytest.mark.parametrize("separate_stores", [False, True], ids=["one-store", "two-stores"])
def test_concurrent_claimers_never_share_a_run(
    store: SqlStore, open_store: Callable[[], SqlStore], separate_stores: bool
) -> None:
    store.add_jobs([make_job(f"j{i:03}") for i in range(60)])
    advance(store, seconds(10))
    expected = {r.id for r in all_runs(store)}
    claimers = [store, open_store() if separate_stores else store] * 2
    barrier = threading.Barrier(len(claimers))
    results: dict[int, list[int]] = {}
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            results[i] = _claim_all(claimers[i], f"w{i}", barrier)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(claimers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    handed = [run_id for got in results.values() for run_id in got]
    assert sorted(handed) == sorted(expected)  # each once, none left behind
    owners = {r.id: r.worker for r in all_runs(store)}
    for i, got in results.items():
        assert {owners[run_id] for run_id in got} <= {f"w{i}"}


def test_runs_of_a_paused_job_wait_until_it_resumes(store: SqlStore) -> None:
    job = make_job("a")
    store.add_jobs([job])
    advance(store, seconds(10))
    paused = replace(job, state=JobState.PAUSED, next_fire_at=None)
    store.save_job(paused, Event(kind="job.paused", at=seconds(10), job_id="a"))
    assert store.claim_runs(seconds(100), "w", 10, 30) == []
    assert store.next_wakeup() is None
    store.save_job(replace(job, next_fire_at=seconds(110)), Event(kind="job.resumed", at=T0))
    assert [c.run.scheduled_for for c in store.claim_runs(seconds(100), "w", 10, 30)] == [
        seconds(10)
    ]


def test_overlap_queue_hands_out_one_run_at_a_time_in_fire_order(store: SqlStore) -> None:
    store.add_jobs([make_job("q", policy=Policy(overlap=Overlap.QUEUE)), make_job("free")])
    advance(store, seconds(10))
    advance(store, seconds(20))
    advance(store, seconds(30))
    first = store.claim_runs(seconds(30), "w", 10, 30)
    assert sorted((c.run.job_id, c.run.scheduled_for) for c in first) == [
        ("free", seconds(10)),
        ("free", seconds(20)),
        ("free", seconds(30)),
        ("q", seconds(10)),
    ]
    assert store.claim_runs(seconds(30), "w", 10, 30) == []  # q is busy
    [q1] = [c for c in first if c.run.job_id == "q"]
    store.finish_runs([finished(q1, "w", at=seconds(31))])
    [q2] = store.claim_runs(seconds(31), "w", 10, 30)
    assert (q2.run.job_id, q2.run.scheduled_for) == ("q", seconds(20))


@pytest.mark.parametrize(
    "backend", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)  # PostgreSQL only
def test_overlap_queue_holds_when_claimers_interleave(
    store: SqlStore, open_store: Callable[[], SqlStore]
) -> None:
    """Claimer A has taken the first run of a queue job but not committed; B claims meanwhile.

    B cannot see A's uncommitted claim, so "no run of the job is running" is not enough: the
    store must still never let two runs of one queue job be running. (On SQLite, BEGIN
    IMMEDIATE runs claims one after another: they cannot interleave.)
    """
    store.add_jobs([make_job("q", policy=Policy(overlap=Overlap.QUEUE))])
    advance(store, seconds(10))
    advance(store, seconds(20))
    claimer_a = open_store()
    inside, resume = threading.Event(), threading.Event()

    def pause_before_marking_running(
        _conn: object, _cursor: object, statement: str, *_: object
    ) -> None:
        if statement.lstrip().upper().startswith("UPDATE GNOMON_RUNS"):
            inside.set()
            resume.wait(timeout=10)

    sqlalchemy.event.listen(claimer_a.engine, "before_cursor_execute", pause_before_marking_running)
    claimed_a: list[ClaimedRun] = []
    thread = threading.Thread(
        target=lambda: claimed_a.extend(claimer_a.claim_runs(seconds(20), "A", 1, 30))
    )
    thread.start()
    try:
        assert inside.wait(timeout=10)
        claimed_b = store.claim_runs(seconds(20), "B", 10, 30)
    finally:
        resume.set()
        thread.join(timeout=10)
    assert [c.run.scheduled_for for c in claimed_a] == [seconds(10)]
    assert claimed_b == []
    assert [r.worker for r in store.list_runs("q", status=RunStatus.RUNNING)] == ["A"]


def test_overlap_queue_holds_under_concurrent_claimers(
    store: SqlStore, open_store: Callable[[], SqlStore]
) -> None:
    """Four claimers (two stores) race over five queue jobs with ten runs each; a claimer
    marks a job busy when it gets a run and unmarks it just before recording the outcome, so
    finding a job marked busy is a real overlap."""
    queue = Policy(overlap=Overlap.QUEUE, misfire=Misfire.ALL, grace=3600)
    store.add_jobs([make_job(f"q{i}", policy=queue) for i in range(5)])
    advance(store, seconds(100))  # ten fires each
    other = open_store()
    busy: dict[str, str] = {}
    overlaps: list[str] = []
    done: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def claimer(claiming: SqlStore, worker: str) -> None:
        try:
            barrier.wait(timeout=10)
            idle_rounds = 0
            while idle_rounds < 50:
                batch = claiming.claim_runs(seconds(100), worker, 2, 30)
                idle_rounds = 0 if batch else idle_rounds + 1
                for item in batch:
                    with lock:
                        if item.run.job_id in busy:
                            overlaps.append(f"{item.run.job_id}: {busy[item.run.job_id]}+{worker}")
                        busy[item.run.job_id] = worker
                for item in batch:
                    with lock:
                        busy.pop(item.run.job_id, None)
                        done.append(item.run.id)
                    claiming.finish_runs([finished(item, worker, at=seconds(101))])
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=claimer, args=(s, f"w{i}"))
        for i, s in enumerate([store, other, store, other])
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert overlaps == []
    assert len(done) == len(set(done)) == 50


def test_finish_records_the_outcome_and_its_event(store: SqlStore) -> None:
    store.add_jobs([make_job("a")])
    advance(store, seconds(10))
    [claimed] = store.claim_runs(seconds(10), "w1", 10, 30)
    outcome = finished(
        claimed,
        "w1",
        at=seconds(12),
        status=RunStatus.FAILED,
        result={"exit_code": 3},
        error="exit code 3",
        output="hello\n",
    )
    assert store.finish_runs([outcome]) == [True]
    run = store.get_run(claimed.run.id)
    assert (run.status, run.finished_at, run.result) == (
        RunStatus.FAILED,
        seconds(12),
        {"exit_code": 3},
    )
    assert (run.error, run.output) == ("exit code 3", "hello\n")
    [event] = store.list_events(after_id=0, job_id="a")[-1:]
    assert (event.kind, event.run_id, event.data) == (
        "run.failed",
        run.id,
        {"attempt": 1, "error": "exit code 3"},
    )


def test_finish_refuses_a_worker_that_does_not_hold_the_run(store: SqlStore) -> None:
    store.add_jobs([make_job("a")])
    advance(store, seconds(10))
    [claimed] = store.claim_runs(seconds(10), "w1", 10, 30)
    assert store.finish_runs([finished(claimed, "intruder", at=seconds(11))]) == [False]
    assert store.get_run(claimed.run.id).status is RunStatus.RUNNING
    assert store.finish_runs([finished(claimed, "w1", at=seconds(11))]) == [True]
    again = finished(claimed, "w1", at=seconds(12), status=RunStatus.FAILED)
    assert store.finish_runs([again]) == [False]  # never finished twice
    assert store.get_run(claimed.run.id).status is RunStatus.SUCCEEDED


def test_finish_sorts_out_a_large_batch_whose_runs_are_held_by_several_workers(
    store: SqlStore,
) -> None:
    """A batch of outcomes larger than a chunk of look-ups (75: 32 + 32 + 11, on SQLite)
    keeps exactly the outcomes of the workers that hold their runs."""
    store.add_jobs([make_job(f"j{i:02d}") for i in range(75)])
    advance(store, seconds(10))
    claimed = sorted(store.claim_runs(seconds(10), "w1", 100, 30), key=lambda c: c.run.id)
    assert len(claimed) == 75
    batch = [
        finished(item, "intruder" if i % 5 == 3 else "w1", at=seconds(11))
        for i, item in enumerate(claimed)
    ]
    assert store.finish_runs(batch) == [i % 5 != 3 for i in range(75)]
    statuses = [store.get_run(item.run.id).status for item in claimed]
    assert statuses == [RunStatus.RUNNING if i % 5 == 3 else RunStatus.SUCCEEDED for i in range(75)]


def test_finish_refuses_an_outcome_after_the_run_was_found_lost(store: SqlStore) -> None:
    store.add_jobs([make_job("a", policy=Policy(max_attempts=2, backoff=5))])
    advance(store, seconds(10))
    [claimed] = store.claim_runs(seconds(10), "w1", 10, 30)
    assert store.recover_lost_runs(seconds(41)) == 1  # back to pending, same run
    late = finished(claimed, "w1", at=seconds(42), retry_due=seconds(50))
    assert store.finish_runs([late]) == [False]
    assert [(r.id, r.attempt, r.status) for r in all_runs(store)] == [
        (claimed.run.id, 1, RunStatus.PENDING)
    ]


def test_finish_with_a_retry_records_the_next_attempt(store: SqlStore) -> None:
    store.add_jobs([make_job("a", policy=Policy(max_attempts=3))])
    advance(store, seconds(10))
    [claimed] = store.claim_runs(seconds(10), "w1", 10, 30)
    failed = finished(claimed, "w1", at=seconds(11), status=RunStatus.FAILED, retry_due=seconds(13))
    store.finish_runs([failed])
    _first, retry = all_runs(store)
    assert (retry.scheduled_for, retry.attempt, retry.reason) == (seconds(10), 2, RunReason.RETRY)
    assert (retry.status, retry.due_at) == (RunStatus.PENDING, seconds(13))
    assert kinds(store.list_events())[-2:] == ["run.failed", "run.retrying"]
    assert store.claim_runs(seconds(12), "w1", 10, 30) == []
    [second] = store.claim_runs(seconds(13), "w1", 10, 30)
    assert second.run.id == retry.id


def test_finishing_a_run_of_a_removed_job_schedules_no_retry(store: SqlStore) -> None:
    """A retry of a job that no longer exists would stay pending forever."""
    store.add_jobs([make_job("a", policy=Policy(max_attempts=3))])
    advance(store, seconds(10))
    [claimed] = store.claim_runs(seconds(10), "w1", 10, 30)
    store.remove_job("a", seconds(10.5))
    failed = finished(claimed, "w1", at=seconds(11), status=RunStatus.FAILED, retry_due=seconds(13))
    assert store.finish_runs([failed]) == [True]
    assert [(r.attempt, r.status) for r in all_runs(store)] == [(1, RunStatus.FAILED)]


def test_output_with_nul_characters_is_recorded(store: SqlStore) -> None:
    """A shell command may print NUL bytes; PostgreSQL TEXT cannot hold them as they are."""
    store.add_jobs([make_job("a")])
    advance(store, seconds(10))
    [claimed] = store.claim_runs(seconds(10), "w1", 10, 30)
    outcome = finished(claimed, "w1", at=seconds(11), output="a\x00b", error="bad\x00")
    assert store.finish_runs([outcome]) == [True]
    run = store.get_run(claimed.run.id)
    assert run.status is RunStatus.SUCCEEDED
    assert (run.output, run.error) == ("a\ufffdb", "bad\ufffd")  # the same on every backend


# -- leases --------------------------------------------------------------------------------


def test_heartbeat_extends_the_lease(store: SqlStore) -> None:
    store.add_jobs([make_job("a")])
    advance(store, seconds(10))
    [claimed] = store.claim_runs(seconds(10), "w1", 10, 30)  # lease until 40
    assert store.heartbeat([claimed.run.id], "w1", seconds(70)) == set()
    assert store.recover_lost_runs(seconds(69)) == 0
    assert store.get_run(claimed.run.id).status is RunStatus.RUNNING
    assert store.recover_lost_runs(seconds(71)) == 1


def test_heartbeat_of_another_worker_does_not_extend_the_lease(store: SqlStore) -> None:
    store.add_jobs([make_job("a")])
    advance(store, seconds(10))
    [claimed] = store.claim_runs(seconds(10), "w1", 10, 30)
    store.heartbeat([claimed.run.id], "w2", seconds(100))
    assert store.recover_lost_runs(seconds(41)) == 1


def test_heartbeat_tells_a_worker_to_stop_a_run_taken_back_from_it(store: SqlStore) -> None:
    """A stalled worker (SIGSTOP, long GC) whose run was recovered must not run it on."""
    store.add_jobs([make_job("a")])
    advance(store, seconds(10))
    [claimed] = store.claim_runs(seconds(10), "w1", 10, 30)
    assert store.recover_lost_runs(seconds(41)) == 1
    assert store.heartbeat([claimed.run.id], "w1", seconds(71)) == {claimed.run.id}
    [again] = store.claim_runs(seconds(41), "w2", 10, 30)
    assert store.heartbeat([again.run.id], "w2", seconds(71)) == set()
    assert store.heartbeat([claimed.run.id], "w1", seconds(71)) == {claimed.run.id}


def test_heartbeat_reports_cancellation_of_a_replaced_run(store: SqlStore) -> None:
    store.add_jobs([make_job("r", policy=Policy(overlap=Overlap.REPLACE))])
    advance(store, seconds(10))
    [old] = store.claim_runs(seconds(10), "w1", 10, 30)
    assert store.heartbeat([old.run.id], "w1", seconds(45)) == set()
    advance(store, seconds(20))  # the newer fire replaces the running one
    assert store.heartbeat([old.run.id], "w1", seconds(50)) == {old.run.id}
    [new] = store.claim_runs(seconds(20), "w2", 10, 30)
    assert new.run.scheduled_for == seconds(20)
    assert store.heartbeat([new.run.id], "w2", seconds(50)) == set()
    assert store.heartbeat([], "w2", seconds(50)) == set()


def test_recover_requeues_a_lost_run_with_the_same_id(store: SqlStore) -> None:
    store.add_jobs([make_job("a")])
    advance(store, seconds(10))
    [claimed] = store.claim_runs(seconds(10), "w1", 10, 30)  # lease until 40
    assert store.recover_lost_runs(seconds(40)) == 0  # expires strictly after
    assert store.recover_lost_runs(seconds(40.5)) == 1
    run = store.get_run(claimed.run.id)
    assert (run.status, run.attempt, run.due_at, run.worker) == (
        RunStatus.PENDING,
        1,
        seconds(40.5),
        None,
    )
    [again] = store.claim_runs(seconds(41), "w2", 10, 30)
    assert (again.run.id, again.run.attempt) == (claimed.run.id, 1)  # same idempotency key
    [event] = [e for e in store.list_events() if e.kind == "run.lost"]
    assert event.data == {"losses": 1, "requeued": True}


def test_a_run_lost_again_and_again_is_dead_lettered_then_retried_per_policy(
    store: SqlStore,
) -> None:
    store.add_jobs([make_job("retry", policy=Policy(max_attempts=2, backoff=4, max_backoff=4))])
    store.add_jobs([make_job("once")])
    advance(store, seconds(10))
    now = 10.0
    for _ in range(MAX_LOSSES + 1):  # claimed, then its worker vanishes, each time
        assert len(store.claim_runs(seconds(now), "w", 10, 30)) == 2
        now += 31
        assert store.recover_lost_runs(seconds(now)) == 2
    by_job: dict[str, list[Run]] = {}
    for run in all_runs(store):
        by_job.setdefault(run.job_id, []).append(run)
    lost, retry = by_job["retry"]
    assert (lost.status, lost.finished_at) == (RunStatus.LOST, seconds(now))
    assert lost.error is not None
    assert "vanished" in lost.error
    assert (retry.attempt, retry.reason, retry.status) == (2, RunReason.RETRY, RunStatus.PENDING)
    assert retry.due_at == seconds(now + 4)  # backoff 4 s, capped at 4 s
    assert [(r.attempt, r.status) for r in by_job["once"]] == [(1, RunStatus.LOST)]
    assert kinds(store.list_events()).count("run.lost") == 2 * (MAX_LOSSES + 1)
    assert store.recover_lost_runs(seconds(now + 100)) == 0


def test_a_lost_run_of_a_removed_job_ends_lost(store: SqlStore) -> None:
    """Requeued, it could never be claimed again (runs of no job are not): it would stay
    pending forever."""
    store.add_jobs([make_job("a", policy=Policy(max_attempts=3))])
    advance(store, seconds(10))
    [claimed] = store.claim_runs(seconds(10), "w1", 10, 30)
    store.remove_job("a", seconds(11))
    assert store.recover_lost_runs(seconds(41)) == 1
    assert [(r.id, r.status) for r in all_runs(store)] == [(claimed.run.id, RunStatus.LOST)]
    assert store.get_run(claimed.run.id).finished_at == seconds(41)


# -- manual runs, wake-ups, history -------------------------------------------------------


def test_add_run_records_a_manual_fire_due_at_once(store: SqlStore) -> None:
    store.add_jobs([make_job("a")])
    run = store.add_run("a", seconds(3), seconds(3), RunReason.MANUAL)
    assert (run.scheduled_for, run.due_at, run.attempt) == (seconds(3), seconds(3), 1)
    assert (run.reason, run.status) == (RunReason.MANUAL, RunStatus.PENDING)
    assert kinds(store.list_events())[-1] == "job.triggered"


def test_add_run_twice_at_the_same_instant_records_two_runs(store: SqlStore) -> None:
    store.add_jobs([make_job("a")])
    first = store.add_run("a", seconds(3), seconds(3), RunReason.MANUAL)
    second = store.add_run("a", seconds(3), seconds(3), RunReason.MANUAL)
    assert first.id != second.id
    assert len(all_runs(store)) == 2


def test_backfilling_a_recorded_fire_is_a_conflict(store: SqlStore) -> None:
    store.add_jobs([make_job("a")])
    advance(store, seconds(10))
    before = counts(store)
    with pytest.raises(Conflict, match="'a' already has a run"):
        store.add_run("a", seconds(10), seconds(50), RunReason.BACKFILL)
    assert counts(store) == before


def test_add_run_of_an_unknown_job_is_not_found(store: SqlStore) -> None:
    with pytest.raises(JobNotFound, match="'ghost'"):
        store.add_run("ghost", T0, T0, RunReason.MANUAL)
    assert counts(store) == (0, 0, 0)


def test_get_unknown_run_is_not_found(store: SqlStore) -> None:
    with pytest.raises(RunNotFound, match="12345"):
        store.get_run(12345)


def test_next_wakeup_is_the_earliest_fire_or_due_run(store: SqlStore) -> None:
    assert store.next_wakeup() is None
    store.add_jobs([make_job("a", first=seconds(30)), make_job("b", first=seconds(20))])
    assert store.next_wakeup() == seconds(20)
    store.add_run("a", seconds(5), seconds(5), RunReason.MANUAL)
    assert store.next_wakeup() == seconds(5)
    store.claim_runs(seconds(5), "w", 10, 30)
    assert store.next_wakeup() == seconds(20)
    store.add_jobs([make_job("p", state=JobState.PAUSED)])
    assert store.next_wakeup() == seconds(20)


def test_next_wakeup_after_a_tick_leaves_out_the_runs_it_could_not_take(store: SqlStore) -> None:
    store.add_jobs([make_job("a", first=seconds(30))])
    store.add_run("a", seconds(5), seconds(5), RunReason.MANUAL)  # waiting for a worker
    assert store.next_wakeup() == seconds(5)
    assert store.next_wakeup(after=seconds(6)) == seconds(30)
    assert store.next_wakeup(after=seconds(4)) == seconds(5)


def test_next_wakeup_sees_a_run_recorded_since_the_tick_though_due_before_it(
    store: SqlStore,
) -> None:
    """A retry due at 5 s, committed while the tick of 6 s ran: that tick never saw it."""
    store.add_jobs([make_job("a", first=seconds(30))])
    seen = store.last_run_id()
    late = store.add_run("a", seconds(5), seconds(5), RunReason.MANUAL)
    assert late.id > seen
    assert store.next_wakeup(after=seconds(6), seen_run=seen) == seconds(5)
    # The next tick saw it (and could not take it): left out again, as before.
    assert store.next_wakeup(after=seconds(7), seen_run=store.last_run_id()) == seconds(30)


def test_step_records_claims_and_tells_the_next_wakeup_at_once(store: SqlStore) -> None:
    store.add_jobs([make_job("a"), make_job("b", first=seconds(15))])
    result, claimed, wake = store.step(seconds(10), planner(seconds(10)), 500, "w", 10, 30)
    assert (result.jobs, result.runs, result.full) == (1, 1, False)
    assert [(c.run.job_id, c.run.scheduled_for, c.run.worker) for c in claimed] == [
        ("a", seconds(10), "w")
    ]
    assert wake == seconds(15)
    assert store.get_run(claimed[0].run.id).status is RunStatus.RUNNING


def test_step_says_what_it_could_see_and_whether_a_lease_lapsed(store: SqlStore) -> None:
    """The scheduler's tick reads these from its first step instead of a transaction each:
    ``seen_run`` is :meth:`last_run_id` as the step began, ``lapsed`` (asked with
    ``leases``) whether :meth:`recover_lost_runs` has a run to take back."""
    store.add_jobs([make_job("a", first=seconds(100))])
    early = store.add_run("a", seconds(5), seconds(5), RunReason.MANUAL)
    [held] = store.claim_runs(seconds(5), "w", 1, 30)  # its lease runs to 35 s
    assert held.run.id == early.id
    seen = store.last_run_id()
    result, _, _ = store.step(seconds(34), planner(seconds(34)), 500, "w", 10, 30, leases=True)
    assert (result.seen_run, result.lapsed) == (seen, False)
    result, _, _ = store.step(seconds(36), planner(seconds(36)), 500, "w", 10, 30, leases=True)
    assert result.lapsed
    assert result.seen_run == seen  # nothing was due: no run recorded since
    result, _, _ = store.step(seconds(36), planner(seconds(36)), 500, "w", 10, 30)
    assert not result.lapsed  # not asked
    assert store.recover_lost_runs(seconds(36)) == 1
    result, _, _ = store.step(seconds(36), planner(seconds(36)), 500, "w", 10, 30, leases=True)
    assert not result.lapsed
    assert result.seen_run == store.last_run_id()


def look_ahead_step(store: SqlStore, now: float) -> datetime | None:
    """A step at ``now`` s looking 1 s ahead; when it says the next one is needed."""
    until = seconds(now + 1)
    _, _, wake = store.step(
        seconds(now), planner(seconds(now), until), 500, "w", 10, 30, until=until, ahead=500
    )
    return wake


def test_a_look_ahead_step_comes_half_a_window_early_when_much_is_due(store: SqlStore) -> None:
    """Time to record a window's worth of fires before the first is due (a burst)."""
    store.add_jobs([one_shot(f"burst{i}", seconds(15)) for i in range(SPARSE)])
    assert look_ahead_step(store, 10) == seconds(14.5)


def test_a_look_ahead_step_comes_a_tenth_of_a_window_early_when_little_is_due(
    store: SqlStore,
) -> None:
    """Fewer jobs than SPARSE due in the next window: one tick per window, not two (an
    idle scheduler's steps were half its CPU)."""
    store.add_jobs([one_shot(f"few{i}", seconds(15)) for i in range(SPARSE - 1)])
    assert look_ahead_step(store, 10) == seconds(14.9)
    # Those due in the next window count, not those due later.
    store.add_jobs([one_shot(f"later{i}", seconds(16.5)) for i in range(SPARSE)])
    assert look_ahead_step(store, 10) == seconds(14.9)


def test_a_look_ahead_step_that_recorded_many_fires_expects_as_many_next(
    store: SqlStore,
) -> None:
    """A step that recorded SPARSE fires or more leaves half a window, however few jobs the
    next window holds: a few jobs may fire many times in it."""
    store.add_jobs([make_job(f"now{i}", first=seconds(10.5)) for i in range(SPARSE)])
    store.add_jobs([make_job("next", first=seconds(15))])
    assert look_ahead_step(store, 10) == seconds(14.5)


def test_step_claims_no_more_than_its_capacity(store: SqlStore) -> None:
    store.add_jobs([make_job(f"j{i}") for i in range(5)])
    result, claimed, wake = store.step(seconds(10), planner(seconds(10)), 500, "w", 2, 30)
    assert (result.jobs, len(claimed)) == (5, 2)
    assert wake == seconds(20)  # the three left were seen by this step: not a reason to wake
    assert len(store.claim_runs(seconds(10), "w", 10, 30)) == 3


def test_step_claims_ahead_beyond_the_free_workers(store: SqlStore) -> None:
    """Runs due later in the look-ahead wait in memory, not for a worker: ``ahead`` bounds
    them, ``capacity`` only those due now (a burst's window is claimed in a few steps)."""
    store.add_jobs([make_job(f"now{i}") for i in range(3)])
    store.add_jobs([make_job(f"later{i}", first=seconds(10.5)) for i in range(6)])
    _, claimed, _ = store.step(
        seconds(10), planner(seconds(10), seconds(11)), 500, "w", 2, 30, until=seconds(11), ahead=4
    )
    due = sorted(c.run.job_id for c in claimed if c.run.started_at == seconds(10))
    later = [c for c in claimed if c.run.started_at == seconds(10.5)]
    assert (len(due), len(later)) == (2, 4)
    # the rest: one due now, two due later, claimed by the next step
    _, claimed, _ = store.step(
        seconds(10), planner(seconds(10), seconds(11)), 500, "w", 5, 30, until=seconds(11), ahead=5
    )
    assert sorted(c.run.started_at for c in claimed) == [seconds(10), seconds(10.5), seconds(10.5)]


def test_list_runs_is_newest_first_and_filters(store: SqlStore) -> None:
    store.add_jobs([make_job("a"), make_job("b", first=seconds(15))])
    for second in (10, 20, 30):
        advance(store, seconds(second))
    store.claim_runs(seconds(10), "w", 1, 30)
    listed = store.list_runs()
    assert [r.id for r in listed] == sorted((r.id for r in listed), reverse=True)
    assert len(listed) == 5
    assert [r.scheduled_for for r in store.list_runs("a")] == [
        seconds(30),
        seconds(20),
        seconds(10),
    ]
    assert [r.scheduled_for for r in store.list_runs("b", limit=1)] == [seconds(25)]
    assert [r.job_id for r in store.list_runs(status=RunStatus.RUNNING)] == ["a"]


def test_list_events_is_oldest_first_from_an_id(store: SqlStore) -> None:
    store.add_jobs([make_job("a"), make_job("b")])
    store.append_events([Event(kind="custom", at=seconds(1), job_id="a", data={"n": 1})])
    every = store.list_events()
    assert kinds(every) == ["job.created", "job.created", "custom"]
    assert [e.id for e in every] == sorted(e.id for e in every if e.id is not None)
    assert every[2].data == {"n": 1}
    assert every[2].at == seconds(1)
    first_id = every[0].id
    assert first_id is not None
    assert [e.job_id for e in store.list_events(after_id=first_id)] == ["b", "a"]
    assert kinds(store.list_events(job_id="a")) == ["job.created", "custom"]
    assert len(store.list_events(limit=2)) == 2


# -- schema and connection ------------------------------------------------------------------


def test_migrations_applied_twice_are_a_no_op(new_database: Callable[..., str]) -> None:
    url = new_database(migrated=False)
    first = SqlStore(url)
    try:
        first.add_jobs([make_job("kept")])
        upgrade_schema(first.engine)
        second = SqlStore(url)
        try:
            assert [j.id for j in second.list_jobs()] == ["kept"]
        finally:
            second.close()
        with first.engine.connect() as conn:
            versions = conn.execute(text("SELECT version_num FROM gnomon_alembic_version"))
            assert len(versions.all()) == 1
    finally:
        first.close()


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/dev/null/gnomon.db", id="under-a-file"),
        pytest.param("/proc/no-such-folder/gnomon.db", id="cannot-create-folder"),
    ],
)
def test_an_unusable_sqlite_path_is_a_config_error_in_one_line(path: str) -> None:
    with pytest.raises(ConfigError) as caught:
        SqlStore(path)
    assert "\n" not in str(caught.value)
    assert path in str(caught.value)


def test_unreachable_postgres_is_store_unavailable_in_one_line() -> None:
    with pytest.raises(StoreUnavailable) as caught:
        SqlStore("postgresql+psycopg://postgres@127.0.0.1:1/test?connect_timeout=2")
    message = str(caught.value)
    assert "\n" not in message
    assert "unavailable" in message
    assert isinstance(caught.value, GnomonError)
