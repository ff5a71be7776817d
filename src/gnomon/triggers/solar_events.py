"""When the sun crosses an altitude: NOAA's solar position, and root-finding in UTC time.

Events are crossings, not "the event of a local date": a sunset just after local midnight is
found (a date with two sunsets, or none, is fine), polar day or night are simply stretches
with no crossing, and the first crossing after them is found by the same search. The sun's
position follows the NOAA solar calculator (Meeus' low-precision formulas, about 0.01° here);
sunrise and sunset are the upper limb at the horizon with standard refraction (-0.833°),
dawn and dusk the centre at -6° (civil), -12° (nautical) or -18° (astronomical).

The search walks a grid of ``STEP`` seconds fixed in UTC (multiples since the epoch), so the
same crossing is always bracketed and bisected the same way: every start inside one interval
finds the same instant, to the second.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

STEP = 600.0
"""Grid of the search in seconds. A cell that holds a culmination (the sun highest or lowest)
is split there, so the sun grazing the altitude for less than a cell (two crossings in one
cell, at the edge of polar day or night) is found too."""
MAX_EOT_MINUTES = 17.0  # the equation of time stays within about ±16.5 minutes
DEPRESSION = {"sunrise": -0.833, "sunset": -0.833, "civil": -6.0, "nautical": -12.0}
DEPRESSION["astronomical"] = -18.0
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def sun_position(seconds: float) -> tuple[float, float]:
    """(declination in degrees, equation of time in minutes) at Unix time ``seconds``."""
    t = (seconds / 86400.0 + 2440587.5 - 2451545.0) / 36525.0
    l0 = math.radians((280.46646 + t * (36000.76983 + t * 0.0003032)) % 360)
    m = math.radians(357.52911 + t * (35999.05029 - 0.0001537 * t))
    e = 0.016708634 - t * (0.000042037 + 0.0000001267 * t)
    c = (
        math.sin(m) * (1.914602 - t * (0.004817 + 0.000014 * t))
        + math.sin(2 * m) * (0.019993 - 0.000101 * t)
        + math.sin(3 * m) * 0.000289
    )
    omega = math.radians(125.04 - 1934.136 * t)
    apparent = l0 + math.radians(c - 0.00569 - 0.00478 * math.sin(omega))
    seconds_of_arc = 21.448 - t * (46.815 + t * (0.00059 - t * 0.001813))
    obliquity = math.radians(23 + (26 + seconds_of_arc / 60) / 60 + 0.00256 * math.cos(omega))
    declination = math.asin(math.sin(obliquity) * math.sin(apparent))
    y = math.tan(obliquity / 2) ** 2
    eot = (
        y * math.sin(2 * l0)
        - 2 * e * math.sin(m)
        + 4 * e * y * math.sin(m) * math.cos(2 * l0)
        - 0.5 * y * y * math.sin(4 * l0)
        - 1.25 * e * e * math.sin(2 * m)
    )
    return math.degrees(declination), 4 * math.degrees(eot)


def altitude(seconds: float, latitude: float, longitude: float) -> float:
    """The sun's geometric altitude in degrees at Unix time ``seconds`` seen from a place."""
    declination, eot = sun_position(seconds)
    solar_minutes = (seconds % 86400) / 60 + eot + 4 * longitude
    hour_angle = math.radians(solar_minutes / 4 - 180)
    lat, dec = math.radians(latitude), math.radians(declination)
    cos_zenith = math.sin(lat) * math.sin(dec) + math.cos(lat) * math.cos(dec) * math.cos(
        hour_angle
    )
    return math.degrees(math.asin(max(-1.0, min(1.0, cos_zenith))))


def next_crossing(
    after: datetime,
    latitude: float,
    longitude: float,
    depression: float,
    *,
    rising: bool,
    days: int,
) -> datetime | None:
    """The first instant strictly after ``after`` (whole seconds) when the sun rises above
    (``rising``) or sets below ``depression`` degrees, within ``days`` days; else ``None``."""
    start = (after - _EPOCH).total_seconds()
    cell = math.floor(start / STEP) * STEP
    before = altitude(cell, latitude, longitude) - depression
    for _ in range(int(days * 86400 / STEP) + 1):
        points = [cell, *_culmination(cell, longitude), cell + STEP]
        values = [before, *(altitude(p, latitude, longitude) - depression for p in points[1:])]
        for low, high, v_low, v_high in zip(points, points[1:], values, values[1:], strict=False):
            if (v_low < 0 <= v_high) if rising else (v_low >= 0 > v_high):
                root = round(_bisect(low, high, latitude, longitude, depression))
                if root > start:
                    return _EPOCH + timedelta(seconds=root)
        cell, before = cell + STEP, values[-1]
    return None


def _culmination(cell: float, longitude: float) -> list[float]:
    """The instant inside ``(cell, cell + STEP)`` when the sun culminates (hour angle 0 or
    180°: its altitude is highest or lowest), if there is one."""
    minutes = (cell % 86400) / 60 + 4 * longitude  # local mean solar time, minutes
    ahead = -minutes % 720  # to the next mean culmination
    if STEP / 60 + MAX_EOT_MINUTES < ahead < 720 - MAX_EOT_MINUTES:
        return []  # the true one (mean time corrected by the equation of time) is not near
    _, eot = sun_position(cell)
    ahead = -(minutes + eot) % 720
    return [cell + ahead * 60] if 0 < ahead * 60 < STEP else []


def _bisect(low: float, high: float, latitude: float, longitude: float, depression: float) -> float:
    sign_low = altitude(low, latitude, longitude) - depression < 0
    while high - low > 0.05:
        middle = (low + high) / 2
        if (altitude(middle, latitude, longitude) - depression < 0) == sign_low:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def next_noon(after: datetime, longitude: float) -> datetime:
    """The first solar noon (the sun on the meridian) strictly after ``after``."""
    day = math.floor((after - _EPOCH).total_seconds() / 86400) - 1
    while True:
        noon = day * 86400 + 43200 - 240 * longitude
        for _ in range(3):
            noon = day * 86400 + 43200 - 240 * longitude - 60 * sun_position(noon)[1]
        instant = _EPOCH + timedelta(seconds=round(noon))
        if instant > after:
            return instant
        day += 1
