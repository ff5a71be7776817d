"""Runs queued for a broker, in the store: when each is sent again."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from gnomon.models import RunStatus
from tests.engine.test_celery_executor import queued_run


def test_each_resend_waits_as_long_as_the_run_has_waited(tmp_path: Path) -> None:
    store, run_id = queued_run(tmp_path)
    [run] = store.list_runs(job_id="job")
    due = run.due_at
    assert store.mark_sent([run_id], "s", due, resend_after=60) == 1
    assert store.resend_due(due + timedelta(seconds=59), "s", lease=5) == []
    [again] = store.resend_due(due + timedelta(seconds=61), "s", lease=5)
    assert again.run.id == run_id
    assert again.run.status is RunStatus.QUEUED
    # Sent again 61 s after it was due: the next re-send waits 61 s, not 60 (a backlog is
    # not flooded with copies; the wait doubles each time).
    assert store.mark_sent([run_id], "s", due + timedelta(seconds=61), resend_after=60) == 1
    assert store.resend_due(due + timedelta(seconds=121), "s", lease=5) == []
    assert len(store.resend_due(due + timedelta(seconds=123), "s", lease=5)) == 1


def test_only_the_sender_marks_a_run_sent(tmp_path: Path) -> None:
    store, run_id = queued_run(tmp_path)
    assert store.mark_sent([run_id], "another", store.list_runs()[0].due_at, 60) == 0
