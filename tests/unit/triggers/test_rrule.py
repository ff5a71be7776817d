"""RFC 5545 rules: dateutil for the calendar, gnomon's rules for DST."""

from __future__ import annotations

import pytest

from gnomon.errors import InvalidTrigger
from gnomon.triggers import parse, trigger_from_json
from gnomon.triggers.rrule import RRuleTrigger
from tests.unit.triggers.timeline import at, fires, local

P = pytest.param
NOW = at("2026-03-27T10:00+00:00")


@pytest.mark.parametrize(
    ("spec", "tz", "expected", "after"),
    [
        P(
            "DTSTART;TZID=Europe/Berlin:20260301T023000\nRRULE:FREQ=DAILY",
            "UTC",
            ["2026-03-28T02:30:00+01:00", "2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00"],
            "2026-03-27T10:00+00:00",
            id="berlin-daily-0230-gap-fires-at-gap-end",
        ),
        P(
            "DTSTART;TZID=Europe/Berlin:20260301T023000 RRULE:FREQ=DAILY",
            "UTC",
            ["2026-03-28T02:30:00+01:00"],
            "2026-03-27T10:00+00:00",
            id="one-line-form",
        ),
        P(
            "DTSTART:20261001T023000\nRRULE:FREQ=DAILY",
            "Europe/Berlin",
            ["2026-10-24T02:30:00+02:00", "2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"],
            "2026-10-24T00:00+02:00",
            id="berlin-daily-fold-fires-once",
        ),
        P(
            "DTSTART:20260329T000000\nRRULE:FREQ=HOURLY",
            "Europe/Berlin",
            ["2026-03-29T00:00:00+01:00", "2026-03-29T01:00:00+01:00", "2026-03-29T03:00:00+02:00"],
            "2026-03-27T10:00+00:00",
            id="berlin-hourly-skips-gap-no-duplicate-instant",
        ),
        P(
            "DTSTART:20261025T013000\nRRULE:FREQ=MINUTELY;INTERVAL=30",
            "Europe/Berlin",
            [
                "2026-10-25T02:00:00+02:00",
                "2026-10-25T02:30:00+02:00",
                "2026-10-25T02:00:00+01:00",
                "2026-10-25T02:30:00+01:00",
                "2026-10-25T03:00:00+01:00",
            ],
            "2026-10-25T01:45+02:00",
            id="berlin-30-minutes-both-fold-passes-in-order",
        ),
        P(
            "RRULE:FREQ=WEEKLY;BYDAY=MO,TH;BYHOUR=9;BYMINUTE=0;BYSECOND=0",
            "Europe/Berlin",
            ["2026-03-30T09:00:00+02:00", "2026-04-02T09:00:00+02:00"],
            "2026-03-27T10:00+00:00",
            id="no-dtstart-uses-now",
        ),
        P(
            "FREQ=MONTHLY;BYMONTHDAY=-1;BYHOUR=18;BYMINUTE=0;BYSECOND=0",
            "UTC",
            ["2026-03-31T18:00:00+00:00", "2026-04-30T18:00:00+00:00"],
            "2026-03-27T10:00+00:00",
            id="bare-freq",
        ),
        P(
            "DTSTART:20260301T090000\nRRULE:FREQ=DAILY;UNTIL=20260329T070000Z\n"
            "EXDATE:20260328T090000",
            "Europe/Berlin",
            ["2026-03-29T09:00:00+02:00"],
            "2026-03-27T10:00+00:00",
            id="until-utc-and-exdate",
        ),
        P(
            "DTSTART:20260301T090000Z\nRRULE:FREQ=DAILY;COUNT=40",
            "Europe/Berlin",
            ["2026-03-28T09:00:00+00:00"],
            "2026-03-27T10:00+00:00",
            id="utc-dtstart-runs-in-utc",
        ),
    ],
)
def test_rrule_fires(spec: str, tz: str, expected: list[str], after: str) -> None:
    trigger = parse(spec, tz=tz, now=NOW)
    assert isinstance(trigger, RRuleTrigger)
    assert local(fires(trigger, at(after), len(expected)), trigger.tz) == expected
    assert trigger_from_json(trigger.to_json()) == trigger


def test_finite_rule_ends_with_none() -> None:
    trigger = parse("DTSTART:20260328T090000\nRRULE:FREQ=DAILY;COUNT=2", now=NOW)
    assert len(fires(trigger, NOW, 5)) == 2


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        P("RRULE:FREQ=SOMETIMES", "RRULE: invalid 'FREQ'", id="bad-freq"),
        P("DTSTART:2026 RRULE:FREQ=DAILY", "is not YYYYMMDDTHHMMSS", id="bad-dtstart"),
        P("DTSTART:20200101T000000 RRULE:FREQ=DAILY;COUNT=1", "no occurrence after now", id="over"),
        P("DTSTART:20260101T000000 FOO:BAR", "unknown line 'FOO'", id="unknown-line"),
        P(
            "DTSTART;TZID=Mars/Base:20260101T000000 RRULE:FREQ=DAILY",
            "unknown time zone",
            id="bad-tzid",
        ),
        P("DTSTART:20260101T000000", "no RRULE line", id="no-rule"),
        P(
            "RRULE:FREQ=DAILY;COUNT=3;UNTIL=20270101T000000",
            "both COUNT and UNTIL",
            id="count-and-until",
        ),
    ],
)
def test_rrule_refusals(spec: str, message: str) -> None:
    with pytest.raises(InvalidTrigger, match=message):
        parse(spec, now=NOW)
