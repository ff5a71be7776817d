"""Sunrise/sunset fires of the coop example over a year against an independent calculation.

The reference is NOAA's "General Solar Position Calculations" (fractional-year series for the
equation of time and declination, zenith 90.833° for refraction and the solar disc), written
here from the published formulas — not astral, which gnomon uses.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import pytest

from gnomon.triggers import parse

BERLIN = (52.52, 13.405)
TROMSO = (69.6492, 18.9553)


def _sun(jd: float) -> tuple[float, float]:
    """(declination in degrees, equation of time in minutes) at Julian day ``jd``."""
    t = (jd - 2451545.0) / 36525.0
    mean_long = (280.46646 + t * (36000.76983 + t * 0.0003032)) % 360
    anomaly = math.radians(357.52911 + t * (35999.05029 - 0.0001537 * t))
    ecc = 0.016708634 - t * (0.000042037 + 0.0000001267 * t)
    centre = (
        math.sin(anomaly) * (1.914602 - t * (0.004817 + 0.000014 * t))
        + math.sin(2 * anomaly) * (0.019993 - 0.000101 * t)
        + math.sin(3 * anomaly) * 0.000289
    )
    omega = math.radians(125.04 - 1934.136 * t)
    apparent = math.radians(mean_long + centre - 0.00569 - 0.00478 * math.sin(omega))
    mean_obliquity = 23 + (26 + (21.448 - t * (46.815 + t * (0.00059 - t * 0.001813))) / 60) / 60
    obliquity = math.radians(mean_obliquity + 0.00256 * math.cos(omega))
    declination = math.degrees(math.asin(math.sin(obliquity) * math.sin(apparent)))
    y = math.tan(obliquity / 2) ** 2
    l0 = math.radians(mean_long)
    eq_time = 4 * math.degrees(
        y * math.sin(2 * l0)
        - 2 * ecc * math.sin(anomaly)
        + 4 * ecc * y * math.sin(anomaly) * math.cos(2 * l0)
        - 0.5 * y * y * math.sin(4 * l0)
        - 1.25 * ecc * ecc * math.sin(2 * anomaly)
    )
    return declination, eq_time


def noaa_event(day: date, lat: float, lon: float, rising: bool) -> datetime | None:
    """Sunrise or sunset (UTC) on ``day``, or None when the sun does not cross the horizon.

    NOAA's solar calculator (after Meeus), iterated so the sun's position is taken at the
    event itself; zenith 90.833° (refraction and the solar disc).
    """
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
    jd0 = midnight.timestamp() / 86400 + 2440587.5
    minutes = 720.0
    for _ in range(4):
        declination, eq_time = _sun(jd0 + minutes / 1440)
        phi, delta = math.radians(lat), math.radians(declination)
        cos_h = math.cos(math.radians(90.833)) / (math.cos(phi) * math.cos(delta)) - math.tan(
            phi
        ) * math.tan(delta)
        if not -1 <= cos_h <= 1:
            return None
        hour_angle = math.degrees(math.acos(cos_h))
        minutes = 720 - 4 * lon - eq_time + (-4 if rising else 4) * hour_angle
    return midnight + timedelta(minutes=minutes)


def fires(spec: str, location: tuple[float, float], tz: str, days: int) -> list[datetime]:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    trigger = parse(spec, tz=tz, now=start, location=location)
    out, fire = [], trigger.next_after(start)
    while fire is not None and fire < start + timedelta(days=days):
        out.append(fire)
        fire = trigger.next_after(fire)
    return out


@pytest.mark.parametrize(
    ("spec", "rising", "offset"),
    [
        pytest.param("sunrise", True, timedelta(0), id="coop-opens-at-sunrise"),
        pytest.param("sunset+20m", False, timedelta(minutes=20), id="coop-closes-sunset+20m"),
    ],
)
def test_coop_fires_match_noaa_within_two_minutes_all_year(
    spec: str, rising: bool, offset: timedelta
) -> None:
    seen = fires(spec, BERLIN, "Europe/Berlin", 365)
    assert len(seen) == 365  # one fire every day, DST days included
    worst = max(
        abs(fire - offset - noaa_event(fire.date(), *BERLIN, rising))  # type: ignore[operator]
        for fire in seen
    )
    assert worst <= timedelta(minutes=2), worst


def test_polar_day_and_night_in_tromso_skip_days_without_the_event() -> None:
    seen = fires("sunrise", TROMSO, "Europe/Oslo", 365)
    days = {f.astimezone(UTC).date() for f in seen}
    year = [date(2026, 1, 1) + timedelta(days=i) for i in range(365)]
    polar = [d for d in year if noaa_event(d, *TROMSO, True) is None]
    assert len(polar) > 100  # midnight sun and polar night: about four months without sunrise
    # Near the first and last polar days the event's time swings by minutes a day; compare
    # times a week away from them.
    edge = {d + timedelta(days=k) for d in polar for k in range(-7, 8)}
    assert not days & {
        d for d in polar if d + timedelta(days=1) in polar and d - timedelta(days=1) in polar
    }  # no fire inside a polar period
    assert 200 < len(seen) < 300
    for fire in seen:  # where both have the event, they agree
        reference = noaa_event(fire.astimezone(UTC).date(), *TROMSO, True)
        if reference is not None and fire.date() not in edge:
            assert abs(fire - reference) <= timedelta(minutes=5)
