"""English phrases and ISO one-shots through ``parse``: one row per phrase of issue 3."""

from __future__ import annotations

from datetime import datetime

import pytest

from gnomon.errors import InvalidTrigger
from gnomon.triggers import (
    AtTrigger,
    CronTrigger,
    IntervalTrigger,
    Trigger,
    parse,
    trigger_from_json,
)
from tests.unit.triggers.timeline import at, fires, local

P = pytest.param
BERLIN = "Europe/Berlin"
NOW = at("2026-11-23T10:00:00+01:00")  # a Monday morning


@pytest.mark.parametrize(
    ("spec", "kind", "expected"),
    [
        P("in 30 minutes", AtTrigger, ["2026-11-23T10:30:00+01:00"], id="in-30-minutes"),
        P("in 2 hours", AtTrigger, ["2026-11-23T12:00:00+01:00"], id="in-2-hours"),
        P("in an hour", AtTrigger, ["2026-11-23T11:00:00+01:00"], id="in-an-hour"),
        # "second" is also an ordinal ("the second monday"); after a count it is the unit.
        P("in 1 second", AtTrigger, ["2026-11-23T10:00:01+01:00"], id="in-1-second"),
        P("in a second", AtTrigger, ["2026-11-23T10:00:01+01:00"], id="in-a-second"),
        P(
            "in 1 minute and 1 second",
            AtTrigger,
            ["2026-11-23T10:01:01+01:00"],
            id="in-minute-and-second",
        ),
        P("in 1h30m", AtTrigger, ["2026-11-23T11:30:00+01:00"], id="in-compound"),
        P("tomorrow at 2pm", AtTrigger, ["2026-11-24T14:00:00+01:00"], id="tomorrow-at-2pm"),
        P("today at 5pm", AtTrigger, ["2026-11-23T17:00:00+01:00"], id="today-at-5pm"),
        P("at 18:00", AtTrigger, ["2026-11-23T18:00:00+01:00"], id="at-1800-today"),
        P("at 9:30", AtTrigger, ["2026-11-24T09:30:00+01:00"], id="at-0930-is-tomorrow"),
        P(
            "next monday at 9am",
            AtTrigger,
            ["2026-11-30T09:00:00+01:00"],
            id="next-monday-never-today",
        ),
        P("monday at 11am", AtTrigger, ["2026-11-23T11:00:00+01:00"], id="monday-is-today"),
        P("monday at 9am", AtTrigger, ["2026-11-30T09:00:00+01:00"], id="monday-passed-next-week"),
        P("friday at noon", AtTrigger, ["2026-11-27T12:00:00+01:00"], id="friday-at-noon"),
        P("noon", AtTrigger, ["2026-11-23T12:00:00+01:00"], id="noon-is-clock-noon"),
        P("midnight", AtTrigger, ["2026-11-24T00:00:00+01:00"], id="midnight"),
        P("december 24 at 6pm", AtTrigger, ["2026-12-24T18:00:00+01:00"], id="december-24-at-6pm"),
        P(
            "24th december 2027 at 18:00",
            AtTrigger,
            ["2027-12-24T18:00:00+01:00"],
            id="day-month-year",
        ),
        P("march 1 at 8am", AtTrigger, ["2027-03-01T08:00:00+01:00"], id="date-next-year"),
        P("saturday 8:15", AtTrigger, ["2026-11-28T08:15:00+01:00"], id="saturday-0815"),
        P("2026-12-24T18:00", AtTrigger, ["2026-12-24T18:00:00+01:00"], id="iso-local"),
        P("2026-12-24T18:00Z", AtTrigger, ["2026-12-24T19:00:00+01:00"], id="iso-utc"),
        P("2026-12-24T18:00-05:00", AtTrigger, ["2026-12-25T00:00:00+01:00"], id="iso-offset"),
        P(
            "every 15m",
            IntervalTrigger,
            ["2026-11-23T10:15:00+01:00", "2026-11-23T10:30:00+01:00"],
            id="every-15m",
        ),
        P(
            "every 2 hours",
            IntervalTrigger,
            ["2026-11-23T12:00:00+01:00", "2026-11-23T14:00:00+01:00"],
            id="every-2-hours",
        ),
        P(
            "every 90 seconds",
            IntervalTrigger,
            ["2026-11-23T10:01:30+01:00", "2026-11-23T10:03:00+01:00"],
            id="every-90-seconds",
        ),
        P("every hour", IntervalTrigger, ["2026-11-23T11:00:00+01:00"], id="every-hour"),
        P(
            "every day at 9am",
            CronTrigger,
            ["2026-11-24T09:00:00+01:00", "2026-11-25T09:00:00+01:00"],
            id="every-day-at-9am",
        ),
        P(
            "every weekday at 9:00",
            CronTrigger,
            [
                "2026-11-24T09:00:00+01:00",
                "2026-11-25T09:00:00+01:00",
                "2026-11-26T09:00:00+01:00",
                "2026-11-27T09:00:00+01:00",
                "2026-11-30T09:00:00+01:00",
            ],
            id="every-weekday-at-0900",
        ),
        P(
            "every monday and thursday at 18:30",
            CronTrigger,
            ["2026-11-23T18:30:00+01:00", "2026-11-26T18:30:00+01:00", "2026-11-30T18:30:00+01:00"],
            id="every-monday-and-thursday",
        ),
        P(
            "every monday, wednesday and friday at 7am",
            CronTrigger,
            ["2026-11-25T07:00:00+01:00", "2026-11-27T07:00:00+01:00"],
            id="three-days",
        ),
        P(
            "every weekend at 8am",
            CronTrigger,
            ["2026-11-28T08:00:00+01:00", "2026-11-29T08:00:00+01:00", "2026-12-05T08:00:00+01:00"],
            id="every-weekend-at-8am",
        ),
        P(
            "every sunday at 10am",
            CronTrigger,
            ["2026-11-29T10:00:00+01:00", "2026-12-06T10:00:00+01:00"],
            id="every-sunday",
        ),
        P(
            "first day of every month at 8am",
            CronTrigger,
            ["2026-12-01T08:00:00+01:00", "2027-01-01T08:00:00+01:00"],
            id="first-day-of-month",
        ),
        P(
            "last day of every month at 23:00",
            CronTrigger,
            ["2026-11-30T23:00:00+01:00", "2026-12-31T23:00:00+01:00"],
            id="last-day-of-month",
        ),
        P(
            "the 15th of every month at 9am",
            CronTrigger,
            ["2026-12-15T09:00:00+01:00"],
            id="nth-of-every-month",
        ),
        P(
            "every day at 9am and 5pm",
            CronTrigger,
            ["2026-11-23T17:00:00+01:00", "2026-11-24T09:00:00+01:00"],
            id="two-times-a-day",
        ),
        P("daily at 06:45", CronTrigger, ["2026-11-24T06:45:00+01:00"], id="daily-at"),
        P(
            "Every Weekday At 9:00.",
            CronTrigger,
            ["2026-11-24T09:00:00+01:00"],
            id="case-and-full-stop",
        ),
    ],
)
def test_phrases(spec: str, kind: type[Trigger], expected: list[str]) -> None:
    trigger = parse(spec, tz=BERLIN, now=NOW)
    assert isinstance(trigger, kind)
    assert local(fires(trigger, NOW, len(expected)), BERLIN) == expected
    assert trigger_from_json(trigger.to_json()) == trigger


@pytest.mark.parametrize(
    ("spec", "now", "expected"),
    [
        P(
            "tomorrow at 2:30am",
            "2026-03-28T12:00+01:00",
            "2026-03-29T03:00:00+02:00",
            id="berlin-tomorrow-in-gap-fires-at-gap-end",
        ),
        P(
            "tomorrow at 10am",
            "2026-03-28T10:00+01:00",
            "2026-03-29T10:00:00+02:00",
            id="berlin-tomorrow-across-spring-forward-keeps-wall-time",
        ),
        P(
            "tomorrow at 2:30am",
            "2026-10-24T12:00+02:00",
            "2026-10-25T02:30:00+02:00",
            id="berlin-tomorrow-in-fold-is-first-pass",
        ),
        P(
            "in 24 hours",
            "2026-03-28T10:00+01:00",
            "2026-03-29T11:00:00+02:00",
            id="berlin-in-24-hours-is-real-time",
        ),
        P(
            "2026-03-29T02:30",
            "2026-03-28T12:00+01:00",
            "2026-03-29T03:00:00+02:00",
            id="berlin-iso-local-in-gap-fires-at-gap-end",
        ),
    ],
)
def test_one_shots_across_dst(spec: str, now: str, expected: str) -> None:
    trigger = parse(spec, tz=BERLIN, now=at(now))
    assert local(fires(trigger, at(now), 2), BERLIN) == [expected]


def test_recurring_phrase_is_the_cron_engine() -> None:
    trigger = parse("every weekday at 9:00", tz=BERLIN, now=NOW)
    assert trigger == CronTrigger("0 9 * * 1-5", BERLIN)
    assert trigger.describe() == "At 09:00, Monday through Friday (Europe/Berlin)"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        P("", "empty schedule", id="empty"),
        P("   ", "empty schedule", id="blank"),
        P("yesterday at 5pm", "is in the past", id="yesterday"),
        P("today at 9am", "is in the past", id="today-already-gone"),
        P("2020-01-01T00:00Z", "is in the past", id="iso-gone"),
        P("december 24 2025 at 6pm", "is in the past", id="date-with-past-year"),
        P("last friday at 5pm", "did you mean 'next friday'", id="last-friday"),
        P("evry day at 9am", "unknown word 'evry' (did you mean 'every'?)", id="typo"),
        P("gibberish", "unknown word 'gibberish'", id="unknown-word"),
        P("at 9", "ambiguous: write 9am, 9pm or 09:00", id="bare-hour"),
        P("at 25:00", "not a time of day", id="hour-25"),
        P("at 13pm", "hour must be 1 to 12", id="13pm"),
        P("tomorrow", "needs a time of day, e.g. 'tomorrow at 9am'", id="tomorrow-alone"),
        P("every day", "needs a time of day", id="every-day-alone"),
        P("in 5 parsecs", "unknown unit 'parsecs'", id="unknown-unit"),
        P("every 0 minutes", "more than zero", id="zero-interval"),
        P("every day at 9am and 5:30pm", "do not share their minutes", id="mixed-minutes"),
        P("february 30 at 9am", "has no day 30", id="february-30"),
        P("2026-12-24", "has no time of day", id="iso-date-only"),
        P("2026-13-01T00:00", "not a valid ISO 8601", id="iso-bad-month"),
        P("0 9 * *", "expected 5 fields", id="cron-four-fields"),
        P("tonight at 9am", "needs an evening time", id="tonight-morning"),
    ],
)
def test_refusals_name_the_problem(spec: str, message: str) -> None:
    with pytest.raises(InvalidTrigger) as info:
        parse(spec, tz=BERLIN, now=NOW)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_parse_refuses_unknown_zone_policy_and_naive_now() -> None:
    with pytest.raises(InvalidTrigger, match="unknown time zone"):
        parse("every 10m", tz="Nowhere/Land", now=NOW)
    with pytest.raises(InvalidTrigger, match="unknown DST policy"):
        parse("0 2 * * *", now=NOW, dst="maybe")
    with pytest.raises(ValueError, match="no time zone"):
        parse("every 10m", now=datetime(2026, 1, 1))


def test_literal_policy_reaches_recurring_phrases() -> None:
    trigger = parse("every day at 2:30am", tz=BERLIN, now=NOW, dst="literal")
    assert isinstance(trigger, CronTrigger)
    assert trigger.dst == "literal"
