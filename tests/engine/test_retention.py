"""Retention end to end: the scheduler prunes old history in its maintenance step, in small
batches, at most once per interval; the settings; ``gnomon prune`` by hand.

A real ``Scheduler`` on SQLite with a FakeClock: history is made by running jobs at old
times, then the clock moves on and ticks prune it. Nothing sleeps. (Which rows go and which
never do, on SQLite and PostgreSQL: ``tests/contract/test_retention.py``.)
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from gnomon import FakeClock, RunStatus, Scheduler, python
from gnomon.cli import prune
from gnomon.cli.state import state
from gnomon.errors import ConfigError
from gnomon.pruner import STEPS_PER_CALL
from gnomon.retention import Retention
from gnomon.settings import Settings
from gnomon.store.admin import list_audit
from gnomon.store.retention import pruned_counts

RECORD = python("tests.engine.blocking:record")
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)
RULES = {"keep_runs_days": 1.0, "keep_failed_days": 3.0, "keep_events_days": 1.0}


def run_hours(scheduler: Scheduler, clock: FakeClock, hours: int) -> None:
    """Let an hourly job fire ``hours`` times, each on time."""
    for _ in range(hours):
        clock.advance(HOUR)
        scheduler.tick(clock.now())
        assert scheduler.wait_idle(timeout=10)


def stored(scheduler: Scheduler) -> list[RunStatus]:
    return [r.status for r in scheduler.runs(limit=100_000)]


def tick_until_pruned(scheduler: Scheduler, clock: FakeClock) -> int:
    """Tick (time standing still) until the cycle under way ends; how many ticks it took."""
    ticks = 0
    while True:
        scheduler.tick(clock.now())
        ticks += 1
        if not scheduler.pruner.busy:
            return ticks


PRUNING = Settings(workers=4, prune_interval=600, **RULES)  # type: ignore[arg-type]


@pytest.fixture
def history(make_scheduler: Callable[..., Scheduler]) -> Scheduler:
    """A scheduler that keeps everything, to make history with."""
    return make_scheduler(settings=Settings(workers=4, prune_interval=0))


@pytest.fixture
def restart(
    make_scheduler: Callable[..., Scheduler], history: Scheduler
) -> Callable[[], Scheduler]:
    """Stop ``history``'s scheduler and start one on its database that prunes by ``RULES``,
    in batches of 5 rows (so a cycle takes several steps); its first cycle starts with it."""

    def start() -> Scheduler:
        history.close()
        scheduler = make_scheduler(settings=PRUNING)
        scheduler.pruner.batch = 5
        return scheduler

    return start


def test_the_scheduler_prunes_old_runs_and_events_in_its_maintenance_step(
    history: Scheduler, restart: Callable[[], Scheduler], clock: FakeClock
) -> None:
    history.add(HOUR, RECORD, id="job")
    run_hours(history, clock, 30)  # 30 runs over 30 hours
    history.pause("job")
    clock.advance(timedelta(minutes=10))
    scheduler = restart()
    ticks = tick_until_pruned(scheduler, clock)
    assert stored(scheduler) == [RunStatus.SUCCEEDED] * 24  # the runs of the last day
    assert scheduler.pruner.last is not None
    assert scheduler.pruner.last.runs == {"succeeded": 6}
    assert pruned_counts(scheduler.store)[0] == {"succeeded": 6}
    *events, newest = scheduler.events(limit=10_000)
    assert events[0].at >= clock.now() - DAY  # older events went (all were delivered)
    assert newest.kind == "job.paused"
    assert ticks > 1  # spread over several ticks


def test_a_tick_takes_only_a_few_small_batches(
    history: Scheduler, restart: Callable[[], Scheduler], clock: FakeClock
) -> None:
    history.add(HOUR, RECORD, id="job")
    run_hours(history, clock, 24 * 4)
    history.pause("job")
    scheduler = restart()
    before = len(stored(scheduler))
    scheduler.tick(clock.now())
    assert scheduler.pruner.busy  # 71 old runs: more than one tick's share
    assert before - len(stored(scheduler)) <= STEPS_PER_CALL * scheduler.pruner.batch
    tick_until_pruned(scheduler, clock)
    assert len(stored(scheduler)) == 25  # one ended exactly a day ago: kept


def test_a_cycle_starts_at_most_once_per_interval(
    make_scheduler: Callable[..., Scheduler], clock: FakeClock
) -> None:
    scheduler = make_scheduler(settings=PRUNING)
    for _ in range(3):
        scheduler.tick(clock.now())
    assert scheduler.pruner.cycles == 1  # the first, at start
    clock.advance(599)
    scheduler.tick(clock.now())
    assert scheduler.pruner.cycles == 1
    clock.advance(1)
    scheduler.tick(clock.now())
    assert scheduler.pruner.cycles == 2
    clock.set(clock.now() + 10 * DAY)  # the wall clock jumps: no monotonic time passed
    scheduler.tick(clock.now())
    assert scheduler.pruner.cycles == 2


def test_a_failed_step_ends_the_cycle_not_the_scheduler(
    make_scheduler: Callable[..., Scheduler], clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    scheduler = make_scheduler(settings=PRUNING)
    scheduler.add(HOUR, RECORD, id="job")
    with scheduler.store._write() as conn:  # the events step will find no sink cursors
        conn.exec_driver_sql("ALTER TABLE gnomon_sink_cursors RENAME TO elsewhere")
    logger = logging.getLogger("gnomon.pruner")
    disabled, logger.disabled = logger.disabled, False  # import-linter's test disables loggers
    try:
        tick_until_pruned(scheduler, clock)
    finally:
        logger.disabled = disabled
    assert (scheduler.pruner.cycles, scheduler.pruner.last) == (1, None)  # ended early
    assert "pruning old history stopped" in caplog.text
    with scheduler.store._write() as conn:
        conn.exec_driver_sql("ALTER TABLE elsewhere RENAME TO gnomon_sink_cursors")
    run_hours(scheduler, clock, 1)  # the scheduler goes on; the next cycle, an interval later
    assert stored(scheduler) == [RunStatus.SUCCEEDED]
    tick_until_pruned(scheduler, clock)
    assert scheduler.pruner.cycles == 2
    assert scheduler.pruner.last is not None


def test_failures_are_kept_longer_and_the_last_run_of_a_job_for_ever(
    history: Scheduler, restart: Callable[[], Scheduler], clock: FakeClock
) -> None:
    history.add(HOUR, python("tests.engine.blocking:fail"), id="failing")
    history.add(HOUR, RECORD, id="fine")
    run_hours(history, clock, 3)
    history.pause("failing")
    history.remove("fine")
    clock.advance(2 * DAY)
    scheduler = restart()
    tick_until_pruned(scheduler, clock)
    assert len(scheduler.runs("failing", limit=100)) == 3  # failures: kept 3 days
    assert len(scheduler.runs("fine", limit=100)) == 1  # its last run, though it was removed
    clock.advance(2 * DAY)
    tick_until_pruned(scheduler, clock)
    [last] = scheduler.runs("failing", limit=100)
    assert last.status is RunStatus.FAILED


def test_no_pruning_with_an_interval_of_zero(
    make_scheduler: Callable[..., Scheduler], clock: FakeClock
) -> None:
    settings = Settings(workers=4, prune_interval=0, **RULES)  # type: ignore[arg-type]
    scheduler = make_scheduler(settings=settings)
    scheduler.add(HOUR, RECORD, id="job")
    run_hours(scheduler, clock, 3)
    scheduler.pause("job")
    clock.advance(10 * DAY)
    scheduler.tick(clock.now())
    assert scheduler.pruner.cycles == 0
    assert len(stored(scheduler)) == 3


def test_the_retention_settings_are_read_from_the_environment() -> None:
    env = {
        "GNOMON_KEEP_RUNS_DAYS": "7",
        "GNOMON_KEEP_FAILED_DAYS": "0",
        "GNOMON_KEEP_RUNS_PER_JOB": "500",
        "GNOMON_KEEP_EVENTS_DAYS": "2.5",
        "GNOMON_PRUNE_INTERVAL": "60",
    }
    settings = Settings.from_env(env)
    assert Retention.from_settings(settings) == Retention(
        runs_days=7, failed_days=0, per_job=500, events_days=2.5
    )
    assert settings.prune_interval == 60
    assert Retention.from_settings(Settings.from_env({})) == Retention(
        runs_days=30, failed_days=90, per_job=100_000, events_days=30
    )


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("GNOMON_KEEP_RUNS_DAYS", "-1", "GNOMON_KEEP_RUNS_DAYS: -1 is out of range 0-36500"),
        ("GNOMON_KEEP_RUNS_PER_JOB", "1.5", "GNOMON_KEEP_RUNS_PER_JOB: '1.5' is not a whole"),
        ("GNOMON_KEEP_EVENTS_DAYS", "a month", "GNOMON_KEEP_EVENTS_DAYS: 'a month' is not a"),
        ("GNOMON_PRUNE_INTERVAL", "-5", "GNOMON_PRUNE_INTERVAL: -5 is out of range"),
    ],
)
def test_a_bad_retention_setting_is_one_clear_line(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match="^" + message):
        Settings.from_env({name: value})


def test_an_age_by_hand_keeps_failures_at_least_as_long() -> None:
    rules = Retention(runs_days=30, failed_days=90, per_job=10, events_days=30)
    week = rules.overridden(older_than=timedelta(days=7))
    assert (week.runs_days, week.events_days, week.failed_days) == (7, 7, 90)
    assert rules.overridden(older_than=timedelta(days=120)).failed_days == 120
    both = rules.overridden(older_than=timedelta(days=7), failed_older_than=timedelta(days=1))
    assert both.failed_days == 1
    assert rules.overridden(per_job=0).per_job == 0


# -- gnomon prune ----------------------------------------------------------------------------

runner = CliRunner()


@pytest.fixture
def cli(tmp_path: Path, request: pytest.FixtureRequest) -> typer.Typer:
    """``gnomon prune`` on the test's database (the history's backend, if it has one)."""
    app = typer.Typer()
    db = str(tmp_path / "gnomon.db")
    if "old_history" in request.fixturenames:
        history: Scheduler = request.getfixturevalue("old_history")
        db = history.store.engine.url.render_as_string(hide_password=False)

    @app.callback()
    def _options() -> None:
        state.db = db

    prune.register(app)
    return app


@pytest.fixture
def old_history(make_scheduler: Callable[..., Scheduler], clock: FakeClock) -> Scheduler:
    """An hourly job's 6 runs and a failing job's 2, all of 2020-01-01 (long ago for the
    CLI, which runs on the real clock), by a scheduler that does not prune."""
    clock.set(LONG_AGO)
    settings = Settings(workers=4, prune_interval=0)
    scheduler = make_scheduler(settings=settings)
    scheduler.add(HOUR, RECORD, id="hourly")
    scheduler.add(3 * HOUR, python("tests.engine.blocking:fail"), id="failing")
    run_hours(scheduler, clock, 6)
    return scheduler


def test_prune_dry_run_counts_and_removes_nothing(cli: typer.Typer, old_history: Scheduler) -> None:
    done = runner.invoke(cli, ["prune", "--dry-run", "--json"])
    assert done.exit_code == 0, done.output
    shown = json.loads(done.output)
    assert shown["dry_run"] is True
    assert shown["runs"] == {"succeeded": 5, "failed": 1}  # each job's last run stays
    assert len(old_history.runs(limit=100)) == 8
    assert list_audit(old_history.store) == []  # nothing changed: nothing audited


def test_prune_prints_what_it_removed_and_is_audited(
    cli: typer.Typer, old_history: Scheduler
) -> None:
    done = runner.invoke(cli, ["prune", "--older-than", "30d", "--failed-older-than", "2w"])
    assert done.exit_code == 0, done.output
    assert "removed from" in done.output
    assert "succeeded" in done.output
    assert "failed" in done.output
    assert sorted(r.job_id for r in old_history.runs(limit=100)) == ["failing", "hourly"]
    assert len(old_history.events(limit=100)) == 1  # the newest event is always kept
    [entry] = list_audit(old_history.store)
    assert (entry.action, entry.target) == ("history.prune", "history")
    assert entry.diff["removed"]["runs"] == {"failed": 1, "succeeded": 5}
    assert entry.diff["removed"]["events"] > 10
    assert entry.diff["rules"]["keep_failed_days"] == 14
    again = runner.invoke(cli, ["prune"])
    assert "nothing to remove" in again.output


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--older-than", "soon"], "--older-than: 'soon': unknown unit"),
        (["--older-than", "-3d"], "--older-than: '-3d': -3 is negative"),
        (["--failed-older-than", "0d"], "--failed-older-than: '0d': the amount must be more"),
        (["--keep-per-job", "-1"], "keep_per_job: -1 must be 0 (no limit) or more"),
    ],
)
def test_prune_refuses_bad_input_with_one_line(
    cli: typer.Typer, argv: list[str], message: str
) -> None:
    done = runner.invoke(cli, ["prune", *argv])
    assert done.exit_code != 0
    assert str(done.exception).startswith(message)
