"""Retention on every backend: which runs and events a prune removes, in batches, and what
it never touches. Times are passed in; history is written as rows of given ages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text

from gnomon.events import Event
from gnomon.instants import to_micros
from gnomon.models import RunReason, RunStatus
from gnomon.pruner import cycle, prune_all
from gnomon.retention import Retention
from gnomon.store import SqlStore, admin
from gnomon.store.retention import pruned_counts
from gnomon.store.tables import audit, runs
from tests.contract.test_store import make_job

NOW = datetime(2026, 6, 1, tzinfo=UTC)
RULES = Retention(runs_days=30, failed_days=90, per_job=0, events_days=30)


def days_ago(n: float) -> datetime:
    return NOW - timedelta(days=n)


def record(
    store: SqlStore,
    job_id: str,
    status: RunStatus,
    ended: datetime | None,
    *,
    reason: RunReason = RunReason.SCHEDULE,
    attempt: int = 1,
) -> int:
    """A run of ``job_id`` recorded at ``ended`` (or now, unfinished); its id."""
    at = ended or NOW
    scheduled_for = to_micros(at) + len(store.list_runs(job_id, limit=100_000))
    values = SqlStore._retry_values(job_id, scheduled_for, attempt, at, at)
    values.update(
        reason=reason.value,
        status=status.value,
        started_at=None if status is RunStatus.PENDING else to_micros(at),
        finished_at=to_micros(at) if status.finished else None,
    )
    with store._write() as conn:
        return int(conn.execute(runs.insert().values(values).returning(runs.c.id)).scalar_one())


def ids(store: SqlStore, job_id: str | None = None) -> list[int]:
    return sorted(r.id for r in store.list_runs(job_id, limit=100_000))


@pytest.fixture
def jobs(store: SqlStore) -> SqlStore:
    store.add_jobs([make_job("a"), make_job("b")], event_data=False)
    return store


def test_finished_runs_go_after_their_age_and_failures_are_kept_longer(jobs: SqlStore) -> None:
    store = jobs
    old_success = record(store, "a", RunStatus.SUCCEEDED, days_ago(31))
    old_missed = record(store, "a", RunStatus.MISSED, days_ago(40))
    young_failure = record(store, "a", RunStatus.FAILED, days_ago(60))
    old_failure = record(store, "a", RunStatus.TIMED_OUT, days_ago(91))
    young = record(store, "a", RunStatus.SUCCEEDED, days_ago(29))
    report = prune_all(store, RULES, NOW)
    assert ids(store) == [young_failure, young]
    assert report.runs == {"succeeded": 1, "missed": 1, "timed_out": 1}
    assert old_success not in ids(store)
    assert old_missed not in ids(store)
    assert old_failure not in ids(store)


def test_unfinished_runs_and_the_newest_finished_run_of_each_job_are_never_removed(
    jobs: SqlStore,
) -> None:
    store = jobs
    record(store, "a", RunStatus.SUCCEEDED, days_ago(400))
    monthly_last = record(store, "a", RunStatus.FAILED, days_ago(300))  # its job's last
    stuck = record(store, "a", RunStatus.PENDING, None)
    with store._write() as conn:  # a pending run recorded long ago (its job paused since)
        conn.execute(runs.update().where(runs.c.id == stuck).values(created_at=0))
    queued = record(store, "b", RunStatus.QUEUED, days_ago(200))
    b_last = record(store, "b", RunStatus.LOST, days_ago(200))
    removed_job_last = record(store, "gone", RunStatus.SUCCEEDED, days_ago(500))
    prune_all(store, RULES, NOW)
    assert ids(store) == sorted([monthly_last, stuck, queued, b_last, removed_job_last])


def test_beyond_the_count_per_job_the_oldest_finished_runs_go(jobs: SqlStore) -> None:
    store = jobs
    a = [record(store, "a", RunStatus.SUCCEEDED, days_ago(1)) for _ in range(7)]
    a.append(record(store, "a", RunStatus.RUNNING, days_ago(0)))
    b = [record(store, "b", RunStatus.FAILED, days_ago(1)) for _ in range(3)]
    report = prune_all(store, Retention(runs_days=30, per_job=3), NOW)
    assert ids(store, "a") == a[-3:]  # the running one counts among the 3 newest
    assert ids(store, "b") == b
    assert report.runs == {"succeeded": 5}


def test_the_count_rule_visits_no_job_while_fewer_runs_than_its_limit_are_stored(
    store: SqlStore,
) -> None:
    # A cycle walks every job (a step each) for the per-job limit: with 100,000 idle jobs that
    # was a third of an idle scheduler's CPU. No job can exceed the limit while the stored run
    # ids span no more than it, so the walk is skipped; beyond it, it happens as before.
    store.add_jobs([make_job(f"j{n:02}") for n in range(40)], event_data=False)
    for _ in range(3):
        record(store, "j00", RunStatus.SUCCEEDED, days_ago(1))
    rules = Retention(runs_days=30, per_job=3, events_days=30)
    assert len(list(cycle(store, rules, NOW))) == 2  # aged runs, events
    record(store, "j00", RunStatus.SUCCEEDED, days_ago(1))
    steps = list(cycle(store, rules, NOW))
    assert len(steps) == 2 + 40 + 1  # + a step per job, + one window of j00's excess
    assert sum(s.total_runs for s in steps) == 1


def test_the_count_rule_keeps_the_newest_finished_run_behind_unfinished_ones(
    jobs: SqlStore,
) -> None:
    store = jobs
    done = [record(store, "a", RunStatus.SUCCEEDED, days_ago(2)) for _ in range(3)]
    waiting = [record(store, "a", RunStatus.PENDING, None) for _ in range(2)]
    prune_all(store, Retention(per_job=1), NOW)
    assert ids(store, "a") == [done[-1], *waiting]


def test_events_go_after_their_age_once_every_sink_delivered_them(store: SqlStore) -> None:
    store.append_events([Event(kind="old", at=days_ago(40)) for _ in range(6)])
    store.append_events([Event(kind="young", at=days_ago(1)) for _ in range(2)])
    first = store.list_events(limit=1)[0].id
    assert first is not None
    cursor = store.take_sink_cursor("webhook", "me", NOW, 30)
    assert cursor is not None
    store.save_sink_progress(cursor, after_id=first + 2, now=NOW, lease=30)  # delivered 3
    report = prune_all(store, RULES, NOW)
    assert report.events == 3
    kept = [e.kind for e in store.list_events(limit=100)]
    assert kept == ["old", "old", "old", "young", "young"]


def test_a_sink_no_scheduler_runs_any_more_holds_no_event_back(store: SqlStore) -> None:
    store.open_sink_cursor("mqtt", days_ago(45))  # untouched since: its sink was taken out
    store.append_events([Event(kind="old", at=days_ago(40)) for _ in range(3)])
    store.append_events([Event(kind="young", at=days_ago(1))])
    assert store.open_sink_cursor("mqtt", NOW).after_id == 0  # it delivered nothing
    assert prune_all(store, RULES, NOW).events == 3


def test_the_newest_event_is_kept_so_no_id_is_handed_out_twice(store: SqlStore) -> None:
    store.append_events([Event(kind="old", at=days_ago(40)) for _ in range(3)])
    newest = store.list_events(newest=True, limit=1)[0].id
    assert prune_all(store, RULES, NOW).events == 2
    store.append_events([Event(kind="new", at=NOW)])
    [last] = store.list_events(newest=True, limit=1)
    assert newest is not None
    assert last.id == newest + 1


def test_run_ids_are_never_handed_out_twice(jobs: SqlStore) -> None:
    store = jobs
    for _ in range(4):
        newest = record(store, "a", RunStatus.SUCCEEDED, days_ago(100))
    prune_all(store, RULES, NOW)
    assert ids(store) == [newest]  # the newest finished of its job: always kept
    assert record(store, "b", RunStatus.SUCCEEDED, NOW) == newest + 1


def test_each_step_removes_at_most_one_batch(jobs: SqlStore) -> None:
    store = jobs
    for n in range(23):
        record(store, "ab"[n % 2], RunStatus.SUCCEEDED, days_ago(50))
    store.append_events([Event(kind="old", at=days_ago(50)) for _ in range(11)])
    steps = list(cycle(store, RULES, NOW, batch=4))
    assert all(s.total_runs <= 4 and s.events <= 4 for s in steps)
    assert sum(s.total_runs for s in steps) == 21  # the newest of a and of b stay
    assert sum(s.events for s in steps) == 10
    assert len(steps) >= 6 + 3


def test_a_dry_run_counts_what_a_prune_removes_and_removes_nothing(jobs: SqlStore) -> None:
    store = jobs
    for n in range(12):
        record(store, "a", RunStatus.SUCCEEDED, days_ago(40 - n))  # 40 … 29 days old
    for _ in range(5):
        record(store, "b", RunStatus.FAILED, days_ago(5))
    store.append_events([Event(kind="old", at=days_ago(50)) for _ in range(4)])
    rules = Retention(runs_days=30, failed_days=90, per_job=3, events_days=30)
    before = (ids(store), len(store.list_events(limit=100)))
    dry = prune_all(store, rules, NOW, dry_run=True)
    assert (ids(store), len(store.list_events(limit=100))) == before
    real = prune_all(store, rules, NOW)
    assert (dry.runs, dry.fires, dry.events) == (real.runs, real.fires, real.events)
    assert real.runs == {"succeeded": 10, "failed": 2}
    assert real.events == 3


def test_the_totals_the_metrics_report_never_go_down(jobs: SqlStore) -> None:
    store = jobs
    for _ in range(3):
        record(store, "a", RunStatus.MISSED, days_ago(40))
    record(store, "a", RunStatus.SUCCEEDED, days_ago(40), reason=RunReason.MANUAL)
    record(store, "a", RunStatus.SUCCEEDED, days_ago(40), attempt=2, reason=RunReason.RETRY)
    record(store, "a", RunStatus.SUCCEEDED, days_ago(1))
    fires_before = admin.fire_counts(store)
    prune_all(store, RULES, NOW)
    assert pruned_counts(store) == (
        {"missed": 3, "succeeded": 2},
        {"schedule": 3, "manual": 1},
    )
    assert admin.fire_counts(store) == fires_before
    prune_all(store, RULES, NOW)  # nothing more to remove: the totals stay
    assert admin.fire_counts(store) == fires_before


def test_the_audit_log_is_never_pruned(jobs: SqlStore) -> None:
    store = jobs
    for n in range(3):
        admin.append_audit(
            store, at=days_ago(400 + n), actor="cli:me", action="job.create", target="job:a"
        )
    record(store, "a", RunStatus.SUCCEEDED, days_ago(400))
    prune_all(store, Retention(runs_days=1, failed_days=1, per_job=1, events_days=1), NOW)
    with store._read() as conn:
        assert conn.execute(select(func.count()).select_from(audit)).scalar_one() == 3


def test_two_pruners_at_once_remove_each_run_once(jobs: SqlStore, open_store: Any) -> None:
    store, other = jobs, open_store()
    for n in range(40):
        record(store, "ab"[n % 2], RunStatus.SUCCEEDED, days_ago(50))
    first, second = cycle(store, RULES, NOW, batch=5), cycle(other, RULES, NOW, batch=5)
    removed = 0
    for a, b in zip(first, second, strict=False):
        removed += a.total_runs + b.total_runs
    removed += sum(s.total_runs for s in first) + sum(s.total_runs for s in second)
    assert removed == 38
    assert pruned_counts(store)[0] == {"succeeded": 38}
    with store._read() as conn:
        assert conn.execute(text("SELECT count(*) FROM gnomon_runs")).scalar_one() == 2
