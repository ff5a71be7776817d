"""gnomon's run policies on Celery workers: each test drives a scheduler with an injected
clock and a real Celery worker (in a thread, solo pool) over the local Redis."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from kombu import Connection

from gnomon.celery import make_app
from gnomon.clock import FakeClock
from gnomon.definitions import python, shell
from gnomon.dispatch.celery import TASK, CeleryDispatcher
from gnomon.models import Run, RunStatus
from gnomon.scheduler import Scheduler
from gnomon.settings import Settings
from tests.servers import require

NOTE = "tests.integration.celery.tasks:note"
FAIL_FIRST = "tests.integration.celery.tasks:fail_first"
WAIT = 30.0  # seconds a test waits for the worker at most
REPO = Path(__file__).resolve().parents[3]


class Results:
    """What the in-process worker's tasks returned, as they finish."""

    def __init__(self) -> None:
        self.values: list[dict[str, Any]] = []
        self.changed = threading.Condition()

    def add(self, retval: Any = None, **_: Any) -> None:
        with self.changed:
            self.values.append(retval)
            self.changed.notify_all()

    def wait_for(self, count: int) -> list[dict[str, Any]]:
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.values) >= count, WAIT), self.values
            return list(self.values)


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'gnomon.db'}"


@pytest.fixture
def app(db: str, queue: str) -> Iterator[Celery]:
    require("redis")
    settings = Settings(
        database_url=db, broker_url="redis://127.0.0.1:6379/0", celery_queue=queue, lease=5.0
    )
    app = make_app(settings)
    yield app
    with Connection(settings.broker_url) as conn:
        conn.default_channel.queue_delete(queue)


@pytest.fixture
def results() -> Iterator[Results]:
    found = Results()
    task_postrun.connect(found.add, weak=False)
    yield found
    task_postrun.disconnect(found.add)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def scheduler(db: str, app: Celery, queue: str, clock: FakeClock) -> Iterator[Scheduler]:
    dispatcher = CeleryDispatcher(app, queue=queue, resend_after=60)
    with Scheduler(db, dispatcher=dispatcher, clock=clock, worker_id="sched") as s:
        yield s


def worker(app: Celery) -> Any:
    return start_worker(
        app,
        pool="solo",
        concurrency=1,
        perform_ping_check=False,
        loglevel="WARNING",
        shutdown_timeout=10,
    )


def soon(clock: FakeClock) -> datetime:
    """A one-shot time one second ahead (a test then advances the clock to it)."""
    return clock.now() + timedelta(seconds=1)


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def only_run(scheduler: Scheduler, job_id: str) -> Run:
    [run] = scheduler.runs(job_id)
    return run


def test_a_run_is_queued_then_started_once_by_a_worker(
    scheduler: Scheduler, app: Celery, clock: FakeClock, results: Results, tmp_path: Path
) -> None:
    ledger = tmp_path / "ledger"
    scheduler.add(soon(clock), python(NOTE, path=str(ledger)), id="once")
    clock.advance(1)
    scheduler.tick()
    run = only_run(scheduler, "once")
    assert run.status is RunStatus.QUEUED
    assert run.started_at is None
    # The broker delivers the run twice (a re-send, or its own redelivery): one execution.
    app.send_task(TASK, args=[run.id], kwargs={"job": "once", "attempt": 1})
    with worker(app):
        values = results.wait_for(2)
    assert sorted(v["status"] for v in values) == ["duplicate", "succeeded"]
    assert lines(ledger) == [f"{run.id} 1"]
    done = only_run(scheduler, "once")
    assert done.status is RunStatus.SUCCEEDED
    assert done.worker
    assert done.worker.startswith("celery@")
    kinds = [e.kind for e in scheduler.events(job_id="once")]
    assert kinds.count("run.queued") == 1
    assert kinds.count("run.started") == 1


def test_a_message_the_broker_lost_is_sent_again(
    scheduler: Scheduler,
    app: Celery,
    clock: FakeClock,
    results: Results,
    tmp_path: Path,
    queue: str,
) -> None:
    ledger = tmp_path / "ledger"
    scheduler.add(soon(clock), python(NOTE, path=str(ledger)), id="once")
    clock.advance(1)
    scheduler.tick()
    with app.connection_for_write() as conn:  # the broker restarts and forgets it
        assert conn.default_channel.queue_purge(queue) == 1
    clock.advance(30)  # before the re-send moment: nothing happens
    scheduler.tick()
    with app.connection_for_write() as conn:
        assert conn.default_channel.queue_purge(queue) == 0
    clock.advance(31 + scheduler.lease)  # past it (and past a heartbeat's interval)
    scheduler.tick()
    with worker(app):
        results.wait_for(1)
    assert lines(ledger) == [f"{only_run(scheduler, 'once').id} 1"]
    assert only_run(scheduler, "once").status is RunStatus.SUCCEEDED


def test_a_failed_attempt_is_retried_through_the_broker(
    scheduler: Scheduler, app: Celery, clock: FakeClock, results: Results, tmp_path: Path
) -> None:
    ledger = tmp_path / "ledger"
    scheduler.add(
        soon(clock), python(FAIL_FIRST, path=str(ledger)), id="flaky", max_attempts=2, backoff=1.0
    )
    clock.advance(1)
    scheduler.tick()
    with worker(app):
        results.wait_for(1)
        [retry, failed] = scheduler.runs("flaky")
        assert failed.status is RunStatus.FAILED
        assert "first attempt fails" in (failed.error or "")
        assert retry.status is RunStatus.PENDING
        assert retry.attempt == 2
        clock.set(retry.due_at + timedelta(seconds=1))
        scheduler.tick()
        results.wait_for(2)
    runs = scheduler.runs("flaky")
    assert [r.status for r in runs] == [RunStatus.SUCCEEDED, RunStatus.FAILED]
    assert len(lines(ledger)) == 2


def test_a_timeout_stops_the_run_on_the_worker(
    scheduler: Scheduler, app: Celery, clock: FakeClock, results: Results
) -> None:
    scheduler.add(soon(clock), shell(["sleep", "30"]), id="slow", timeout=0.5)
    clock.advance(1)
    scheduler.tick()
    with worker(app):
        results.wait_for(1)
    run = only_run(scheduler, "slow")
    assert run.status is RunStatus.TIMED_OUT, run


def test_a_queued_run_of_a_removed_job_is_dropped(
    scheduler: Scheduler, app: Celery, clock: FakeClock, results: Results, tmp_path: Path
) -> None:
    ledger = tmp_path / "ledger"
    scheduler.add(soon(clock), python(NOTE, path=str(ledger)), id="gone")
    clock.advance(1)
    scheduler.tick()
    assert only_run(scheduler, "gone").status is RunStatus.QUEUED
    scheduler.remove("gone")
    with worker(app):
        [value] = results.wait_for(1)
    assert value["status"] == "duplicate"
    assert lines(ledger) == []
    assert scheduler.store.list_runs(job_id="gone")[0].status is RunStatus.CANCELLED


def test_overlap_skip_counts_a_queued_run_as_unfinished(
    scheduler: Scheduler, clock: FakeClock, tmp_path: Path
) -> None:
    scheduler.add(
        "every 1s", python(NOTE, path=str(tmp_path / "ledger")), id="tick", overlap="skip"
    )
    clock.advance(1)
    scheduler.tick()
    clock.advance(1)
    scheduler.tick()  # no worker: the first run is still queued
    statuses = [r.status for r in scheduler.runs("tick")]
    assert statuses == [RunStatus.SKIPPED, RunStatus.QUEUED]


def test_celery_runs_gnomons_worker_itself(
    db: str, queue: str, clock: FakeClock, tmp_path: Path
) -> None:
    """``celery -A gnomon.celery worker``, set up by GNOMON_* variables alone."""
    require("redis")
    ledger = tmp_path / "ledger"
    broker = "redis://127.0.0.1:6379/0"
    settings = Settings(database_url=db, broker_url=broker, celery_queue=queue)
    dispatcher = CeleryDispatcher(make_app(settings), queue=queue)
    env = dict(
        os.environ,
        GNOMON_DATABASE_URL=db,
        GNOMON_BROKER_URL=broker,
        GNOMON_CELERY_QUEUE=queue,
        PYTHONPATH=str(REPO),
    )
    celery = Path(sys.executable).parent / "celery"
    command = [
        str(celery),
        "-A",
        "gnomon.celery",
        "worker",
        "--pool",
        "solo",
        "-Q",
        queue,
        "--without-mingle",
        "--without-gossip",
        "--loglevel",
        "WARNING",
    ]
    with Scheduler(db, dispatcher=dispatcher, clock=clock, worker_id="sched") as scheduler:
        scheduler.add(soon(clock), python(NOTE, path=str(ledger)), id="once")
        clock.advance(1)
        scheduler.tick()
        worker_process = subprocess.Popen(command, env=env, cwd=REPO)
        try:
            deadline = time.monotonic() + WAIT
            while only_run(scheduler, "once").status is not RunStatus.SUCCEEDED:
                assert worker_process.poll() is None, "the worker exited"
                assert time.monotonic() < deadline, only_run(scheduler, "once")
                time.sleep(0.05)
        finally:
            worker_process.terminate()
            worker_process.wait(timeout=30)
    assert len(lines(ledger)) == 1
