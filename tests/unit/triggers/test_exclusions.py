"""Calendar exclusions wrap another trigger."""

from __future__ import annotations

import pytest

from gnomon.errors import InvalidTrigger
from gnomon.triggers import parse, trigger_from_json
from gnomon.triggers.exclusions import ExceptTrigger
from tests.unit.triggers.timeline import at, fires, local

P = pytest.param
BERLIN = "Europe/Berlin"
NOW = at("2026-12-20T10:00+01:00")


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        P(
            "every weekday at 9:00 except holidays in DE-BY",
            [
                "2026-12-21",
                "2026-12-22",
                "2026-12-23",
                "2026-12-24",
                "2026-12-28",
                "2026-12-29",
                "2026-12-30",
                "2026-12-31",
                "2027-01-04",
                "2027-01-05",
                "2027-01-07",
            ],
            id="bavaria-skips-christmas-new-year-epiphany",
        ),
        P(
            "0 9 * * 1-5 except 2026-12-24,2026-12-31",
            ["2026-12-21", "2026-12-22", "2026-12-23", "2026-12-25", "2026-12-28"],
            id="listed-dates",
        ),
        P(
            "every weekday at 9:00 except holidays in DE-BY and 2026-12-23",
            ["2026-12-21", "2026-12-22", "2026-12-24"],
            id="holidays-and-dates",
        ),
        P("* * * * * * except 2026-12-20", ["2026-12-21"], id="per-second-job-skips-day-at-once"),
    ],
)
def test_exclusions(spec: str, expected: list[str]) -> None:
    trigger = parse(spec, tz=BERLIN, now=NOW)
    assert isinstance(trigger, ExceptTrigger)
    days = [f[:10] for f in local(fires(trigger, NOW, len(expected)), BERLIN)]
    assert days == expected
    assert trigger_from_json(trigger.to_json()) == trigger


def test_describe_names_the_exclusions() -> None:
    trigger = parse("every weekday at 9:00 except holidays in DE-BY", tz=BERLIN, now=NOW)
    assert trigger.describe() == (
        "At 09:00, Monday through Friday (Europe/Berlin), except public holidays in DE-BY"
    )


def test_everything_excluded_ends_with_none() -> None:
    trigger = parse("0 9 25 12 * except 2026-12-25", tz=BERLIN, now=NOW)
    assert fires(trigger, NOW, 2)[0] == at("2027-12-25T09:00+01:00")
    dates = ",".join(f"{y}-12-25" for y in range(2026, 2040))
    capped = parse(f"0 9 25 12 * except {dates}", tz=BERLIN, now=NOW)
    assert fires(capped, NOW, 1) == [at("2040-12-25T09:00+01:00")]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        P("every day at 9am except holidays in XX", "unknown holiday calendar 'XX'", id="country"),
        P("every day at 9am except holidays in DE-ZZ", "unknown holiday calendar", id="subdiv"),
        P("every day at 9am except tuesdays", "cannot read exclusion 'tuesdays'", id="word"),
        P("every day at 9am except 2026-02-30", "is not a date", id="bad-date"),
        P("except 2026-12-24", "empty schedule", id="nothing-before-except"),
    ],
)
def test_exclusion_refusals(spec: str, message: str) -> None:
    with pytest.raises(InvalidTrigger, match=message):
        parse(spec, tz=BERLIN, now=NOW)
