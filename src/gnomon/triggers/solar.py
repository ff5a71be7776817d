"""Solar triggers: dawn, sunrise, solar noon, sunset, dusk, with an offset, at a place.

Each fire is an event of the sun (``solar_events.py``: crossings of an altitude found in UTC
time) plus the offset, so every real event fires once, including a sunset just after local
midnight, and days without the event (polar day or night) are skipped: the search goes on to
the first event after them, for up to ``SEARCH_DAYS`` days, then ``next_after`` gives
``None``. Dawn and dusk are civil (-6°) unless named nautical (-12°) or astronomical (-18°).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from gnomon.errors import ConfigError, InvalidTrigger
from gnomon.instants import require_aware
from gnomon.triggers.base import register
from gnomon.triggers.interval import describe_seconds
from gnomon.triggers.lexicon import read_duration
from gnomon.triggers.zones import zone

SEARCH_DAYS = 400
EVENTS: tuple[str, ...] = ("dawn", "sunrise", "noon", "sunset", "dusk")
EVENTS += tuple(
    f"{depth}_{edge}" for depth in ("nautical", "astronomical") for edge in ("dawn", "dusk")
)
_POLAR_FROM = {"sunrise": 65.7, "sunset": 65.7, "dawn": 60.0, "dusk": 60.0}
"""Latitudes (degrees) beyond which some days have no such event; deeper twilights: 48°."""
_EVENT = (
    r"(?P<event>sunrise|sunset|(?:(?P<depth>civil|nautical|astronomical) )?(?P<edge>dawn|dusk)"
    r"|solar noon)"
)
_PHRASES = [
    re.compile(rf"^(?:(?:every day|daily) )?(?:at )?{_EVENT}(?:\s*(?P<sign>[+-])\s*(?P<d>.+))?$"),
    re.compile(rf"^(?:(?:every day|daily) )?(?P<d>.+?) (?P<side>before|after) {_EVENT}$"),
]


@register
@dataclass(frozen=True, slots=True)
class SolarTrigger:
    """Fires at ``event`` + ``offset`` on every local date of ``tz`` that has the event."""

    kind: ClassVar[str] = "solar"
    event: str
    latitude: float
    longitude: float
    offset: timedelta = timedelta(0)
    tz: str = "UTC"

    def __post_init__(self) -> None:
        if self.event not in EVENTS:
            raise InvalidTrigger(f"unknown solar event {self.event!r}; use one of {EVENTS}")
        if not (-90 <= self.latitude <= 90 and -180 <= self.longitude <= 180):
            raise InvalidTrigger(
                f"location {self.latitude}, {self.longitude} is not a latitude (-90..90) "
                "and longitude (-180..180)"
            )
        if abs(self.offset) >= timedelta(hours=12):
            raise InvalidTrigger("a solar offset must be less than 12 hours")
        zone(self.tz)

    def next_after(self, instant: datetime) -> datetime | None:
        instant = require_aware(instant, "instant")
        event = self.next_event(instant - self.offset)
        return None if event is None else event + self.offset

    def next_event(self, after: datetime) -> datetime | None:
        """The first event strictly after ``after`` (UTC, whole seconds), or ``None``."""
        from gnomon.triggers.solar_events import DEPRESSION, next_crossing, next_noon

        if self.event == "noon":
            return next_noon(after, self.longitude)
        depth, _, edge = self.event.rpartition("_")
        depression = DEPRESSION[depth or ("civil" if edge in ("dawn", "dusk") else edge)]
        rising = edge in ("sunrise", "dawn")
        return next_crossing(
            after, self.latitude, self.longitude, depression, rising=rising, days=SEARCH_DAYS
        )

    def describe(self) -> str:
        name = "solar noon" if self.event == "noon" else self.event.replace("_", " ")
        seconds = self.offset.total_seconds()
        if seconds:
            side = "after" if seconds > 0 else "before"
            name = f"{describe_seconds(abs(seconds))} {side} {name}"
        else:
            name = f"at {name}"
        where = f"{self.latitude:.4f}, {self.longitude:.4f}"
        text = f"Every day {name}, at {where} ({self.tz})"
        if self.event != "noon" and abs(self.latitude) > _POLAR_FROM.get(self.event, 48.0):
            text += f"; days without a {name.split()[-1]} (polar day or night) are skipped"
        return text

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "v": 1,
            "event": self.event,
            "latitude": self.latitude,
            "longitude": self.longitude,
            "offset": self.offset.total_seconds(),
            "tz": self.tz,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SolarTrigger:
        return cls(
            data["event"],
            float(data["latitude"]),
            float(data["longitude"]),
            timedelta(seconds=float(data.get("offset", 0))),
            data.get("tz", "UTC"),
        )


def read_solar(text: str, *, tz: str, location: tuple[float, float] | None) -> SolarTrigger:
    """``sunset``, ``sunset+20m``, ``sunrise - 1 hour``, ``30 minutes before dusk``...

    ``noon`` alone is clock noon (see ``natural.py``); the sun's noon is ``solar noon``.
    """
    for pattern in _PHRASES:
        if match := pattern.match(text):
            break
    else:
        raise InvalidTrigger(
            f"cannot read solar schedule {text!r}; try 'sunset', 'sunrise-1h', "
            "'sunset + 20 minutes' or '30 minutes before dusk'"
        )
    offset = read_duration(match["d"]) if match["d"] else timedelta(0)
    if match.groupdict().get("sign") == "-" or match.groupdict().get("side") == "before":
        offset = -offset
    latitude, longitude = location or _default_location(text)
    event = match["event"].removeprefix("solar ")
    if match["edge"]:
        depth = match["depth"] if match["depth"] in ("nautical", "astronomical") else None
        event = f"{depth}_{match['edge']}" if depth else match["edge"]
    return SolarTrigger(event, float(latitude), float(longitude), offset, tz)


def _default_location(text: str) -> tuple[float, float]:
    from gnomon.settings import solar_location

    try:
        location = solar_location()
    except ConfigError as exc:
        raise InvalidTrigger(str(exc)) from None
    if location is None:
        raise InvalidTrigger(
            f"{text!r} needs a location: pass latitude and longitude (--lat/--lon) or set "
            "GNOMON_LATITUDE and GNOMON_LONGITUDE"
        )
    return location
