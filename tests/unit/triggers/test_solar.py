"""Solar events: per local date, offsets, polar day and night, odd zones."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gnomon.errors import InvalidTrigger
from gnomon.triggers import parse, solar, trigger_from_json
from gnomon.triggers.solar import SolarTrigger
from tests.unit.triggers.timeline import at, fires, local

P = pytest.param
BERLIN = (52.52, 13.405)
TROMSO = (69.65, 18.96)


@pytest.mark.parametrize(
    ("spec", "event", "offset"),
    [
        P("sunset", "sunset", 0, id="sunset"),
        P("sunrise", "sunrise", 0, id="sunrise"),
        P("dawn", "dawn", 0, id="dawn"),
        P("dusk", "dusk", 0, id="dusk"),
        P("solar noon", "noon", 0, id="solar-noon"),
        P("sunset+20m", "sunset", 1200, id="sunset-plus-20m"),
        P("sunrise-1h", "sunrise", -3600, id="sunrise-minus-1h"),
        P("sunset + 20 minutes", "sunset", 1200, id="spaced-offset"),
        P("30 minutes before dusk", "dusk", -1800, id="before-dusk"),
        P("every day at sunrise", "sunrise", 0, id="every-day-at-sunrise"),
    ],
)
def test_solar_phrases(spec: str, event: str, offset: int) -> None:
    trigger = parse(spec, tz="Europe/Berlin", now=at("2026-03-29T00:00+01:00"), location=BERLIN)
    assert trigger == SolarTrigger(event, *BERLIN, timedelta(seconds=offset), "Europe/Berlin")
    assert trigger_from_json(trigger.to_json()) == trigger


def test_berlin_on_the_dst_day_matches_astral_reference() -> None:
    """Reference values from research/libraries.md §4 (Berlin, 2026-03-29), to the minute;
    dusk is 20:09:54 (ephem: 20:09:52), which astral's table rounded to 20:10."""
    start = at("2026-03-29T00:00+01:00")
    got = {}
    for event in ("dawn", "sunrise", "noon", "sunset", "dusk"):
        trigger = SolarTrigger(event, *BERLIN, tz="Europe/Berlin")
        got[event] = local(fires(trigger, start, 1), "Europe/Berlin")[0][11:16]
    assert got == {
        "dawn": "06:13",
        "sunrise": "06:48",
        "noon": "13:11",
        "sunset": "19:35",
        "dusk": "20:09",
    }


def test_offset_applies_in_real_time() -> None:
    plain = SolarTrigger("sunset", *BERLIN, tz="Europe/Berlin")
    later = SolarTrigger("sunset", *BERLIN, timedelta(minutes=20), "Europe/Berlin")
    start = at("2026-06-01T00:00+02:00")
    assert [f + timedelta(minutes=20) for f in fires(plain, start, 3)] == fires(later, start, 3)


def test_polar_night_skips_days_without_sunrise() -> None:
    """Tromsø has no sunrise from late November to mid January: those days are skipped."""
    trigger = SolarTrigger("sunrise", *TROMSO, tz="Europe/Oslo")
    days = [f[:10] for f in local(fires(trigger, at("2026-11-20T00:00+01:00"), 9), "Europe/Oslo")]
    assert days[:8] == [f"2026-11-{d}" for d in range(20, 28)]  # ephem: last one 10:20 on 27th
    assert days[-1] > "2027-01-10"
    assert not any("2026-12-01" <= d <= "2027-01-10" for d in days)


def test_polar_day_has_solar_noon_but_no_sunset() -> None:
    start = at("2026-06-21T00:00+02:00")
    noon = SolarTrigger("noon", *TROMSO, tz="Europe/Oslo")
    sunset = SolarTrigger("sunset", *TROMSO, tz="Europe/Oslo")
    assert local(fires(noon, start, 1), "Europe/Oslo")[0].startswith("2026-06-21T12:")
    assert local(fires(sunset, start, 1), "Europe/Oslo")[0] > "2026-07-20"


def test_no_event_within_the_search_horizon_gives_none(monkeypatch: pytest.MonkeyPatch) -> None:
    """The search is capped (400 days by default): past it, ``None``, never an exception."""
    monkeypatch.setattr(solar, "SEARCH_DAYS", 30)
    trigger = SolarTrigger("sunrise", *TROMSO, tz="Europe/Oslo")
    assert trigger.next_after(at("2026-12-01T00:00+01:00")) is None


def test_kiritimati_solar_noon_is_on_its_own_date() -> None:
    """astral dates noon one day late at UTC+14; each local date still gets its noon."""
    trigger = SolarTrigger("noon", 1.87, -157.4, tz="Pacific/Kiritimati")
    got = local(fires(trigger, at("2026-06-01T00:00+14:00"), 3), "Pacific/Kiritimati")
    assert [g[:10] for g in got] == ["2026-06-01", "2026-06-02", "2026-06-03"]


def test_location_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GNOMON_LATITUDE", "52.52")
    monkeypatch.setenv("GNOMON_LONGITUDE", "13.405")
    trigger = parse("sunset", tz="Europe/Berlin", now=at("2026-01-01T00:00Z"))
    assert trigger == SolarTrigger("sunset", *BERLIN, tz="Europe/Berlin")


@pytest.mark.parametrize(
    ("spec", "location", "message"),
    [
        P("sunset", None, "needs a location", id="no-location"),
        P("sunset", (95.0, 0.0), "is not a latitude", id="bad-latitude"),
        P("sunset+13h", BERLIN, "less than 12 hours", id="huge-offset"),
        P("sunset+20 parsecs", BERLIN, "unknown unit", id="bad-unit"),
        P("sunset tomorrow", BERLIN, "cannot read solar schedule", id="unknown-form"),
    ],
)
def test_solar_refusals(
    spec: str, location: tuple[float, float] | None, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GNOMON_LATITUDE", raising=False)
    monkeypatch.delenv("GNOMON_LONGITUDE", raising=False)
    with pytest.raises(InvalidTrigger, match=message):
        parse(spec, now=at("2026-01-01T00:00Z"), location=location)
