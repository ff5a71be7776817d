"""Solar events against an independent ephemeris (PyEphem, a test-only dependency).

A grid of places from the equator to 78°N/S, sampled windows over two years: every event
ephem sees fires once, within 60 s below 66° of latitude and 120 s above; days without the
event (polar day or night) are skipped and the first event after them is found. Sunrise and
sunset are the upper limb at -0°34' with no further refraction; dawn and dusk the centre.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from gnomon.triggers.solar import SolarTrigger
from tests.unit.triggers.timeline import at, fires, local

ephem = pytest.importorskip("ephem")

LATITUDES = (0.0, 23.4, -33.9, 45.0, -54.8, 60.2, 64.1, 66.6, -68.6, 69.65, 74.0, 78.2, -78.0)
LONGITUDES = {
    0.0: -78.5,
    23.4: 88.0,
    -33.9: 18.4,
    45.0: -122.7,
    -54.8: -68.3,
    60.2: 24.9,
    64.1: -21.9,
    66.6: 25.7,
    -68.6: 77.97,
    69.65: 18.96,
    74.0: -179.0,
    78.2: 15.6,
    -78.0: 166.7,
}
EVENTS = {
    "sunrise": ("-0:34", False, True),
    "sunset": ("-0:34", False, False),
    "dawn": ("-6", True, True),
    "dusk": ("-6", True, False),
    "nautical_dusk": ("-12", True, False),
    "astronomical_dawn": ("-18", True, True),
}
STARTS = [datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=d) for d in range(0, 730, 61)]
WINDOW = timedelta(days=3)


def ephemeris_events(event: str, lat: float, lon: float, start: datetime) -> list[datetime]:
    """The events ephem finds in ``[start, start + WINDOW)``."""
    horizon, centre, rising = EVENTS[event]
    observer = ephem.Observer()
    observer.lat, observer.lon = str(lat), str(lon)
    observer.pressure, observer.horizon = 0, horizon
    observer.date = start.replace(tzinfo=None)
    sun, found = ephem.Sun(), []
    end = start + WINDOW
    while observer.date.datetime().replace(tzinfo=UTC) < end:
        search = observer.next_rising if rising else observer.next_setting
        try:
            moment = search(sun, use_center=centre)
        except (ephem.AlwaysUpError, ephem.NeverUpError):
            observer.date += 0.5
            continue
        instant = moment.datetime().replace(tzinfo=UTC)
        if instant < end:
            found.append(instant)
        observer.date = moment + 1 / 86400
    return found


def ours(event: str, lat: float, lon: float, start: datetime) -> list[datetime]:
    trigger = SolarTrigger(event, lat, lon)
    return [f for f in fires(trigger, start - timedelta(seconds=1), 6) if f < start + WINDOW]


def test_the_grid_compares_events() -> None:
    """Not vacuous: the grid holds hundreds of events, and some windows have none."""
    counts = [
        len(ephemeris_events("sunrise", lat, LONGITUDES[lat], STARTS[0])) for lat in LATITUDES
    ]
    assert sum(counts) >= 24
    assert 0 in counts


@pytest.mark.parametrize("lat", LATITUDES)
@pytest.mark.parametrize("event", sorted(EVENTS))
def test_every_event_fires_once_near_the_ephemeris(event: str, lat: float) -> None:
    tolerance = timedelta(seconds=60 if abs(lat) < 66 else 120)
    lon = LONGITUDES[lat]
    for start in STARTS:
        expected, got = ephemeris_events(event, lat, lon, start), ours(event, lat, lon, start)
        assert len(got) == len(expected), (start, expected, got)
        for e, g in zip(expected, got, strict=True):
            assert abs(e - g) <= tolerance, (start, e, g)


@pytest.mark.parametrize("lat", [-78.0, 0.0, 52.5, 69.65, 78.2])
def test_solar_noon_near_the_ephemeris(lat: float) -> None:
    lon = LONGITUDES.get(lat, 13.4)
    observer = ephem.Observer()
    observer.lat, observer.lon = str(lat), str(lon)
    for start in STARTS:
        observer.date = start.replace(tzinfo=None)
        transit = observer.next_transit(ephem.Sun()).datetime().replace(tzinfo=UTC)
        got = SolarTrigger("noon", lat, lon).next_after(start)
        assert got is not None
        assert abs(got - transit) <= timedelta(seconds=30), (start, transit)


def test_reykjavik_sunset_just_after_midnight_fires() -> None:
    """In late June Reykjavik's sunset falls just after local midnight: each one fires."""
    trigger = SolarTrigger("sunset", 64.1466, -21.9426, tz="Atlantic/Reykjavik")
    got = fires(trigger, at("2026-06-15T00:00+00:00"), 30)
    gaps = [b - a for a, b in itertools.pairwise(got)]
    assert max(gaps) < timedelta(hours=25)
    assert any(g.astimezone(UTC).hour == 0 for g in got)  # some sunsets after midnight


def test_tromso_sunrise_near_midnight_utc_is_exact_and_single() -> None:
    """Tromsø in late January: sunrise close to the day's first UTC hours, once a day."""
    trigger = SolarTrigger("sunrise", 69.65, 18.96, tz="Europe/Oslo")
    start = at("2027-01-14T00:00+01:00")
    got = fires(trigger, start, 10)
    expected = ephemeris_events("sunrise", 69.65, 18.96, start.astimezone(UTC))
    days = [d[:10] for d in local(got, "Europe/Oslo")]
    assert len(days) == len(set(days))
    assert all(abs(e - g) <= timedelta(seconds=120) for e, g in zip(expected, got, strict=False))


def test_polar_night_is_described() -> None:
    text = SolarTrigger("sunrise", 69.65, 18.96, tz="Europe/Oslo").describe()
    assert "polar day or night" in text


@pytest.mark.parametrize("offset_minutes", [-90, -15, 20, 120])
@pytest.mark.parametrize("lat", [0.0, 45.0, -54.8, 64.1, 69.65, 78.2])
@pytest.mark.parametrize("event", ["sunrise", "sunset", "dusk"])
def test_events_with_an_offset_fire_at_the_ephemeris_event_plus_the_offset(
    event: str, lat: float, offset_minutes: int
) -> None:
    offset = timedelta(minutes=offset_minutes)
    tolerance = timedelta(seconds=60 if abs(lat) < 66 else 120)
    lon = LONGITUDES[lat]
    trigger = SolarTrigger(event, lat, lon, offset)
    for start in STARTS:
        expected = [e + offset for e in ephemeris_events(event, lat, lon, start)]
        got = [
            f
            for f in fires(trigger, start + offset - timedelta(seconds=1), 6)
            if f < start + offset + WINDOW
        ]
        assert len(got) == len(expected), (start, expected, got)
        for e, g in zip(expected, got, strict=True):
            assert abs(e - g) <= tolerance, (start, e, g)


@pytest.mark.parametrize("event", ["sunrise", "sunset"])
def test_a_grazing_sun_above_the_horizon_for_minutes_fires_both_events(event: str) -> None:
    """At the edge of polar night the sun may clear the horizon for under a search cell (here
    about 8 minutes by the ephemeris): both crossings fall in one 10-minute cell, which is
    split at the culmination so that neither is missed."""
    lat, lon, day = 67.818, 18.96, datetime(2026, 12, 11, tzinfo=UTC)
    [expected] = ephemeris_events(event, lat, lon, day)[:1]
    got = ours(event, lat, lon, day)
    assert got, f"no {event} found"
    assert abs(got[0] - expected) <= timedelta(seconds=120), (expected, got[0])
    rise, set_ = (
        ephemeris_events("sunrise", lat, lon, day)[0],
        ephemeris_events("sunset", lat, lon, day)[0],
    )
    assert timedelta(0) < set_ - rise < timedelta(minutes=10)  # a grazing day indeed
