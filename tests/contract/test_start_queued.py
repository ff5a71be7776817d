"""Starting a queued run by id (the Celery worker's fence), on every backend: one statement
starts it and returns it with its job's action and policy; a second delivery gets None; a
run whose job was removed is not started."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gnomon.definitions import define_job, shell
from gnomon.models import RunStatus
from gnomon.planning import planner_at
from gnomon.store import SqlStore

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
