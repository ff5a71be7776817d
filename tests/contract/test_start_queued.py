"""Starting a queued run by id (the Celery worker's fence), on every backend: one statement
starts it and returns it with its job's action and policy; a second delivery gets None; a
run whose job was removed is not started. On PostgreSQL the worker's start and its outcome
are one round trip each, with the same rows and events as the general path."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from sqlalchemy import delete, select

from gnomon.definitions import define_job, shell
from gnomon.models import RunStatus
from gnomon.planning import planner_at
from gnomon.store import FinishedRun, SqlStore
from gnomon.store.statements import FINISH_ONE, START_QUEUED
from gnomon.store.tables import events, jobs
from tests.backends import BACKENDS

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def queued(store: SqlStore, job_id: str) -> int:
    store.add_jobs(
        [define_job(START + timedelta(seconds=1), shell(["true"]), now=START, id=job_id)]
    )
    due = START + timedelta(seconds=1)
    _, claimed, _ = store.step(due, planner_at(due), 10, "sender", 10, 5.0, queue=True)
    [item] = claimed
    assert item.run.status is RunStatus.QUEUED
    return item.run.id


def test_a_queued_run_starts_once_with_its_action(store_url: str) -> None:
    store = SqlStore(store_url)
    try:
        run_id = queued(store, "job")
        now = START + timedelta(seconds=2)
        started = store.start_queued(run_id, "w1", now, 30.0)
        assert started is not None
        assert started.run.id == run_id
        assert started.run.job_id == "job"
        assert started.run.status is RunStatus.RUNNING
        assert started.run.worker == "w1"
        assert started.run.started_at == now
        assert started.action.kind == "shell"
        assert started.action.config["argv"] == ["true"]
        assert store.start_queued(run_id, "w2", now, 30.0) is None  # a duplicate delivery
        run = store.get_run(run_id)
        assert run is not None
        assert run.worker == "w1"
        assert run.status is RunStatus.RUNNING
        assert [e.kind for e in store.list_events(job_id="job")].count("run.started") == 1
    finally:
        store.close()


def test_an_unknown_run_is_not_started(store_url: str) -> None:
    store = SqlStore(store_url)
    try:
        assert store.start_queued(987654, "w1", START, 30.0) is None
    finally:
        store.close()


def test_a_queued_run_whose_job_is_gone_is_cancelled_not_started(store_url: str) -> None:
    store = SqlStore(store_url)
    try:
        run_id = queued(store, "job")
        with store.engine.begin() as conn:  # gone behind the store's back: a race, or by hand
            conn.execute(delete(jobs).where(jobs.c.id == "job"))
        now = START + timedelta(seconds=2)
        assert store.start_queued(run_id, "w1", now, 30.0) is None
        run = store.get_run(run_id)
        assert run is not None
        assert (run.status, run.finished_at, run.error) == (
            RunStatus.CANCELLED,
            now,
            "its job was removed",
        )
        assert "run.started" not in [e.kind for e in store.list_events(job_id="job")]
    finally:
        store.close()


WORKER = 'celery@h\u00f4st:"1"'  # a name JSON must escape


def event_texts(store: SqlStore) -> dict[str, str]:
    """The stored JSON text of each event's data, by kind."""
    with store.engine.connect() as conn:
        return {kind: data for kind, data in conn.execute(select(events.c.kind, events.c.data))}


def test_a_start_and_an_outcome_store_the_same_event_json_on_every_backend(store_url: str) -> None:
    store = SqlStore(store_url)
    try:
        run_id = queued(store, "job")
        now = START + timedelta(seconds=2)
        assert store.start_queued(run_id, WORKER, now, 30.0) is not None
        outcome = FinishedRun(
            run_id=run_id, worker=WORKER, status=RunStatus.FAILED, finished_at=now, error="no\n"
        )
        assert store.finish_runs([outcome]) == [True]
        texts = event_texts(store)
        assert texts["run.started"] == '{"attempt":1,"worker":"celery@h\\u00f4st:\\"1\\""}'
        assert texts["run.failed"] == '{"attempt":1,"error":"no\\n"}'
        run = store.get_run(run_id)
        assert run is not None
        assert (run.status, run.error, run.finished_at) == (RunStatus.FAILED, "no\n", now)
    finally:
        store.close()


@contextmanager
def round_trips(store: SqlStore) -> Iterator[list[str]]:
    """The transaction status the server reports after each round trip on the store's
    connection (libpq's trace of the protocol: one ``ReadyForQuery`` per round trip; ``I``
    is idle, outside any transaction, ``T`` inside one)."""
    with store.engine.connect() as conn:  # the pool's one connection, used next
        pgconn = conn.connection.driver_connection.pgconn  # type: ignore[union-attr]
    statuses: list[str] = []
    with tempfile.TemporaryFile() as trace:
        pgconn.trace(trace.fileno())
        pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)
        try:
            yield statuses
        finally:
            pgconn.untrace()
        trace.seek(0)
        for line in trace.read().decode().splitlines():
            parts = line.split()
            if parts[:1] == ["B"] and "ReadyForQuery" in parts:
                statuses.append(parts[-1])


@pytest.mark.parametrize("backend", [BACKENDS[1]])
def test_on_postgresql_a_start_and_an_outcome_are_one_round_trip_each(store_url: str) -> None:
    store = SqlStore(store_url, pre_ping=False)  # as the Celery worker's store
    try:
        run_id = queued(store, "job")
        now = START + timedelta(seconds=2)
        with round_trips(store) as started:
            claimed = store.start_queued(run_id, "w1", now, 30.0)
        assert claimed is not None
        assert started == ["I"]  # one statement, committed on its own
        done = FinishedRun(run_id=run_id, worker="w1", status=RunStatus.SUCCEEDED, finished_at=now)
        with round_trips(store) as finished:
            assert store.finish_runs([done]) == [True]
        assert finished == ["I"]
        with round_trips(store) as refused:  # a second outcome: the guard refuses it
            assert store.finish_runs([done]) == [False]
        assert refused == ["I"]
        assert store.get_run(run_id).status is RunStatus.SUCCEEDED  # type: ignore[union-attr]
    finally:
        store.close()


@pytest.mark.parametrize("backend", [BACKENDS[1]])
def test_on_postgresql_a_start_and_an_outcome_find_the_run_by_primary_key(
    new_database: Callable[..., str],
) -> None:
    """Not by scanning the partial index of queued (or running) runs, which a plan made while
    the table looks small prefers: each start of a burst then read the whole queue."""
    store = SqlStore(new_database())  # a new database: no statistics yet, as in a burst
    try:
        for i in range(200):
            queued(store, f"job-{i}")
        params = {"worker": "w1", "now": 1, "until": 2, "rest": "}", "status": "succeeded"}
        params |= {"finished_at": 3, "result": None, "error": None, "output": None, "kind": "k"}
        with store.engine.connect() as conn:
            for statement in (START_QUEUED, FINISH_ONE):
                sql = str(statement.statement.compile(dialect=conn.dialect))
                plan = conn.exec_driver_sql("EXPLAIN " + sql, {**params, "id": 100}).scalars()
                scans = [line for line in plan if "Scan" in line and " on gnomon_runs " in line]
                assert scans, sql
                assert all("gnomon_runs_pkey" in line for line in scans), scans
            conn.rollback()
    finally:
        store.close()
