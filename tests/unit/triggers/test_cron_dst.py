"""Cron across DST: one table row per rule and zone (see docs/time.md)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gnomon.triggers import CronTrigger
from tests.unit.triggers.timeline import at, fires, local

P = pytest.param
BERLIN, NEW_YORK, LORD_HOWE = "Europe/Berlin", "America/New_York", "Australia/Lord_Howe"
APIA, CASABLANCA, CHATHAM = "Pacific/Apia", "Africa/Casablanca", "Pacific/Chatham"

CASES = [
    # Fixed minute and hour: a gap fires when it ends, a fold fires once (first pass).
    P(
        "30 2 * * *",
        BERLIN,
        "cron",
        "2026-03-28T12:00+01:00",
        ["2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00"],
        id="berlin-spring-0230-fires-0300",
    ),
    P(
        "0 2 * * *",
        BERLIN,
        "cron",
        "2026-03-28T12:00+01:00",
        ["2026-03-29T03:00:00+02:00", "2026-03-30T02:00:00+02:00"],
        id="berlin-spring-0200-fires-0300",
    ),
    P(
        "30 2 * * *",
        BERLIN,
        "cron",
        "2026-10-24T12:00+02:00",
        ["2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"],
        id="berlin-fall-0230-fires-once-first-pass",
    ),
    P(
        "30 1 * * *",
        NEW_YORK,
        "cron",
        "2026-10-31T12:00-04:00",
        ["2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"],
        id="newyork-fall-0130-fires-once",
    ),
    P(
        "30 2 * * *",
        NEW_YORK,
        "cron",
        "2026-03-07T12:00-05:00",
        ["2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"],
        id="newyork-spring-0230-fires-0300",
    ),
    P(
        "0,30 2,3 * * *",
        BERLIN,
        "cron",
        "2026-03-29T00:00+01:00",
        ["2026-03-29T03:00:00+02:00", "2026-03-29T03:30:00+02:00"],
        id="berlin-spring-gap-times-collapse-into-one-fire",
    ),
    # Wildcard minute or hour: every real instant whose wall time matches.
    P(
        "*/30 * * * *",
        BERLIN,
        "cron",
        "2026-03-29T01:00+01:00",
        ["2026-03-29T01:30:00+01:00", "2026-03-29T03:00:00+02:00"],
        id="berlin-spring-wildcard-skips-gap",
    ),
    P(
        "*/30 * * * *",
        BERLIN,
        "cron",
        "2026-10-25T02:00+02:00",
        [
            "2026-10-25T02:30:00+02:00",
            "2026-10-25T02:00:00+01:00",
            "2026-10-25T02:30:00+01:00",
            "2026-10-25T03:00:00+01:00",
        ],
        id="berlin-fall-wildcard-fires-both-passes",
    ),
    P(
        "*/15 1-3 * * *",
        BERLIN,
        "cron",
        "2026-03-29T00:59+01:00",
        [
            "2026-03-29T01:00:00+01:00",
            "2026-03-29T01:15:00+01:00",
            "2026-03-29T01:30:00+01:00",
            "2026-03-29T01:45:00+01:00",
            "2026-03-29T03:00:00+02:00",
        ],
        id="berlin-spring-star-minute-fixed-hours-skips-02",
    ),
    # Literal (Temporal) semantics: skip a gap, fire twice in a fold, for every job.
    P(
        "30 2 * * *",
        BERLIN,
        "literal",
        "2026-03-28T12:00+01:00",
        ["2026-03-30T02:30:00+02:00"],
        id="berlin-spring-literal-0230-skipped",
    ),
    P(
        "30 2 * * *",
        BERLIN,
        "literal",
        "2026-10-24T12:00+02:00",
        ["2026-10-25T02:30:00+02:00", "2026-10-25T02:30:00+01:00", "2026-10-26T02:30:00+01:00"],
        id="berlin-fall-literal-0230-fires-twice",
    ),
    # Starting inside a fold (what a scheduler does when it recomputes from "now").
    P(
        "30 2 * * *",
        BERLIN,
        "cron",
        "2026-10-25T02:15+01:00",
        ["2026-10-26T02:30:00+01:00"],
        id="berlin-start-in-second-pass-no-refire",
    ),
    P(
        "0 * * * *",
        BERLIN,
        "cron",
        "2026-10-25T02:30+02:00",
        ["2026-10-25T02:00:00+01:00", "2026-10-25T03:00:00+01:00"],
        id="berlin-start-in-first-pass-hourly-fires-second-pass",
    ),
    P(
        "45 1 * * *",
        NEW_YORK,
        "cron",
        "2026-11-01T01:40-05:00",
        ["2026-11-02T01:45:00-05:00"],
        id="newyork-start-in-second-pass-next-day",
    ),
    # Lord Howe: 30-minute DST.
    P(
        "15 2 * * *",
        LORD_HOWE,
        "cron",
        "2026-10-03T12:00+10:30",
        ["2026-10-04T02:30:00+11:00", "2026-10-05T02:15:00+11:00"],
        id="lordhowe-spring-0215-fires-0230",
    ),
    P(
        "*/15 2 * * *",
        LORD_HOWE,
        "cron",
        "2026-10-04T00:00+10:30",
        ["2026-10-04T02:30:00+11:00", "2026-10-04T02:45:00+11:00"],
        id="lordhowe-spring-wildcard-skips-half-hour-gap",
    ),
    P(
        "45 1 * * *",
        LORD_HOWE,
        "cron",
        "2026-04-04T12:00+11:00",
        ["2026-04-05T01:45:00+11:00", "2026-04-06T01:45:00+10:30"],
        id="lordhowe-fall-0145-fires-once",
    ),
    P(
        "*/20 1 * * *",
        LORD_HOWE,
        "cron",
        "2026-04-05T01:30+11:00",
        ["2026-04-05T01:40:00+11:00", "2026-04-05T01:40:00+10:30", "2026-04-06T01:00:00+10:30"],
        id="lordhowe-fall-wildcard-fires-both-half-hour-passes",
    ),
    # Apia skipped 2011-12-30 entirely (-10:00 to +14:00).
    P(
        "0 9 * * *",
        APIA,
        "cron",
        "2011-12-29T12:00-10:00",
        ["2011-12-31T00:00:00+14:00", "2011-12-31T09:00:00+14:00"],
        id="apia-2011-skipped-day-0900-fires-at-gap-end",
    ),
    P(
        "0 0 * * *",
        APIA,
        "cron",
        "2011-12-29T12:00-10:00",
        ["2011-12-31T00:00:00+14:00", "2012-01-01T00:00:00+14:00"],
        id="apia-2011-skipped-midnight-and-next-midnight-fire-once",
    ),
    P(
        "0 */6 * * *",
        APIA,
        "cron",
        "2011-12-29T12:00-10:00",
        ["2011-12-29T18:00:00-10:00", "2011-12-31T00:00:00+14:00"],
        id="apia-2011-wildcard-hours-skip-the-day",
    ),
    P(
        "0 9 30 12 *",
        APIA,
        "literal",
        "2011-01-01T00:00-11:00",
        ["2012-12-30T09:00:00+14:00"],
        id="apia-2011-literal-dec30-skipped-to-next-year",
    ),
    # Casablanca: Ramadan DST goes back at 03:00 and forward again at 02:00.
    P(
        "30 2 * * *",
        CASABLANCA,
        "cron",
        "2026-02-14T12:00+01:00",
        ["2026-02-15T02:30:00+01:00", "2026-02-16T02:30:00+00:00"],
        id="casablanca-ramadan-start-0230-fires-once",
    ),
    P(
        "30 2 * * *",
        CASABLANCA,
        "cron",
        "2026-03-21T12:00+00:00",
        ["2026-03-22T03:00:00+01:00", "2026-03-23T02:30:00+01:00"],
        id="casablanca-ramadan-end-0230-fires-0300",
    ),
    # Chatham: +12:45 / +13:45.
    P(
        "0 3 * * *",
        CHATHAM,
        "cron",
        "2026-09-26T12:00+12:45",
        ["2026-09-27T03:45:00+13:45", "2026-09-28T03:00:00+13:45"],
        id="chatham-spring-0300-fires-0345",
    ),
    P(
        "0 3 * * *",
        CHATHAM,
        "cron",
        "2026-04-04T12:00+13:45",
        ["2026-04-05T03:00:00+13:45", "2026-04-06T03:00:00+12:45"],
        id="chatham-fall-0300-fires-once",
    ),
    # Macros and seconds are subject to the same rules.
    P(
        "@daily",
        BERLIN,
        "cron",
        "2026-03-28T12:00+01:00",
        ["2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00"],
        id="berlin-at-daily-day-after-spring-forward-fires",
    ),
    P(
        "@hourly",
        BERLIN,
        "cron",
        "2026-10-25T01:30+02:00",
        ["2026-10-25T02:00:00+02:00", "2026-10-25T02:00:00+01:00", "2026-10-25T03:00:00+01:00"],
        id="berlin-at-hourly-is-wildcard",
    ),
    P(
        "30 30 2 * * *",
        BERLIN,
        "cron",
        "2026-03-28T12:00+01:00",
        ["2026-03-29T03:00:00+02:00", "2026-03-30T02:30:30+02:00"],
        id="berlin-six-field-fixed-gap-fires-at-gap-end",
    ),
]


@pytest.mark.parametrize(("expr", "tz", "dst", "after", "expected"), CASES)
def test_cron_fires_across_dst(
    expr: str, tz: str, dst: str, after: str, expected: list[str]
) -> None:
    trigger = CronTrigger(expr, tz, dst)  # type: ignore[arg-type]
    assert local(fires(trigger, at(after), len(expected)), tz) == expected


@pytest.mark.parametrize(
    ("tz", "day", "count"),
    [
        P(BERLIN, "2026-03-29", 23, id="berlin-spring-day-has-23-hourly-fires"),
        P(BERLIN, "2026-10-25", 25, id="berlin-fall-day-has-25-hourly-fires"),
        # Lord Howe's fold (01:30-01:59) holds no :00, its gap (02:00-02:29) does.
        P(LORD_HOWE, "2026-04-05", 24, id="lordhowe-fall-day-has-24-hourly-fires"),
        P(LORD_HOWE, "2026-10-04", 23, id="lordhowe-spring-day-has-23-hourly-fires"),
    ],
)
def test_hourly_fires_every_real_hour(tz: str, day: str, count: int) -> None:
    """``0 * * * *`` fires at every real :00 of the local day (23 or 25 of them)."""
    trigger = CronTrigger("0 * * * *", tz)
    midnight = datetime.fromisoformat(f"{day}T00:00").replace(tzinfo=ZoneInfo(tz))
    day_fires = fires(trigger, midnight - timedelta(seconds=1), 30)
    on_day = [f for f in day_fires if f.astimezone(ZoneInfo(tz)).date().isoformat() == day]
    assert len(on_day) == count
