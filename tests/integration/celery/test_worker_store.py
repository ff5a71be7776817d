"""The Celery worker's store on PostgreSQL: no ping before each transaction, so a connection
the server dropped must fail as 'database away' and the next attempt must reconnect."""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest

from gnomon.clock import FakeClock
from gnomon.definitions import shell
from gnomon.dispatch.celery_worker import RunExecutor
from gnomon.models import RunStatus
from gnomon.planning import planner_at
from gnomon.scheduler import Scheduler
from gnomon.store import SqlStore


def queue_one(url: str, clock: FakeClock, job_id: str) -> int:
    store = SqlStore(url)
    with Scheduler(store=store, clock=clock, worker_id="s") as scheduler:
        scheduler.add(clock.now() + timedelta(seconds=1), shell(["true"]), id=job_id)
    now = clock.advance(1)
    _, [claimed], _ = store.step(now, planner_at(now), 10, "s", 10, 5.0, queue=True)
    store.close()
    return claimed.run.id


@pytest.mark.postgres
def test_a_dropped_connection_is_retried_not_a_failed_run(postgres_url: str) -> None:
    url = postgres_url.replace("postgresql://", "postgresql+psycopg://", 1)
    clock = FakeClock()
    worker_store = SqlStore(url, pre_ping=False)
    executor = RunExecutor(worker_store, lease=5.0, clock=clock, worker="celery@test:1")
    assert executor.execute(queue_one(url, clock, "first"))["status"] == "succeeded"
    second = queue_one(url, clock, "second")
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(postgres_url.rsplit("/", 1)[0] + "/test", autocommit=True) as admin:
        killed = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        ).fetchone()
    assert killed is not None
    assert killed[0] >= 1  # the worker's pooled connection is gone
    assert executor.execute(second) == {"run_id": second, "status": "succeeded", "recorded": True}
    assert worker_store.list_runs(job_id="second")[0].status is RunStatus.SUCCEEDED
    worker_store.close()
