"""The pure decisions of ``gnomon.planning``: misfire, overlap, jitter and backoff.

Plain values in, plain values out: no clock, no database.
"""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta
from unittest.mock import patch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gnomon.models import ActionSpec, Misfire, Overlap, Policy, RunStatus
from gnomon.planning import (
    MAX_LISTED_FIRES,
    Fire,
    FirePlan,
    backoff_delay,
    due_fires,
    jitter_delay,
    plan_fires,
)
from gnomon.triggers import AtTrigger, IntervalTrigger

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def every(seconds: float, first: float) -> IntervalTrigger:
    return IntervalTrigger(timedelta(seconds=seconds), at(first))


def plan(
    policy: Policy, *, now: float, first: float = 10, interval: float = 10, unfinished: int = 0
) -> list[Fire]:
    return plan_fires(
        job_id="job",
        trigger=every(interval, first),
        policy=policy,
        next_fire_at=at(first),
        now=at(now),
        unfinished_runs=unfinished,
    ).fires


def by_status(fires: list[Fire]) -> dict[RunStatus, list[float]]:
    out: dict[RunStatus, list[float]] = {}
    for fire in fires:
        out.setdefault(fire.status, []).append((fire.scheduled_for - T0).total_seconds())
    return out


# -- enumerating due fires -----------------------------------------------------------------


def test_due_fires_lists_every_fire_up_to_now_inclusive() -> None:
    listed, more, upcoming = due_fires(every(10, 10), at(10), at(40))
    assert listed == [at(10), at(20), at(30), at(40)]
    assert (more, upcoming) == (0, at(50))


def test_due_fires_of_a_finished_one_shot_has_no_upcoming() -> None:
    assert due_fires(AtTrigger(at(5)), at(5), at(100)) == ([at(5)], 0, None)


def test_due_fires_beyond_the_limit_list_the_oldest_and_newest_and_count_the_rest() -> None:
    listed, more, upcoming = due_fires(every(1, 0), at(0), at(99), limit=4)
    assert listed == [at(0), at(1), at(98), at(99)]
    assert (more, upcoming) == (96, at(100))


def test_a_pathological_backlog_still_lists_the_newest_due_fire() -> None:
    """Past ``limit * 100`` fires the enumeration jumps ahead; the newest fire — the one a
    ``latest`` policy runs — must still be the newest, not the last one stepped over."""
    listed, more, upcoming = due_fires(every(1, 0), at(0), at(10_000), limit=4)
    assert listed == [at(0), at(1), at(9_999), at(10_000)]
    assert upcoming == at(10_001)
    assert more == 10_001 - 4


# -- misfire -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("misfire", "cap", "runs", "missed"),
    [
        pytest.param(Misfire.SKIP, 100, [], [10, 20, 30, 40, 50, 60], id="skip"),
        pytest.param(Misfire.LATEST, 100, [60], [10, 20, 30, 40, 50], id="latest"),
        pytest.param(Misfire.ALL, 100, [10, 20, 30, 40, 50, 60], [], id="all"),
        pytest.param(Misfire.ALL, 2, [50, 60], [10, 20, 30, 40], id="all-capped"),
    ],
)
def test_misfire_policy_decides_which_late_fires_run(
    misfire: Misfire, cap: int, runs: list[float], missed: list[float]
) -> None:
    fires = plan(Policy(misfire=misfire, catchup_cap=cap, grace=5), now=66)
    assert by_status(fires).get(RunStatus.PENDING, []) == runs
    assert by_status(fires).get(RunStatus.MISSED, []) == missed
    assert len(fires) == 6  # every fire is accounted for


@pytest.mark.parametrize("misfire", list(Misfire), ids=lambda m: m.value)
def test_fires_within_the_grace_period_run_whatever_the_misfire_policy(misfire: Misfire) -> None:
    fires = plan(Policy(misfire=misfire, grace=25), now=50)  # 10 and 20 late, 30-50 on time
    assert by_status(fires)[RunStatus.PENDING][-3:] == [30, 40, 50]
    if misfire is not Misfire.ALL:
        assert by_status(fires)[RunStatus.MISSED] == [10, 20]


def test_a_fire_exactly_grace_seconds_late_is_on_time() -> None:
    fires = plan(Policy(misfire=Misfire.SKIP, grace=5), now=15)
    assert by_status(fires) == {RunStatus.PENDING: [10]}
    fires = plan(Policy(misfire=Misfire.SKIP, grace=5), now=15.000001)
    assert by_status(fires) == {RunStatus.MISSED: [10]}


def test_missed_fires_are_due_at_their_own_time() -> None:
    fires = plan(Policy(misfire=Misfire.SKIP, grace=0, jitter=5), now=35)
    assert all(f.due_at == f.scheduled_for for f in fires)


def test_catch_up_of_a_huge_backlog_runs_the_most_recent_fires() -> None:
    """``all`` runs "at most catchup_cap of them (the most recent)", even past the listing
    limit, where the fires in the middle are only counted."""
    backlog = MAX_LISTED_FIRES * 3
    result = plan_fires(
        job_id="job",
        trigger=every(1, 0),
        policy=Policy(misfire=Misfire.ALL, catchup_cap=5, grace=0),
        next_fire_at=at(0),
        now=at(backlog - 0.5),
        unfinished_runs=0,
    )
    runs = by_status(result.fires)[RunStatus.PENDING]
    assert runs == [backlog - 5, backlog - 4, backlog - 3, backlog - 2, backlog - 1]
    missed = len(by_status(result.fires)[RunStatus.MISSED]) + result.missed_uncounted
    assert missed + len(runs) == backlog


def test_latest_after_a_two_day_outage_of_a_one_second_job_runs_the_newest_fire() -> None:
    outage = 2 * 86_400
    result = plan_fires(
        job_id="job",
        trigger=every(1, 1),
        policy=Policy(misfire=Misfire.LATEST, grace=0),
        next_fire_at=at(1),
        now=at(outage + 0.5),
        unfinished_runs=0,
    )
    assert by_status(result.fires)[RunStatus.PENDING] == [outage]
    listed_missed = len(by_status(result.fires)[RunStatus.MISSED])
    assert listed_missed + result.missed_uncounted == outage - 1
    assert result.next_fire_at == at(outage + 1)


def test_plan_advances_to_the_first_fire_after_now() -> None:
    result = plan_fires(
        job_id="job",
        trigger=every(10, 10),
        policy=Policy(),
        next_fire_at=at(10),
        now=at(25),
        unfinished_runs=0,
    )
    assert result.next_fire_at == at(30)
    assert (result.missed_uncounted, result.cancel_running) == (0, False)


# -- overlap -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overlap", "unfinished", "statuses", "cancel"),
    [
        pytest.param(Overlap.ALLOW, 1, ["pending", "pending"], False, id="allow"),
        pytest.param(Overlap.QUEUE, 1, ["pending", "pending"], False, id="queue"),
        pytest.param(Overlap.SKIP, 0, ["pending", "skipped"], False, id="skip-idle"),
        pytest.param(Overlap.SKIP, 1, ["skipped", "skipped"], False, id="skip-busy"),
        pytest.param(Overlap.REPLACE, 0, ["cancelled", "pending"], False, id="replace-idle"),
        pytest.param(Overlap.REPLACE, 1, ["cancelled", "pending"], True, id="replace-busy"),
    ],
)
def test_overlap_policy_decides_fires_that_meet_an_unfinished_run(
    overlap: Overlap, unfinished: int, statuses: list[str], cancel: bool
) -> None:
    result = plan_fires(
        job_id="job",
        trigger=every(10, 10),
        policy=Policy(overlap=overlap),
        next_fire_at=at(10),
        now=at(20),
        unfinished_runs=unfinished,
    )
    assert [f.status.value for f in result.fires] == statuses
    assert result.cancel_running is cancel


def test_a_single_fire_of_an_idle_job_runs_under_every_overlap_policy() -> None:
    for overlap in Overlap:
        fires = plan(Policy(overlap=overlap), now=10)
        assert [f.status for f in fires] == [RunStatus.PENDING], overlap


# -- jitter --------------------------------------------------------------------------------


def test_no_jitter_means_no_delay() -> None:
    assert jitter_delay(Policy(), "job", at(10), timedelta(seconds=10)) == timedelta(0)


def test_jitter_is_stable_for_one_fire_and_varies_between_fires() -> None:
    policy = Policy(jitter=30)
    first = jitter_delay(policy, "job", at(10), None)
    assert first == jitter_delay(policy, "job", at(10), None)  # every replica agrees
    delays = {jitter_delay(policy, "job", at(s), None) for s in range(0, 1000, 10)}
    assert len(delays) > 90
    assert all(timedelta(0) <= d < timedelta(seconds=30) for d in delays)


@settings(max_examples=300, deadline=None)
@given(
    interval=st.floats(min_value=0.001, max_value=86_400),
    jitter=st.floats(min_value=0, max_value=100_000),
    offset=st.integers(min_value=0, max_value=10**9),
    job_id=st.text(min_size=1, max_size=20),
)
def test_jitter_never_pushes_a_fire_past_the_next_one(
    interval: float, jitter: float, offset: int, job_id: str
) -> None:
    fire = T0 + timedelta(microseconds=offset)
    gap = timedelta(seconds=interval)
    delay = jitter_delay(Policy(jitter=jitter), job_id, fire, gap)
    assert timedelta(0) <= delay < gap
    assert delay <= timedelta(seconds=jitter)


def test_planned_due_times_keep_jittered_fires_in_order() -> None:
    fires = plan(Policy(jitter=1000, misfire=Misfire.ALL, grace=0), now=200, interval=10)
    pending = [f for f in fires if f.status is RunStatus.PENDING]
    assert len(pending) == 20
    for fire, following in itertools.pairwise(pending):
        assert fire.scheduled_for <= fire.due_at < following.scheduled_for
    assert pending[-1].due_at < at(210)  # before the upcoming fire


# -- backoff -------------------------------------------------------------------------------


def test_backoff_doubles_from_the_base() -> None:
    policy = Policy(backoff=2, max_backoff=1000, max_attempts=10)
    no_spread = random.Random()
    no_spread.random = lambda: 0.0  # type: ignore[method-assign]
    assert [backoff_delay(policy, n, no_spread) for n in range(1, 6)] == [2, 4, 8, 16, 32]


def test_backoff_adds_at_most_ten_percent_of_jitter() -> None:
    policy = Policy(backoff=10, max_backoff=1000)
    rng = random.Random(7)
    delays = [backoff_delay(policy, 3, rng) for _ in range(200)]
    assert all(40 <= d <= 44 for d in delays)
    assert len(set(delays)) > 100


def test_backoff_grows_and_is_capped() -> None:
    policy = Policy(backoff=1, max_backoff=60, max_attempts=100)
    rng = random.Random(1)
    delays = [backoff_delay(policy, n, rng) for n in range(1, 40)]
    assert all(d <= 60 for d in delays)
    assert delays[-1] == 60
    bases = [min(2 ** (n - 1), 60) for n in range(1, 40)]
    assert all(b <= d <= b * 1.1 for b, d in zip(bases, delays, strict=True))


def test_backoff_of_a_very_late_attempt_is_the_cap_not_an_overflow() -> None:
    policy = Policy(backoff=1.5, max_backoff=300, max_attempts=100_000)
    assert backoff_delay(policy, 5000) == 300


def test_zero_backoff_retries_at_once() -> None:
    assert backoff_delay(Policy(backoff=0), 3) == 0


# -- planning ahead (the scheduler's look-ahead) --------------------------------------------


def test_fires_up_to_until_are_planned_ahead_and_judged_late_at_now() -> None:
    result = plan_fires(
        job_id="job",
        trigger=every(1, 10),
        policy=Policy(grace=1),
        next_fire_at=at(10),
        now=at(12.5),
        unfinished_runs=0,
        until=at(13.5),
    )
    # 10 and 11 are later than the grace at 12.5; 12 is on time; 13 lies ahead, on time.
    assert by_status(result.fires) == {RunStatus.MISSED: [10, 11], RunStatus.PENDING: [12, 13]}
    assert result.next_fire_at == at(14)


def test_the_planner_looks_ahead_only_for_jobs_whose_overlap_allows_it() -> None:
    from gnomon.models import Job, JobState
    from gnomon.planning import planner_at

    def job(overlap: Overlap) -> Job:
        return Job(
            id=overlap.value,
            name=overlap.value,
            trigger=every(1, 10),
            action=ActionSpec(kind="python", config={"ref": "m:f"}),
            policy=Policy(overlap=overlap),
            state=JobState.ACTIVE,
            next_fire_at=at(10),
            created_at=T0,
            updated_at=T0,
        )

    plan = planner_at(at(10), until=at(12))
    for overlap, fires in [
        (Overlap.ALLOW, 3),
        (Overlap.QUEUE, 3),
        (Overlap.SKIP, 1),
        (Overlap.REPLACE, 1),
    ]:
        assert len(plan(job(overlap), 0).fires) == fires, overlap


@settings(max_examples=300, deadline=None)
@given(
    interval=st.sampled_from([0.5, 1, 7, 10, 3600]),
    first=st.floats(min_value=0, max_value=100),
    now=st.floats(min_value=0, max_value=5000),
    ahead=st.sampled_from([None, 0.5, 1, 30, 20_000]),
    grace=st.sampled_from([0, 1, 60, 1e6]),
    overlap=st.sampled_from(list(Overlap)),
    misfire=st.sampled_from(list(Misfire)),
    jitter=st.sampled_from([0.0, 0.5]),
    unfinished=st.integers(min_value=0, max_value=2),
)
def test_the_common_case_plans_exactly_what_the_general_path_plans(
    interval: float,
    first: float,
    now: float,
    ahead: float | None,
    grace: float,
    overlap: Overlap,
    misfire: Misfire,
    jitter: float,
    unfinished: int,
) -> None:
    """plan_fires' short path (no fire late, no jitter, planned ahead) is only a shortcut:
    whatever the case, it plans the fires, statuses, due times and next fire of the general
    path (including past MAX_LISTED_FIRES, where it hands over)."""
    policy = Policy(grace=grace, overlap=overlap, misfire=misfire, jitter=jitter)
    start, moment = at(first), at(max(first, now))
    until = None if ahead is None else moment + timedelta(seconds=ahead)
    trigger = every(interval, first)

    def planned() -> FirePlan:
        return plan_fires(
            job_id="job",
            trigger=trigger,
            policy=policy,
            next_fire_at=start,
            now=moment,
            unfinished_runs=unfinished,
            until=until,
        )

    quick = planned()
    with patch("gnomon.planning._quick_plan", return_value=None):
        assert planned() == quick
