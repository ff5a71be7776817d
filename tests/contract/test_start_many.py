"""Several queued runs started at once, and several outcomes recorded at once (a Celery
worker's group commit, gnomon.dispatch.group_commit), on every backend: each run as if alone
(the same fence, rows and events as :meth:`start_queued` and one outcome), one statement on
PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select

from gnomon.definitions import define_job, shell
from gnomon.dispatch.celery_worker import RunExecutor
from gnomon.models import RunStatus
from gnomon.planning import planner_at
from gnomon.store import FinishedRun, SqlStore
from gnomon.store.statements import FINISH_MANY, START_QUEUED_MANY
from gnomon.store.tables import events, jobs
from tests.backends import BACKENDS
from tests.contract.test_start_queued import START, WORKER, queued, round_trips


def finished(run_id: int, worker: str, status: RunStatus, at: datetime, **more: Any) -> FinishedRun:
    return FinishedRun(run_id=run_id, worker=worker, status=status, finished_at=at, **more)


def started_events(store: SqlStore) -> dict[int, list[str]]:
    with store.engine.connect() as conn:
        found = conn.execute(
            select(events.c.run_id, events.c.data).where(events.c.kind == "run.started")
        )
        out: dict[int, list[str]] = {}
        for run_id, data in found:
            out.setdefault(run_id, []).append(data)
        return out


def test_queued_runs_start_at_once_each_as_if_alone(store_url: str) -> None:
    store = SqlStore(store_url)
    try:
        a, b, taken, gone = (queued(store, f"job-{n}") for n in "abcd")
        now = START + timedelta(seconds=2)
        assert store.start_queued(taken, "w0", now, 30.0) is not None  # started before
        with store.engine.begin() as conn:  # its job removed behind the store's back
            conn.execute(delete(jobs).where(jobs.c.id == "job-d"))
        got = store.start_queued_many([a, taken, 987654, gone, b], WORKER, now, 30.0)
        assert [c.run.id if c else None for c in got] == [a, None, None, None, b]
        for claimed, job in ((got[0], "job-a"), (got[4], "job-b")):
            assert claimed is not None
            assert (claimed.run.job_id, claimed.run.status) == (job, RunStatus.RUNNING)
            assert (claimed.run.worker, claimed.run.started_at) == (WORKER, now)
            assert claimed.action.config["argv"] == ["true"]
        assert store.get_run(taken).worker == "w0"  # type: ignore[union-attr]
        cancelled = store.get_run(gone)
        assert cancelled is not None
        assert (cancelled.status, cancelled.finished_at, cancelled.error) == (
            RunStatus.CANCELLED,
            now,
            "its job was removed",
        )
        texts = started_events(store)
        assert texts[a] == texts[b] == ['{"attempt":1,"worker":"celery@h\\u00f4st:\\"1\\""}']
        assert gone not in texts
        assert len(texts[taken]) == 1
    finally:
        store.close()


def test_outcomes_recorded_at_once_each_as_if_alone(store_url: str) -> None:
    store = SqlStore(store_url)
    try:
        ids = [queued(store, f"job-{n}") for n in range(3)]
        now = START + timedelta(seconds=2)
        assert all(store.start_queued_many(ids, "w1", now, 30.0))
        done = now + timedelta(seconds=1)
        outcomes = [
            finished(ids[0], "w1", RunStatus.SUCCEEDED, done, result={"n": 1}),
            finished(ids[1], "w1", RunStatus.FAILED, done, error="no\n", output="out"),
            finished(ids[2], "w2", RunStatus.SUCCEEDED, done),  # not its holder: refused
        ]
        assert store.finish_runs(outcomes) == [True, True, False]
        first, second, third = (store.get_run(i) for i in ids)
        assert first is not None
        assert second is not None
        assert third is not None
        assert (first.status, first.result, first.finished_at) == (
            RunStatus.SUCCEEDED,
            {"n": 1},
            done,
        )
        assert (second.status, second.error, second.output) == (RunStatus.FAILED, "no\n", "out")
        assert third.status is RunStatus.RUNNING
        with store.engine.connect() as conn:
            kinds = dict(
                conn.execute(
                    select(events.c.run_id, events.c.data).where(
                        events.c.kind.in_(["run.succeeded", "run.failed"])
                    )
                ).all()
            )
        assert kinds == {ids[0]: '{"attempt":1}', ids[1]: '{"attempt":1,"error":"no\\n"}'}
        assert store.finish_runs(outcomes[:2]) == [False, False]  # recorded once
    finally:
        store.close()


@pytest.mark.parametrize("backend", [BACKENDS[1]])
def test_on_postgresql_starts_and_outcomes_at_once_are_one_round_trip(store_url: str) -> None:
    store = SqlStore(store_url, pre_ping=False)  # as the Celery worker's store
    try:
        ids = [queued(store, f"job-{n}") for n in range(3)]
        now = START + timedelta(seconds=2)
        with round_trips(store) as started:
            assert all(store.start_queued_many(ids, "w1", now, 30.0))
        assert started == ["I"]
        done = [finished(i, "w1", RunStatus.SUCCEEDED, now) for i in ids]
        with round_trips(store) as recorded:
            assert store.finish_runs(done) == [True, True, True]
        assert recorded == ["I"]
    finally:
        store.close()


@pytest.mark.parametrize("backend", [BACKENDS[1]])
def test_on_postgresql_runs_started_and_finished_at_once_are_found_by_primary_key(
    new_database: Callable[..., str],
) -> None:
    """As for one run (tests/contract/test_start_queued.py): never a scan of the queue (the
    partial index of queued or running runs, which a plan made on a new database's empty
    statistics prefers, or the whole table). (A plan made once for all values, which psycopg
    asks for from a statement's sixth execution, scans the table; PostgreSQL keeps to plans
    made for the values while those cost less, and they do once the table has a few pages.)"""
    store = SqlStore(new_database())  # a new database: no statistics yet, as in a burst
    try:
        due = START + timedelta(seconds=1)
        store.add_jobs(
            [define_job(due, shell(["true"]), now=START, id=f"job-{i}") for i in range(3000)]
        )
        store.step(due, planner_at(due), 3000, "sender", 3000, 5.0, queue=True)
        params = {"worker": "w1", "now": 1, "until": 2, "rest": "}", "ids": [100, 101]}
        params |= {"workers": ["w1"] * 2, "statuses": ["succeeded"] * 2, "finished": [3, 3]}
        params |= {"results": [None] * 2, "errors": [None] * 2, "outputs": [None] * 2}
        params |= {"kinds": ["k"] * 2, "rests": ["}"] * 2}
        with store.engine.connect() as conn:
            for statement in (START_QUEUED_MANY, FINISH_MANY):
                sql = str(statement.statement.compile(dialect=conn.dialect))
                plan = "\n".join(conn.exec_driver_sql("EXPLAIN " + sql, params).scalars())
                assert "gnomon_runs_pkey" in plan, plan
                assert "Seq Scan on gnomon_runs" not in plan, plan
                assert "ix_gnomon_runs" not in plan, plan
            conn.rollback()
    finally:
        store.close()


def test_a_pool_of_threads_executes_each_run_once_however_often_it_is_delivered(
    store_url: str,
) -> None:
    """Eight threads, each run delivered twice: every run starts, runs and is recorded once
    (the other delivery is a duplicate), with one start event each."""
    store = SqlStore(store_url)
    try:
        ids = [queued(store, f"job-{n}") for n in range(24)]
        executor = RunExecutor(SqlStore(store_url), lease=30.0, worker="celery@test:1")
        try:
            with ThreadPoolExecutor(8) as pool:
                results = list(pool.map(executor.execute, ids + ids[::-1]))
        finally:
            executor.close()
        statuses = sorted(r["status"] for r in results)
        assert statuses == ["duplicate"] * 24 + ["succeeded"] * 24
        assert all(r["recorded"] for r in results if r["status"] == "succeeded")
        assert all(store.get_run(i).status is RunStatus.SUCCEEDED for i in ids)  # type: ignore[union-attr]
        assert {i: len(texts) for i, texts in started_events(store).items()} == dict.fromkeys(
            ids, 1
        )
        assert executor.starts.items == executor.finishes.items + 24 == 48
    finally:
        store.close()
