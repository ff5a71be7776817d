"""Schedulers and Celery workers in separate processes, on PostgreSQL, over Redis and
RabbitMQ: a mixed load runs each fire once, executed by the workers, never by a scheduler."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

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
            f"worker-{i}@%h",
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
