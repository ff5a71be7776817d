"""Schedulers and Celery workers in separate processes, on PostgreSQL, over Redis and
RabbitMQ: a mixed load runs each fire once, executed by the workers, never by a scheduler."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest

from gnomon.definitions import define_job, python
from gnomon.models import RunStatus
from gnomon.planning import MAX_LOSSES
from gnomon.store import SqlStore
from tests.integration.celery.conftest import BROKERS
from tests.reliability.checker import check, interval_fires, recorded_twice
from tests.reliability.conftest import Launcher
from tests.reliability.ledger import read
from tests.reliability.workload import (
    every,
    next_whole_second,
    one_shot,
    store_jobs,
    utcnow,
    wait_for_ledger,
)

CRASH = "tests.integration.celery.tasks:crash"
SCHEDULER_READY = "gnomon scheduler"
WORKER_READY = " ready."  # Celery: "celery@host ready."


@pytest.mark.postgres
@pytest.mark.parametrize("broker", BROKERS)
def test_schedulers_and_workers_run_each_fire_once(
    postgres_url: str, broker_url: str, queue: str, launcher: Launcher, tmp_path: Path
) -> None:
    ledger = tmp_path / "ledger.jsonl"
    broker_args = ("--broker", broker_url, "--queue", queue)
    schedulers = [
        launcher.start(
            postgres_url, f"scheduler-{i}", *broker_args, command="scheduler", ready=SCHEDULER_READY
        )
        for i in (1, 2)
    ]
    workers = [
        launcher.start(
            postgres_url,
            f"worker-{i}",
            *broker_args,
            "--pool",
            "prefork",
            "--concurrency",
            "2",
            "--hostname",
            f"{queue}-worker-{i}@%h",  # node names are global on a shared broker
            command="worker",
            ready=WORKER_READY,
        )
        for i in (1, 2)
    ]
    for process in schedulers + workers:
        process.wait_ready(timeout=60)
    start = next_whole_second(utcnow(), margin=1)
    until = start + timedelta(seconds=6)
    ticks = [every(f"tick-{i}", 1, start, ledger) for i in range(4)]
    shots = [one_shot(f"once-{i}", start + timedelta(seconds=i * 0.2), ledger) for i in range(25)]
    store_jobs(postgres_url, ticks + shots)
    must = [f for j in ticks for f in interval_fires(j.id, start, timedelta(seconds=1), until)]
    must += [(j.id, start + timedelta(seconds=i * 0.2)) for i, j in enumerate(shots)]
    wait_for_ledger(
        ledger,
        lambda entries: {e.fire for e in entries} >= set(must),
        until=utcnow() + timedelta(seconds=60),
    )
    for process in schedulers + workers:
        process.stop()
    later = [
        f
        for j in ticks
        for f in interval_fires(j.id, until, timedelta(seconds=1), until + timedelta(seconds=120))
    ]
    report = check(must, later, read(ledger))
    assert report.ok, report.summary() + "\n" + launcher.describe()
    assert recorded_twice(postgres_url) == []
    scheduler_pids = {p.pid for p in schedulers}
    assert not scheduler_pids & set(report.by_pid), "a scheduler executed a run itself"
    assert len(report.by_pid) >= 2, f"one worker process did everything: {report.by_pid}"


@pytest.mark.postgres
@pytest.mark.parametrize("broker", [BROKERS[0]])
def test_a_run_that_kills_its_worker_is_dead_lettered(
    postgres_url: str,
    broker_url: str,
    queue: str,
    launcher: Launcher,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GNOMON_LEASE", "2")  # the processes' lease: lost runs come back soon
    ledger = tmp_path / "ledger"
    broker_args = ("--broker", broker_url, "--queue", queue)
    processes = [
        launcher.start(
            postgres_url, "scheduler", *broker_args, command="scheduler", ready=SCHEDULER_READY
        ),
        launcher.start(
            postgres_url,
            "worker",
            *broker_args,
            "--pool",
            "prefork",
            "--concurrency",
            "1",
            "--without-mingle",
            "--without-gossip",
            command="worker",
            ready=WORKER_READY,
        ),
    ]
    for process in processes:
        process.wait_ready(timeout=60)
    action = python(CRASH, path=str(ledger))
    store_jobs(
        postgres_url,
        [define_job(utcnow() + timedelta(seconds=1), action, now=utcnow(), id="poison")],
    )
    store = SqlStore(postgres_url)
    deadline = utcnow() + timedelta(seconds=60)
    while not (runs := store.list_runs(job_id="poison")) or runs[-1].status is not RunStatus.LOST:
        assert utcnow() < deadline, f"{runs}\n{launcher.describe()}"
        time.sleep(0.2)
    run = runs[-1]
    store.close()
    executions = len(ledger.read_text().splitlines())
    assert executions == MAX_LOSSES + 1, executions
    assert all(p.alive() for p in processes), launcher.describe()  # the pool replaced its child
    assert "vanished" in (run.error or "")
