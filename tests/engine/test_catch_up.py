"""Catch-up after downtime, as APScheduler (``coalesce=True``) and systemd (``Persistent=
true``) users expect by default: every fire missed by more than ``grace`` is recorded, and
one run stands for them all; ``--misfire skip|all`` is one option away on the CLI.

The downtime is real as far as the scheduler can tell: it is closed, the injected clock
moves on, and a new scheduler opens the same database. Nothing sleeps.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from gnomon import FakeClock, Misfire, Policy, RunStatus, Scheduler, python
from gnomon.cli import main
from tests.engine.conftest import T0

RECORD = python("tests.engine.blocking:record")
HOUR = timedelta(hours=1)


def restart_after(
    make_scheduler: Callable[..., Scheduler],
    scheduler: Scheduler,
    clock: FakeClock,
    downtime: timedelta,
) -> Scheduler:
    """Close ``scheduler``, let ``downtime`` pass, start a new one on its database and let
    it tick (time standing still) until the runs due are done."""
    scheduler.close()
    clock.advance(downtime)
    restarted = make_scheduler()
    while True:  # more due runs than workers: tick again once they are free
        report = restarted.tick(clock.now())
        assert restarted.wait_idle(timeout=10)
        if not report.more:
            return restarted


def statuses(scheduler: Scheduler, job_id: str) -> Counter[str]:
    return Counter(r.status.value for r in scheduler.runs(job_id, limit=10_000))


def test_the_default_policy_coalesces_with_a_grace_of_a_minute() -> None:
    policy = Policy()
    assert (policy.misfire, policy.grace) == (Misfire.LATEST, 60.0)


def test_after_a_downtime_one_run_stands_for_every_missed_fire(
    make_scheduler: Callable[..., Scheduler], clock: FakeClock
) -> None:
    """An hourly job, down from 01:00 to 10:30: nine fires missed, one run (of the 10:00
    fire), each missed fire recorded; then the schedule goes on."""
    first = make_scheduler()
    first.add(HOUR, RECORD, id="hourly")  # no policy given: the default
    clock.advance(HOUR)
    first.tick(clock.now())
    assert first.wait_idle(timeout=10)
    scheduler = restart_after(make_scheduler, first, clock, 9.5 * HOUR)
    runs = list(reversed(scheduler.runs("hourly", limit=100)))
    assert [(r.scheduled_for - T0) / HOUR for r in runs] == list(range(1, 11))
    assert [r.status for r in runs] == [RunStatus.SUCCEEDED] + [RunStatus.MISSED] * 8 + [
        RunStatus.SUCCEEDED
    ]
    assert scheduler.get("hourly").next_fire_at == T0 + 11 * HOUR
    missed = [e for e in scheduler.events(job_id="hourly", limit=100) if e.kind == "run.missed"]
    assert len(missed) == 8


def test_fires_within_the_grace_period_are_not_late_and_each_runs(
    make_scheduler: Callable[..., Scheduler], clock: FakeClock
) -> None:
    """Down for 45 s, an every-10-s job's fires are at most 45 s late: within the default
    grace (60 s) each runs, as if nothing happened."""
    first = make_scheduler()
    first.add(timedelta(seconds=10), RECORD, id="often")
    scheduler = restart_after(make_scheduler, first, clock, timedelta(seconds=45))
    assert statuses(scheduler, "often") == {"succeeded": 4}


@pytest.mark.parametrize(
    ("misfire", "expected"),
    [
        pytest.param(Misfire.SKIP, {"missed": 9}, id="skip"),
        pytest.param(Misfire.LATEST, {"missed": 8, "succeeded": 1}, id="latest"),
        pytest.param(Misfire.ALL, {"succeeded": 9}, id="all"),
    ],
)
def test_the_other_policies_after_the_same_downtime(
    make_scheduler: Callable[..., Scheduler],
    clock: FakeClock,
    misfire: Misfire,
    expected: dict[str, int],
) -> None:
    first = make_scheduler()
    first.add(HOUR, RECORD, id="job", misfire=misfire)
    scheduler = restart_after(make_scheduler, first, clock, 9.5 * HOUR)
    assert statuses(scheduler, "job") == expected


@pytest.mark.parametrize("misfire", list(Misfire), ids=lambda m: m.value)
@pytest.mark.parametrize(
    "command",
    [
        pytest.param(["add", "every 1h", "--python", "json:dumps"], id="add"),
        pytest.param(["schedule", "python", "every 1h", "--ref", "json:dumps"], id="schedule"),
    ],
)
def test_add_and_schedule_take_the_policy_as_one_option(
    tmp_path: Path, command: list[str], misfire: Misfire
) -> None:
    db = tmp_path / "gnomon.db"
    with pytest.raises(SystemExit) as done:
        main(["--db", str(db), *command, "--id", "job", "--misfire", misfire.value])
    assert done.value.code == 0
    with Scheduler(str(db)) as scheduler:
        assert scheduler.get("job").policy.misfire is misfire


def test_without_the_option_the_cli_coalesces(tmp_path: Path) -> None:
    db = tmp_path / "gnomon.db"
    with pytest.raises(SystemExit):
        main(["--db", str(db), "add", "every 1h", "--python", "json:dumps", "--id", "job"])
    with Scheduler(str(db)) as scheduler:
        policy = scheduler.get("job").policy
    assert (policy.misfire, policy.grace) == (Misfire.LATEST, 60.0)


def test_an_unknown_policy_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--db", str(tmp_path / "g.db"), "add", "every 1h", "--python", "json:dumps"]
    with pytest.raises(SystemExit) as done:
        main([*argv, "--misfire", "coalesce"])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert err == "error: policy misfire: 'coalesce' is not one of skip, latest, all\n"
