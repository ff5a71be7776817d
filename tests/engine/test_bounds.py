"""Huge amounts and dates never crash: one clear line, the same bounds in Python and the CLI
(the REST API's side is ``tests/api/test_input_bounds.py``), and nothing half-stored."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gnomon import FakeClock, JobState, Scheduler, limits, python
from gnomon.cli import main
from gnomon.cli.command import _fast_next
from gnomon.errors import InvalidPolicy, InvalidTrigger
from gnomon.triggers import IntervalTrigger, parse
from tests.engine.conftest import T0
from tests.engine.test_bad_input import GOOD_ACTION, refused

TOO_LONG = r"is too long: an interval or delay is at most 36525 days"
OUT_OF_RANGE = r"out of range: give a time from 1970-01-01 up to \(not including\) 9000-01-01"
SCHEDULES = [
    pytest.param("every 99999999999 days", TOO_LONG, id="every-huge-days"),
    pytest.param("every 2000000 weeks", TOO_LONG, id="every-2M-weeks"),
    pytest.param("in 99999999999 days", TOO_LONG, id="in-huge-days"),
    pytest.param("every " + "9" * 400 + " s", TOO_LONG, id="every-400-digits"),
    pytest.param("9999-12-31T23:59:00Z", OUT_OF_RANGE, id="one-shot-9999"),
]
POLICIES = [
    pytest.param({"grace": 1e300}, r"policy grace: 1e\+300 must be at most 31622400", id="grace"),
    pytest.param({"jitter": 1e300}, r"policy jitter: 1e\+300 must be at most", id="jitter"),
    pytest.param({"backoff": 1e300}, r"policy backoff: 1e\+300 must be at most", id="backoff"),
    pytest.param({"timeout": 1e300}, r"policy timeout: 1e\+300 must be at most", id="timeout"),
    pytest.param(
        {"max_attempts": 10**12},
        r"policy max_attempts: 1000000000000 must be at most 1000",
        id="max-attempts",
    ),
]
CLI_OPTIONS = {
    "grace": "--grace",
    "jitter": "--jitter",
    "backoff": "--backoff",
    "timeout": "--timeout",
    "max_attempts": "--max-attempts",
}


@pytest.fixture
def scheduler(make_scheduler: Callable[..., Scheduler]) -> Scheduler:
    made = make_scheduler()
    made.add(timedelta(minutes=1), GOOD_ACTION, id="existing")
    return made


@pytest.mark.parametrize(("when", "pattern"), SCHEDULES)
def test_a_huge_schedule_is_one_clear_error(scheduler: Scheduler, when: str, pattern: str) -> None:
    refused(scheduler, lambda: scheduler.add(when, GOOD_ACTION, id="job"), InvalidTrigger, pattern)


@pytest.mark.parametrize(("options", "pattern"), POLICIES)
def test_a_huge_policy_is_one_clear_error(
    scheduler: Scheduler, options: dict[str, Any], pattern: str
) -> None:
    refused(
        scheduler,
        lambda: scheduler.add("every 5m", GOOD_ACTION, id="job", **options),
        InvalidPolicy,
        pattern,
    )
    refused(scheduler, lambda: scheduler.update("existing", **options), InvalidPolicy, pattern)


def test_a_huge_timedelta_is_one_clear_error(scheduler: Scheduler) -> None:
    refused(
        scheduler,
        lambda: scheduler.add(timedelta(days=999_999_999), GOOD_ACTION, id="j"),
        InvalidTrigger,
        TOO_LONG,
    )


def test_the_largest_amounts_and_policy_values_are_accepted(scheduler: Scheduler) -> None:
    most = limits.MAX_POLICY_SECONDS
    job = scheduler.add(
        limits.MAX_AMOUNT,
        GOOD_ACTION,
        id="j",
        grace=most,
        jitter=most,
        backoff=most,
        max_backoff=most,
        timeout=most,
        max_attempts=limits.MAX_ATTEMPTS,
        catchup_cap=limits.MAX_CATCHUP_CAP,
    )
    assert job.next_fire_at == T0 + limits.MAX_AMOUNT
    assert scheduler.add("every 36525 days", GOOD_ACTION, id="k").trigger == job.trigger


def test_a_policy_that_would_pause_the_job_at_its_first_fire_is_refused(
    scheduler: Scheduler, clock: FakeClock
) -> None:
    """Before the bounds, ``grace=1e300`` was stored, and planning the first fire (``now -
    fire > grace`` as a timedelta) overflowed: the job was paused as "cannot be planned"."""
    refused(
        scheduler,
        lambda: scheduler.add("every 5m", GOOD_ACTION, id="j", grace=1e300),
        InvalidPolicy,
        "grace",
    )
    clock.advance(300)
    scheduler.tick()
    assert scheduler.wait_idle(timeout=10)
    assert scheduler.get("existing").state is JobState.ACTIVE


def test_a_trigger_whose_second_fire_cannot_be_computed_is_refused(scheduler: Scheduler) -> None:
    start = datetime(8999, 12, 31, tzinfo=UTC)
    huge = IntervalTrigger(timedelta(days=999_999), start)  # built directly: no amount check
    refused(
        scheduler,
        lambda: scheduler.add(huge, GOOD_ACTION, id="j"),
        InvalidTrigger,
        r"its fires after 8999-12-31T00:00:00\+00:00 cannot be computed",
    )


def test_parse_refuses_a_now_out_of_range() -> None:
    with pytest.raises(InvalidTrigger, match=OUT_OF_RANGE):
        parse("every 5m", now=datetime(9999, 12, 31, 23, 59, tzinfo=UTC))


# -- the CLI: exit 2, one line on stderr, nothing stored ----------------------------------


def cli(db: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(["--db", str(db), *args])
    return int(exit_info.value.code or 0), capsys.readouterr().err


def one_error_line(err: str, pattern: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), err
    assert re.search(pattern, lines[0]), err


def stored_ids(db: Path) -> list[str]:
    with Scheduler(str(db)) as scheduler:
        return [job.id for job in scheduler.list()]


@pytest.mark.parametrize(("when", "pattern"), SCHEDULES)
def test_cli_add_refuses_a_huge_schedule(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], when: str, pattern: str
) -> None:
    db = tmp_path / "cli.db"
    code, err = cli(db, capsys, "add", when, "--python", "tests.engine.blocking:plain", "--id", "j")
    assert code == 2
    one_error_line(err, pattern)
    assert stored_ids(db) == []


@pytest.mark.parametrize(("options", "pattern"), POLICIES)
def test_cli_add_refuses_a_huge_policy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], options: dict[str, Any], pattern: str
) -> None:
    db = tmp_path / "cli.db"
    [(name, value)] = options.items()
    code, err = cli(
        db,
        capsys,
        "add",
        "every 5m",
        "--python",
        "tests.engine.blocking:plain",
        CLI_OPTIONS[name],
        str(value),
    )
    assert code == 2
    one_error_line(err, pattern)
    assert stored_ids(db) == []


@pytest.mark.parametrize(
    ("args", "pattern"),
    [
        *SCHEDULES,
        pytest.param("every 5m --after 9999-12-31T23:59", OUT_OF_RANGE, id="after-9999"),
        pytest.param("0 9 * * * --after 9999-12-31T23:59", OUT_OF_RANGE, id="cron-after-9999"),
        pytest.param(
            "0 9 * * * --tz America/New_York --after 9999-12-31T23:59:59-05:00",
            OUT_OF_RANGE,
            id="after-past-9999-in-utc",
        ),
        pytest.param("0 9 * * * --after 0001-01-01T00:00", OUT_OF_RANGE, id="after-year-1"),
    ],
)
def test_cli_next_refuses_huge_amounts_and_dates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: str, pattern: str
) -> None:
    spec, *rest = args.split(" --")
    argv = [spec, *(p for r in rest for p in f"--{r}".split(" ", 1))]
    code, err = cli(tmp_path / "cli.db", capsys, "next", *argv)
    assert code == 2
    one_error_line(err, pattern)
    assert _fast_next([*argv, "--json"]) == 2  # the console script's path without Typer
    one_error_line(capsys.readouterr().err, pattern)


def test_cli_next_lists_fires_up_to_the_last_computable_date(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = _fast_next(
        ["every 36525 days", "-n", "1000", "--json", "--after", "8700-01-01T00:00:00Z"]
    )
    assert code == 0
    fires = json.loads(capsys.readouterr().out)["fires"]
    assert 1 <= len(fires) <= 3
    assert all(fire < "9000-01-01" for fire in fires)


def test_the_bounds_are_inside_what_datetime_can_compute() -> None:
    """Adding the largest amount and policy duration to the latest date still computes."""
    biggest = limits.MAX_AMOUNT * 2 + timedelta(seconds=limits.MAX_POLICY_SECONDS * 2)
    assert limits.LATEST + biggest < datetime.max.replace(tzinfo=UTC)
    assert limits.EARLIEST - biggest > datetime.min.replace(tzinfo=UTC)


def test_a_schedule_longer_than_the_api_allows_is_refused_everywhere() -> None:
    with pytest.raises(InvalidTrigger, match=r"schedule of 501 characters is too long"):
        parse("x" * (limits.MAX_SPEC_CHARS + 1))


# -- what an attempt keeps: output, error and result are capped in one place (the runner) ---


def huge_result() -> str:
    return "r" * (limits.MAX_RESULT_BYTES * 2)


def huge_error() -> None:
    raise RuntimeError("e" * (limits.MAX_ERROR_CHARS * 10))


@pytest.mark.parametrize(
    ("ref", "field", "most"),
    [
        pytest.param("huge_result", "result", limits.MAX_RESULT_BYTES, id="result"),
        pytest.param("huge_error", "error", limits.MAX_ERROR_CHARS + 100, id="error"),
    ],
)
def test_an_attempt_keeps_a_bounded_result_and_error(
    scheduler: Scheduler, clock: FakeClock, ref: str, field: str, most: int
) -> None:
    scheduler.add("every 5m", python(f"tests.engine.test_bounds:{ref}"), id="big")
    clock.advance(300)
    scheduler.tick()
    assert scheduler.wait_idle(timeout=10)
    [run] = scheduler.runs("big")
    kept = getattr(run, field)
    assert isinstance(kept, str)
    assert len(kept) <= most
    assert ("not kept" in kept) if field == "result" else ("more characters cut" in kept)


# -- RRULEs: dateutil walks every period from DTSTART; reading and planning stay bounded ----


@pytest.mark.timeout(30)  # on the code before the bounds these took minutes, or never ended
@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        pytest.param("FREQ=SECONDLY;INTERVAL=0", "INTERVAL=0 must be 1 to 10000", id="interval-0"),
        pytest.param("FREQ=DAILY;COUNT=99999999999", "COUNT=99999999999", id="huge-count"),
        pytest.param("FREQ=MINUTELY;BYMONTH=2;BYMONTHDAY=30", "cannot be combined", id="minutely"),
        pytest.param("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "never occurs", id="daily-never"),
        pytest.param("FREQ=WEEKLY;BYYEARDAY=366;BYMONTH=2", "never falls", id="yearday-never"),
        pytest.param("FREQ=DAILY;FREQ=SECONDLY", "FREQ more than once", id="twice"),
        pytest.param("DTSTART:19700101T000000Z RRULE:FREQ=SECONDLY", None, id="secondly-1970"),
        pytest.param(
            "DTSTART:20251230T000000Z RRULE:FREQ=MINUTELY;COUNT=10000", None, id="count-to-until"
        ),
    ],
)
def test_an_rrule_is_read_in_bounded_time(spec: str, expected: str | None) -> None:
    started = time.perf_counter()
    if expected is None:
        trigger = parse(spec, now=T0)
        assert trigger.next_after(T0) is not None
    else:
        with pytest.raises(InvalidTrigger, match=re.escape(expected)):
            parse(spec, now=T0)
    assert time.perf_counter() - started < 5


def test_an_rrule_count_still_ends_at_its_last_occurrence() -> None:
    trigger = parse("DTSTART:20251230T000000Z RRULE:FREQ=MINUTELY;COUNT=10000", now=T0)
    last = datetime(2025, 12, 30, tzinfo=UTC) + timedelta(minutes=9999)
    assert trigger.next_after(last - timedelta(seconds=1)) == last
    assert trigger.next_after(last) is None


@pytest.mark.timeout(30)
def test_an_rrule_fire_years_after_its_dtstart_is_found_quickly() -> None:
    """The scheduler asks for the next fire at every fire: it must not walk from DTSTART."""
    trigger = parse("RRULE:FREQ=SECONDLY;INTERVAL=7", now=T0)
    later = T0 + timedelta(days=3650, seconds=3)
    started = time.perf_counter()
    fire = trigger.next_after(later)
    assert time.perf_counter() - started < 1
    assert fire is not None
    assert (fire - T0).total_seconds() % 7 == 0
    assert timedelta(0) < fire - later <= timedelta(seconds=7)
