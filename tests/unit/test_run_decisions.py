"""The run decisions of gnomon.planning that the store and the runner only apply: misfire at
claim time, retries, and the fate of a run whose worker vanished."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from gnomon.models import Misfire, Policy, RunReason, RunStatus
from gnomon.planning import (
    MAX_LOSSES,
    RETRYABLE,
    LostRunFate,
    WaitingRun,
    backoff_delay,
    lost_run_fate,
    missed_at_claim,
    next_attempt_due,
    retry_due,
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
GRACE = 60.0


def waiting(
    run_id: int,
    late: float,
    *,
    misfire: Misfire = Misfire.SKIP,
    job: str = "a",
    reason: RunReason = RunReason.SCHEDULE,
    attempt: int = 1,
    put_back: bool = False,
) -> WaitingRun:
    """Run ``run_id`` of ``job``, scheduled ``late`` seconds before T0."""
    return WaitingRun(
        run_id=run_id,
        job_id=job,
        scheduled_for=T0 - timedelta(seconds=late),
        reason=reason,
        attempt=attempt,
        put_back=put_back,
        policy=Policy(misfire=misfire, grace=GRACE),
    )


def test_skip_drops_a_fire_later_than_its_grace_only() -> None:
    found = [waiting(1, GRACE + 1), waiting(2, GRACE), waiting(3, 0, job="b")]
    assert missed_at_claim(found, T0) == {1}


def test_latest_drops_a_late_fire_only_when_a_newer_one_waits() -> None:
    alone = [waiting(1, 500, misfire=Misfire.LATEST)]
    assert missed_at_claim(alone, T0) == set()
    two = [waiting(1, 500, misfire=Misfire.LATEST), waiting(2, 400, misfire=Misfire.LATEST)]
    assert missed_at_claim(two, T0) == {1}


def test_all_never_drops_at_claim() -> None:
    found = [waiting(1, 500, misfire=Misfire.ALL), waiting(2, 400, misfire=Misfire.ALL)]
    assert missed_at_claim(found, T0) == set()


@pytest.mark.parametrize(
    "run",
    [
        waiting(1, 500, reason=RunReason.MANUAL),
        waiting(1, 500, reason=RunReason.BACKFILL),
        waiting(1, 500, reason=RunReason.RETRY, attempt=2),
        waiting(1, 500, put_back=True),  # it started once: at least once
    ],
    ids=["manual", "backfill", "retry", "put-back"],
)
def test_runs_that_are_not_a_fresh_scheduled_fire_are_never_dropped(run: WaitingRun) -> None:
    assert missed_at_claim([run], T0) == set()


def test_a_newer_fire_supersedes_even_when_it_is_a_retry_of_a_schedule() -> None:
    found = [
        waiting(1, 500, misfire=Misfire.LATEST),
        waiting(2, 400, misfire=Misfire.LATEST, attempt=2),  # a later fire's second attempt
    ]
    assert missed_at_claim(found, T0) == {1}


def test_only_failures_and_timeouts_are_retried() -> None:
    policy = Policy(max_attempts=3, backoff=10.0)
    assert {RunStatus.FAILED, RunStatus.TIMED_OUT} == RETRYABLE
    for status in RunStatus:
        due = retry_due(policy, 1, status, T0)
        assert (due is not None) == (status in RETRYABLE)


def test_a_retry_waits_the_backoff_and_stops_after_max_attempts() -> None:
    policy = Policy(max_attempts=3, backoff=10.0, max_backoff=100.0)
    delay = backoff_delay(policy, 2, random.Random(7))
    assert retry_due(policy, 2, RunStatus.FAILED, T0, random.Random(7)) == T0 + timedelta(
        seconds=delay
    )
    assert 20.0 <= delay <= 22.0  # 10 s doubled once, plus up to 10 % jitter
    assert retry_due(policy, 3, RunStatus.FAILED, T0) is None
    assert next_attempt_due(policy, 3, T0) is None
    assert next_attempt_due(policy, 1, T0) is not None


def test_a_lost_run_is_requeued_then_dead_lettered_and_an_orphan_ends_at_once() -> None:
    fates = [lost_run_fate(n, job_exists=True) for n in range(MAX_LOSSES + 2)]
    assert fates == [LostRunFate.REQUEUE] * MAX_LOSSES + [LostRunFate.DEAD_LETTER] * 2
    assert lost_run_fate(0, job_exists=False) is LostRunFate.ORPHANED
