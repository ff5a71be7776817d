"""Cron syntax: what is accepted, and refusals that name the field and the value."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gnomon.errors import InvalidTrigger
from gnomon.triggers import CronTrigger, trigger_from_json
from tests.unit.triggers.timeline import fires

P = pytest.param
START = datetime(2026, 1, 1, tzinfo=UTC)  # a Thursday


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        P("* * 31 2 *", "day 31 never occurs in February", id="feb-31-never-fires"),
        P("0 0 30 2 *", "day 30 never occurs in February", id="feb-30-never-fires"),
        P("0 0 31 4,6,9,11 *", "never occurs in April, June", id="short-months-31"),
        P("61 * * * *", "cron field 1 (minute): 61 is out of range 0-59", id="minute-61"),
        P("0 25 * * *", "cron field 2 (hour): 25 is out of range 0-23", id="hour-25"),
        P("0 0 0 * *", "cron field 3 (day-of-month): 0 is out of range 1-31", id="dom-0"),
        P("0 0 * 13 *", "cron field 4 (month): 13 is out of range 1-12", id="month-13"),
        P("0 0 * * 8", "cron field 5 (day-of-week): 8 is out of range 0-7", id="dow-8"),
        P("60 0 0 * * *", "cron field 1 (second): 60 is out of range 0-59", id="second-60"),
        P("*/0 * * * *", "cron field 1 (minute): step '0'", id="step-zero"),
        P("5-1 * * * *", "range '5-1' runs backwards", id="reversed-range"),
        P("0 0 * foo *", "cron field 4 (month): 'foo' is not a number or name", id="bad-name"),
        P("0 0 * * 1#6", "week number after '#' must be 1 to 5", id="sixth-week"),
        P("0 0 15W * 1", "'nW' needs '*' as day-of-week", id="w-with-weekday"),
        P("0 0 1,15W * *", "cannot be mixed", id="w-mixed"),
        P("* * * *", "expected 5 fields", id="four-fields"),
        P("* * * * * * *", "got 7", id="seven-fields"),
        P("@reboot", "'@reboot' is not a time", id="reboot"),
        P("@fortnightly", "unknown cron macro", id="unknown-macro"),
        P("0 0 * * 1,,2", "cron field 5 (day-of-week): '' is not a number", id="empty-item"),
    ],
)
def test_bad_expressions_are_refused_with_the_field(expr: str, message: str) -> None:
    with pytest.raises(InvalidTrigger, match=None) as info:
        CronTrigger(expr)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        P(
            "0 9 * * 1-5",
            ["2026-01-01T09:00", "2026-01-02T09:00", "2026-01-05T09:00"],
            id="weekdays",
        ),
        P(
            "0 9 * * mon-fri",
            ["2026-01-01T09:00", "2026-01-02T09:00", "2026-01-05T09:00"],
            id="weekday-names",
        ),
        P("0 0 1 JAN,jul *", ["2026-07-01T00:00", "2027-01-01T00:00"], id="month-names"),
        P("0 12 * * 7", ["2026-01-04T12:00", "2026-01-11T12:00"], id="seven-is-sunday"),
        P(
            "0 0 13 * 5",
            ["2026-01-02T00:00", "2026-01-09T00:00", "2026-01-13T00:00"],
            id="vixie-dom-or-dow",
        ),
        P(
            "0 0 */10 * 1",
            ["2026-05-11T00:00", "2026-06-01T00:00", "2026-08-31T00:00"],
            id="vixie-star-in-dom-means-and",
        ),
        P("0 0 L * *", ["2026-01-31T00:00", "2026-02-28T00:00"], id="last-day"),
        P("0 0 LW * *", ["2026-01-30T00:00", "2026-02-27T00:00"], id="last-weekday"),
        P(
            "0 0 15W * *",
            ["2026-01-15T00:00", "2026-02-16T00:00", "2026-03-16T00:00"],
            id="nearest-weekday-15",
        ),
        P("0 0 1W 8 *", ["2026-08-03T00:00", "2027-08-02T00:00"], id="1w-saturday-stays-in-month"),
        P(
            "0 0 31W * *",
            ["2026-01-30T00:00", "2026-03-31T00:00", "2026-05-29T00:00"],
            id="31w-skips-short-months",
        ),
        P("0 0 * * 5#3", ["2026-01-16T00:00", "2026-02-20T00:00"], id="third-friday"),
        P("0 0 * * 5L", ["2026-01-30T00:00", "2026-02-27T00:00"], id="last-friday"),
        P("*/20 * * * * *", ["2026-01-01T00:00:20", "2026-01-01T00:00:40"], id="six-fields"),
        P("@yearly", ["2027-01-01T00:00"], id="at-yearly"),
        P("@annually", ["2027-01-01T00:00"], id="at-annually"),
        P("@monthly", ["2026-02-01T00:00"], id="at-monthly"),
        P("@weekly", ["2026-01-04T00:00"], id="at-weekly"),
        P("@daily", ["2026-01-02T00:00"], id="at-daily"),
        P("@midnight", ["2026-01-02T00:00"], id="at-midnight"),
        P("@hourly", ["2026-01-01T01:00"], id="at-hourly"),
    ],
)
def test_cron_forms_fire(expr: str, expected: list[str]) -> None:
    got = fires(CronTrigger(expr), START, len(expected))
    assert [f.replace(tzinfo=None).isoformat(timespec="seconds") for f in got] == [
        datetime.fromisoformat(e).isoformat(timespec="seconds") for e in expected
    ]


@pytest.mark.parametrize(
    ("expr", "tz", "text"),
    [
        P("0 9 * * 1-5", "UTC", "At 09:00, Monday through Friday", id="weekdays"),
        P("*/5 * * * *", "UTC", "Every 5 minutes", id="every-5"),
        P("@daily", "Europe/Berlin", "At 00:00 (Europe/Berlin)", id="macro-with-zone"),
        P("0 0 15W * *", "UTC", "At 00:00, on the weekday nearest day 15 of the month", id="w"),
    ],
)
def test_describe(expr: str, tz: str, text: str) -> None:
    assert CronTrigger(expr, tz).describe() == text


def test_json_round_trip_keeps_zone_and_policy() -> None:
    trigger = CronTrigger("30 2 * * *", "Europe/Berlin", "literal")  # type: ignore[arg-type]
    assert trigger_from_json(trigger.to_json()) == trigger
    assert trigger.to_json()["dst"] == "literal"


def test_unknown_zone_and_policy_are_refused() -> None:
    with pytest.raises(InvalidTrigger, match="unknown time zone 'Mars/Olympus'"):
        CronTrigger("0 9 * * *", "Mars/Olympus")
    with pytest.raises(InvalidTrigger, match="unknown DST policy 'sometimes'"):
        CronTrigger("0 9 * * *", "UTC", "sometimes")  # type: ignore[arg-type]


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError, match="has no time zone"):
        CronTrigger("0 9 * * *").next_after(datetime(2026, 1, 1))
