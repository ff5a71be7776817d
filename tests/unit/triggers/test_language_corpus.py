"""The language corpus: families of phrasings, each with the fires it must give.

Every family lists the ways people say one schedule; the expected fires are written out, or
given as the cron rule they must equal (the cron engine has its own tests). ``now`` is
Monday 2026-11-23 10:00 in Berlin. Then refusals, each naming what was not understood, and
round trips: a description that is itself a phrase reads back to the same fires.
"""

from __future__ import annotations

from datetime import timedelta
from itertools import product

import pytest

from gnomon.errors import InvalidTrigger
from gnomon.triggers import CronTrigger, parse
from gnomon.triggers.base import next_fires
from tests.unit.triggers.timeline import at, local

BERLIN = "Europe/Berlin"
NOW = at("2026-11-23T10:00:00+01:00")  # a Monday morning

T9 = [
    "at 9am",
    "at 9 am",
    "at 9:00",
    "at 09:00",
    "at 9:00am",
    "at 9 a.m.",
    "9am",
    "at 9 o'clock in the morning",
]
T18 = ["at 6pm", "at 18:00", "at 6 pm", "at 6 in the evening", "at 6:00 pm", "6pm"]
WEEKDAY_FORMS = [
    "every weekday {t}",
    "weekdays {t}",
    "{t} on weekdays",
    "on weekdays {t}",
    "each weekday {t}",
    "mon-fri {t}",
    "monday through friday {t}",
    "monday to friday {t}",
    "{t} every weekday",
    "every workday {t}",
]
DAILY_FORMS = ["every day {t}", "daily {t}", "{t} every day", "each day {t}", "{t} daily"]
TOMORROW_FORMS = ["tomorrow {t}", "{t} tomorrow"]

FAMILIES: dict[str, list[str]] = {
    "cron:0 9 * * 1-5": [f.format(t=t) for f, t in product(WEEKDAY_FORMS, T9)],
    "cron:0 18 * * *": [f.format(t=t) for f, t in product(DAILY_FORMS, T18)],
    "2026-11-24T09:00:00+01:00": [f.format(t=t) for f, t in product(TOMORROW_FORMS, T9)]
    + [f"tomorrow morning {t}" for t in T9[:7]]
    + ["at 9 tomorrow morning"],
    "2026-11-23T11:30:00+01:00": [
        "in 90 minutes",
        "in 1.5 hours",
        "in an hour and a half",
        "in 1 hour and 30 minutes",
        "in 1h30m",
        "in 1h 30m",
        "in one hour and thirty minutes",
        "in 90 mins",
        "in 5400 seconds",
        "in 1 hr 30 min",
        "in 1.5h",
        "in 1 hour 30 minutes",
    ],
    "2026-11-23T10:30:00+01:00": [
        "in half an hour",
        "in 30 minutes",
        "in thirty minutes",
        "in 30m",
        "in 30 min",
        "in 0.5 hours",
        "in 1800 seconds",
        "in 30 mins",
    ],
    "2026-11-23T10:02:00+01:00": [
        "in a couple of minutes",
        "in 2 minutes",
        "in two minutes",
        "in 120 seconds",
        "in 2m",
    ],
    "2026-11-23T10:25:00+01:00": ["in twenty-five minutes", "in twenty five minutes", "in 25m"],
    "2026-11-23T10:15:00+01:00": ["in a quarter of an hour", "in 15 minutes", "in fifteen minutes"],
    "2026-11-23T11:00:00+01:00": [
        "in an hour",
        "in 1 hour",
        "in one hour",
        "in 60 minutes",
        "in 1h",
        "in a hour",
    ],
    "2026-12-07T10:00:00+01:00": ["in a fortnight", "in 2 weeks", "in 14 days", "in two weeks"],
    "2026-11-26T10:00:00+01:00": ["in 3 days", "in three days", "in 72 hours", "in 3d"],
    "2026-11-26T08:00:00+01:00": [
        "in 3 days at 8am",
        "in three days at 8am",
        "at 8am in 3 days",
        "in 3 days at 08:00",
        "in 3 days at 8 in the morning",
    ],
    "interval:5400": [
        "every 90 minutes",
        "every 1.5 hours",
        "every hour and a half",
        "every 1h30m",
        "every 1 hour and 30 minutes",
        "every 90 mins",
    ],
    "interval:900": [
        "every 15 minutes",
        "every 15m",
        "every fifteen minutes",
        "every quarter of an hour",
        "every 15 min",
    ],
    "interval:3600": ["every hour", "every 1 hour", "every 60 minutes", "every 1h"],
    "cron:0 9 * * 1#1": [
        "first monday of the month at 9am",
        "the first monday of every month at 9am",
        "on the first monday of each month at 9am",
        "every first monday of the month at 9am",
        "1st monday of the month at 9am",
        "at 9am on the first monday of the month",
        "the first monday of the month at 09:00",
    ],
    "cron:0 18 * * 2#2": [
        "second tuesday of the month at 6pm",
        "the 2nd tuesday of every month at 18:00",
    ],
    "cron:0 18 * * 3#3": [
        "third wednesday of the month at 6pm",
        "at 6pm on the third wednesday of each month",
    ],
    "cron:30 7 * * 4#4": [
        "fourth thursday of the month at 7:30am",
        "the 4th thursday of every month at 07:30",
    ],
    "cron:0 17 * * 5L": [
        "last friday of the month at 5pm",
        "the last friday of every month at 17:00",
        "on the last friday of each month at 5pm",
        "at 5pm on the last friday of the month",
    ],
    "cron:0 9 15 * *": [
        "the 15th of every month at 9am",
        "every month on the 15th at 9am",
        "monthly on the 15th at 9am",
        "on the 15th of each month at 09:00",
        "day 15 of the month at 9am",
        "at 9am on the 15th of every month",
        "the fifteenth of every month at 9am",
    ],
    "cron:0 9 31 * *": ["the 31st of every month at 9am", "monthly on the 31st at 9am"],
    "cron:0 23 L * *": [
        "last day of the month at 23:00",
        "the last day of every month at 11pm",
        "on the last day of each month at 23:00",
        "monthly on the last day at 11pm",
    ],
    "cron:0 8 1 * *": [
        "first day of every month at 8am",
        "the 1st of every month at 8am",
        "monthly on the 1st at 8am",
        "every month on the first at 8am",
    ],
    "cron:0 9 24 12 *": [
        "every year on december 24 at 9am",
        "yearly on 24 december at 9am",
        "annually on dec 24 at 09:00",
        "every year on the 24th of december at 9am",
        "at 9am every year on december 24th",
    ],
    "cron:0 * * * *": ["hourly", "every hour on the hour", "hourly on the hour"],
    "cron:0 9-16 * * 1-5": [
        "every hour on the hour between 9am and 5pm on weekdays",
        "hourly between 9am and 5pm on weekdays",
        "hourly from 9 to 17 on weekdays",
    ],
    "cron:*/15 9-16 * * 1-5": [
        "every 15 minutes between 9am and 5pm on weekdays",
        "every 15 minutes from 9am to 5pm on weekdays",
        "on weekdays every 15 minutes between 9 and 17",
        "every 15m between 09:00 and 17:00 monday to friday",
    ],
    "cron:*/30 8-19 * * *": [
        "every 30 minutes between 8am and 8pm",
        "every half hour between 8am and 8pm",
    ],
    "cron:0 */2 * * *": ["every 2 hours on weekdays and weekends"],
    "cron:0 9,17 * * *": [
        "every day at 9am and 5pm",
        "daily at 9am and 5pm",
        "at 9am and 5pm every day",
        "every day at 9:00 and 17:00",
        "daily at 09:00 and 17:00",
    ],
    "cron:0 9,13,17 * * 1-5": [
        "every weekday at 9am, 1pm and 5pm",
        "at 9am, 1pm and 5pm on weekdays",
    ],
    "cron:30 18 * * 1,4": [
        "every monday and thursday at 18:30",
        "mondays and thursdays at 6:30pm",
        "on mondays and thursdays at 18:30",
        "at 6:30pm every monday and thursday",
    ],
    "cron:0 10 * * 0,6": [
        "every weekend at 10am",
        "weekends at 10am",
        "on weekends at 10:00",
        "saturdays and sundays at 10am",
        "at 10am on weekends",
    ],
    "cron:0 12 * * 1-5": [
        "every weekday at noon",
        "at noon on weekdays",
        "weekdays at midday",
        "noon every weekday",
    ],
    "cron:0 0 * * *": [
        "every day at midnight",
        "daily at midnight",
        "nightly at midnight",
        "every night at midnight",
    ],
    "cron:0 7 * * 0": [
        "every sunday at 7am",
        "sundays at 7am",
        "weekly on sunday at 7am",
        "every week on sunday at 7am",
    ],
    "2026-11-30T09:00:00+01:00|2026-12-14T09:00:00+01:00|2026-12-28T09:00:00+01:00": [
        "every other monday at 9am",
        "biweekly on monday at 9am",
        "every 2 weeks on monday at 9am",
        "every two weeks on monday at 09:00",
        "fortnightly on mondays at 9am",
        "every other week on monday at 9am",
        "every 2 weeks on monday at 09:00 from 2026-11-30",
    ],
    "2026-11-27T17:00:00+01:00|2026-12-18T17:00:00+01:00": [
        "every 3 weeks on friday at 5pm",
        "every three weeks on friday at 17:00",
    ],
    "2026-11-24T08:00:00+01:00|2026-11-26T08:00:00+01:00|2026-11-28T08:00:00+01:00": [
        "every 2 days at 8am",
        "every other day at 8am",
        "every two days at 08:00",
    ],
    "2026-12-24T18:00:00+01:00": [
        "december 24 at 6pm",
        "24 december at 6pm",
        "dec 24 at 18:00",
        "24th december at 6pm",
        "the 24th of december at 6pm",
        "on december 24th at 6pm",
        "at 6pm on december 24",
        "24/12 at 6pm",
        "12/24 at 6pm",
        "2026-12-24 18:00",
        "2026-12-24 at 6pm",
        "december 24 2026 at 6pm",
        "24 dec 2026 at 18:00",
        "on 24 december at 6 in the evening",
        "december 24, 2026 at 6pm",
        "24/12/2026 at 18:00",
        "on the 24th of dec at 6pm",
    ],
    "2027-03-01T08:00:00+01:00": ["march 1 at 8am", "1 march at 8am", "on the 1st of march at 8am"],
    "2026-11-23T21:00:00+01:00": [
        "tonight at 9",
        "tonight at 9pm",
        "at 9 tonight",
        "at 21:00 tonight",
        "this evening at 9",
        "today at 9pm",
        "at 9pm today",
        "at 9 this evening",
        "9pm tonight",
        "at 9 in the evening",
        "at 9pm",
        "21:00",
        "at 21:00",
    ],
    "2026-11-23T15:00:00+01:00": [
        "this afternoon at 3",
        "at 3 this afternoon",
        "today at 3pm",
        "at 3 in the afternoon",
        "at 15:00",
    ],
    "2026-11-24T19:00:00+01:00": [
        "tomorrow evening at 7",
        "tomorrow at 7pm",
        "at 7 tomorrow evening",
        "tomorrow at 19:00",
    ],
    "2026-11-25T12:00:00+01:00": [
        "the day after tomorrow at noon",
        "day after tomorrow at 12:00",
        "at noon the day after tomorrow",
        "wednesday at noon",
        "on wednesday at 12pm",
        "in 2 days at noon",
    ],
    "2026-11-27T17:00:00+01:00": [
        "next friday at 5pm",
        "friday at 5pm",
        "on friday at 5pm",
        "at 5pm on friday",
        "this friday at 5pm",
        "fri at 17:00",
        "friday 5pm",
        "friday afternoon at 5",
        "on friday at 5 in the afternoon",
        "coming friday at 5pm",
    ],
    "2026-11-30T09:00:00+01:00": [
        "next monday at 9am",
        "monday at 9am",
        "on monday at 09:00",
        "at 9am next monday",
        "mon 9am",
    ],
    "2026-11-23T11:00:00+01:00|": ["monday at 11am", "today at 11am", "at 11am"],
    "2026-12-01T09:00:00+01:00": [
        "on the 1st at 9am",
        "the 1st at 9am",
        "at 9am on the 1st",
        "on the first at 9am",
        "december 1 at 9am",
    ],
    "2026-11-24T00:00:00+01:00": ["midnight", "at midnight", "tonight at midnight"],
    "2026-11-23T12:00:00+01:00": ["noon", "at noon", "today at noon", "at midday", "at 12pm"],
    "2026-11-24T00:30:00+01:00": ["at 00:30", "at 12:30am", "tomorrow at 00:30"],
}

CASES = [
    pytest.param(phrase, expected, id=phrase)
    for expected, phrases in FAMILIES.items()
    for phrase in phrases
]


def expected_fires(expected: str) -> list[str]:
    if expected.startswith("cron:"):
        rule = CronTrigger(expected.removeprefix("cron:"), BERLIN)
        return local(next_fires(rule, NOW, 4), BERLIN)
    if expected.startswith("interval:"):
        step = timedelta(seconds=int(expected.removeprefix("interval:")))
        return local([NOW + step * k for k in (1, 2, 3, 4)], BERLIN)
    return [part for part in expected.split("|") if part]


def test_the_corpus_is_large() -> None:
    assert len(CASES) >= 300


@pytest.mark.parametrize(("phrase", "expected"), CASES)
def test_phrase_fires(phrase: str, expected: str) -> None:
    want = expected_fires(expected)
    trigger = parse(phrase, tz=BERLIN, now=NOW)
    count = len(want) if "|" in expected or ":" not in expected[:9] else 4
    got = local(next_fires(trigger, NOW, max(count, len(want))), BERLIN)
    assert got[: len(want)] == want
    if not expected.startswith(("cron:", "interval:")) and "|" not in expected:
        assert len(got) == 1, "a one-off fires once"


@pytest.mark.parametrize(
    ("phrase", "message"),
    [
        ("at 9", "'9' is ambiguous: write 9am, 9pm or 09:00"),
        ("tomorrow at 9", "'9' is ambiguous"),
        ("every day at 7", "'7' is ambiguous"),
        ("tomorrow", "needs a time of day, e.g. 'tomorrow at 9am'"),
        ("tomorrow morning", "needs a time of day, e.g. 'tomorrow morning at 9'"),
        ("next week", "does not say which day: name one, e.g. 'next monday at 9am'"),
        ("next month", "does not say which day"),
        ("friday", "needs a time of day"),
        ("in 3 days at 8", "'8' is ambiguous"),
        ("in -5 minutes", "-5 is negative"),
        ("in 5 parsecs", "unknown unit 'parsecs'"),
        ("in 3 hours at 5pm", "not whole days"),
        ("daily", "needs a time of day"),
        ("weekly", "does not say which day of the week"),
        ("weekly at 9am", "does not say which day of the week"),
        ("monthly at 9am", "does not say which day of the month"),
        ("yearly at 9am", "does not say which date"),
        ("every other week at 9am", "does not say which day"),
        ("every other monday", "needs a time of day"),
        ("every 7 minutes between 9am and 5pm", "must divide an hour or a day"),
        ("every day at 9am between 9am and 5pm", "gives a window but no amount"),
        ("between 9am and 5pm", "gives a window but no amount"),
        ("12/11/2027 at 9am", "ambiguous (day/month or month/day?)"),
        ("tonight at 9am", "needs an evening time"),
        ("this morning at 9pm", "needs a morning time"),
        ("tomorrow at 9am and 5pm", "several times for a one-off"),
        ("every monday on the 1st at 9am", "a weekday and a day of the month"),
        ("sixth monday of the month at 9am", "at most five"),
        ("the 32nd of every month at 9am", "not a day of the month"),
        ("evry day at 9am", "unknown word 'evry' (did you mean 'every'?)"),
        ("every day at 9am sharp", "unknown word 'sharp'"),
        ("every day at 9am 2026", "did not understand '2026' after 'every day at 9am'"),
        ("at 24:00", "not a time of day"),
        ("at 24", "24 is not an hour of the day"),
        ("february 30 at 9am", "has no day 30"),
        ("tomorrow at noon on friday", "gives the day twice"),
        ("last monday at 9am", "did you mean 'next monday'"),
        ("every 15 minutes at 9am", "gives both an amount and a time"),
        ("in 3 days next friday at 9am", "gives an amount ('in ...') and another day"),
    ],
    ids=lambda value: value if " " in value or len(value) < 12 else None,
)
def test_refusal_names_what_was_not_understood(phrase: str, message: str) -> None:
    with pytest.raises(InvalidTrigger) as info:
        parse(phrase, tz=BERLIN, now=NOW)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


ROUND_TRIPS = [
    "every weekday at 9am",
    "every monday and thursday at 18:30",
    "first monday of the month at 9am",
    "last friday of the month at 5pm",
    "the 15th of every month at 9am",
    "the 31st of every month at 9am",
    "every year on december 24 at 9am",
    "every 15 minutes between 9am and 5pm on weekdays",
    "every other monday at 9am",
    "every 3 weeks on friday at 5pm",
    "every 2 days at 8am",
    "tomorrow at 2pm",
    "december 24 at 6pm",
    "in 90 minutes",
    "every 90 minutes",
    "every weekend at 10am",
    "last day of the month at 23:00",
    "hourly",
]


@pytest.mark.parametrize("phrase", ROUND_TRIPS)
def test_description_reads_back_to_the_same_fires(phrase: str) -> None:
    trigger = parse(phrase, tz=BERLIN, now=NOW)
    again = parse(trigger.describe(), tz=BERLIN, now=NOW)
    assert next_fires(again, NOW, 6) == next_fires(trigger, NOW, 6), trigger.describe()
