"""Driver errors never cross the store's boundary: every public method raises gnomon's own.

On both databases, a duplicate insert is a :class:`~gnomon.errors.Conflict` (a
:class:`~gnomon.errors.JobExists` for a job id), never SQLAlchemy's ``IntegrityError``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import SQLAlchemyError

from gnomon.errors import Conflict, JobExists, StoreUnavailable
from gnomon.instants import to_micros
from gnomon.models import RunReason, RunStatus
from gnomon.planning import planner_at
from gnomon.store import SqlStore
from gnomon.store.tables import runs
from tests.contract.test_store import make_job

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def one_line(error: BaseException) -> str:
    assert not isinstance(error, SQLAlchemyError)
    assert "\n" not in str(error)
    return str(error)


def test_a_job_id_taken_in_another_store_is_job_exists(
    open_store: Callable[[], SqlStore],
) -> None:
    first, second = open_store(), open_store()
    first.add_jobs([make_job("a")])
    with pytest.raises(JobExists) as caught:
        second.add_jobs([make_job("a")])  # the database refuses the key: nothing checked before
    assert one_line(caught.value) == (
        "a job with id 'a' already exists (use update, or another id)"
    )


def test_a_duplicate_insert_on_the_write_path_is_a_conflict(store: SqlStore) -> None:
    store.add_jobs([make_job("a")])
    run = store.add_run("a", T0, T0, RunReason.MANUAL)
    row = {c.key: None for c in runs.c if c.key != "id"}
    fire = {"job_id": "a", "scheduled_for": to_micros(run.scheduled_for), "attempt": 1}
    row.update(fire, due_at=0, reason="manual", status="pending", created_at=0)
    row["cancel_requested"] = False
    with pytest.raises(Conflict) as caught, store._write() as conn:
        conn.execute(runs.insert(), [row])  # a plain INSERT of a fire already recorded
    assert one_line(caught.value).startswith("the change conflicts with what is stored: ")
    assert isinstance(caught.value.__cause__, SQLAlchemyError)  # kept for -v, not raised
    assert [r.id for r in store.list_runs("a")] == [run.id]  # the transaction rolled back


def test_backfilling_a_fire_that_ran_is_a_conflict(store: SqlStore) -> None:
    store.add_jobs([make_job("a")])
    store.advance_jobs(T0 + timedelta(seconds=10), planner_at(T0 + timedelta(seconds=10)))
    [claimed] = store.claim_runs(T0 + timedelta(seconds=10), "w", 1, 30)
    assert claimed.run.status is RunStatus.RUNNING
    with pytest.raises(Conflict) as caught:
        store.add_run("a", claimed.run.scheduled_for, T0, RunReason.BACKFILL)
    assert "'a' already has a run" in one_line(caught.value)


def test_an_unreachable_database_is_store_unavailable() -> None:
    with pytest.raises(StoreUnavailable) as caught:
        SqlStore("postgresql://gnomon@127.0.0.1:1/none")
    assert one_line(caught.value).startswith("database unavailable: ")
