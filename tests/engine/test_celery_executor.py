"""The Celery worker's run executor, on a real SQLite store (no broker needed)."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from gnomon.clock import FakeClock
from gnomon.definitions import shell
from gnomon.dispatch.celery_worker import RunExecutor
from gnomon.errors import StoreUnavailable
from gnomon.models import RunStatus
from gnomon.planning import planner_at
from gnomon.scheduler import Scheduler
from gnomon.store import SqlStore


class AwayAtFirst:
    """A store whose database is away for the first ``failures`` calls of ``method``."""

    def __init__(self, store: SqlStore, method: str, failures: int) -> None:
        self.store, self.method, self.failures = store, method, failures

    def __getattr__(self, name: str) -> Any:
        real = getattr(self.store, name)
        if name != self.method:
            return real

        def flaky(*args: Any, **kwargs: Any) -> Any:
            if self.failures > 0:
                self.failures -= 1
                raise StoreUnavailable("database restarting")
            return real(*args, **kwargs)

        return flaky


def queued_run(tmp_path: Path, argv: tuple[str, ...] = ("true",)) -> tuple[SqlStore, int]:
    """A store holding one run (of the command ``argv``) claimed 'queued' for a broker."""
    clock = FakeClock()
    store = SqlStore(str(tmp_path / "gnomon.db"))
    with Scheduler(store=store, clock=clock, worker_id="s") as scheduler:
        scheduler.add(clock.now() + timedelta(seconds=1), shell(list(argv)), id="job")
    now = clock.advance(1)
    _, claimed, _ = store.step(now, planner_at(now), 10, "s", 10, 5.0, queue=True)
    [item] = claimed
    assert item.run.status is RunStatus.QUEUED
    return store, item.run.id


@pytest.mark.parametrize("method", ["start_queued_many", "finish_runs"])
def test_a_worker_waits_for_the_database_to_start_and_record_a_run(
    tmp_path: Path, method: str
) -> None:
    store, run_id = queued_run(tmp_path)
    flaky = AwayAtFirst(store, method, failures=2)
    executor = RunExecutor(flaky, lease=5.0, clock=FakeClock(), worker="celery@test:1")  # type: ignore[arg-type]
    assert executor.execute(run_id) == {"run_id": run_id, "status": "succeeded", "recorded": True}
    assert flaky.failures == 0
    assert store.list_runs(job_id="job")[0].status is RunStatus.SUCCEEDED


def test_a_second_delivery_of_a_run_is_dropped(tmp_path: Path) -> None:
    store, run_id = queued_run(tmp_path)
    executor = RunExecutor(store, lease=5.0, worker="celery@test:1")
    assert executor.execute(run_id)["status"] == "succeeded"
    assert executor.execute(run_id) == {"run_id": run_id, "status": "duplicate"}
    [run] = store.list_runs(job_id="job")
    assert run.status is RunStatus.SUCCEEDED
    assert run.worker == "celery@test:1"


@pytest.mark.parametrize(
    ("argv", "level"), [(("true",), logging.DEBUG), (("false",), logging.INFO)]
)
def test_a_worker_logs_at_info_only_the_runs_that_did_not_succeed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, argv: tuple[str, ...], level: int
) -> None:
    store, run_id = queued_run(tmp_path, argv)
    executor = RunExecutor(store, lease=5.0, worker="celery@test:1")
    caplog.set_level(logging.DEBUG, logger="gnomon.runner")
    executor.execute(run_id)
    [record] = [r for r in caplog.records if r.name == "gnomon.runner"]
    assert record.levelno == level
    assert record.getMessage().startswith(f"run {run_id} of job job attempt 1: ")
