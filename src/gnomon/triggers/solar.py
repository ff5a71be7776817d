"""Solar triggers: dawn, sunrise, solar noon, sunset, dusk, with an offset, at a place.

Events are computed per *local date* in the schedule's zone with astral's per-event
functions (``sun()`` fails if any one event is missing). astral sometimes answers for a
neighbouring date (solar noon in Pacific/Kiritimati is dated the next day), so the event
of date ``d`` is the answer, among the queries for ``d``, ``d - 1`` and ``d + 1``, that falls
on ``d``. Polar day or night means "no event that day": the day is skipped, never an
exception; after ``SEARCH_DAYS`` days without an event, ``next_after`` returns ``None``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, ClassVar

from gnomon.errors import ConfigError, InvalidTrigger
from gnomon.instants import require_aware
from gnomon.triggers.base import register
from gnomon.triggers.interval import describe_seconds
from gnomon.triggers.lexicon import read_duration
from gnomon.triggers.zones import zone

SEARCH_DAYS = 400
EVENTS = ("dawn", "sunrise", "noon", "sunset", "dusk")
_NEIGHBOURS = (timedelta(0), timedelta(days=-1), timedelta(days=1))
_EVENT = r"(?P<event>sunrise|sunset|dawn|dusk|solar noon)"
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
        first = (instant - self.offset).astimezone(zone(self.tz)).date() - timedelta(days=1)
        for day in range(SEARCH_DAYS):
            event = self.event_on(first + timedelta(days=day))
            if event is not None and event + self.offset > instant:
                return event + self.offset
        return None

    def event_on(self, day: date) -> datetime | None:
        """The event on local date ``day`` (UTC, whole seconds), or ``None`` if it has none."""
        from astral import Observer

        observer = Observer(self.latitude, self.longitude)
        local = zone(self.tz)
        for shift in _NEIGHBOURS:
            try:
                at = _ASTRAL[self.event](observer, day + shift, local)
            except (ValueError, ArithmeticError):  # polar day or night: astral's only signal
                continue
            if at.astimezone(local).date() == day:
                return require_aware(at).replace(microsecond=0)
        return None

    def describe(self) -> str:
        name = "solar noon" if self.event == "noon" else self.event
        seconds = self.offset.total_seconds()
        if seconds:
            side = "after" if seconds > 0 else "before"
            name = f"{describe_seconds(abs(seconds))} {side} {name}"
        else:
            name = f"at {name}"
        where = f"{self.latitude:.4f}, {self.longitude:.4f}"
        return f"Every day {name}, at {where} ({self.tz})"

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


def _astral_events() -> dict[str, Any]:
    from astral import sun

    return {
        "dawn": lambda o, d, z: sun.dawn(o, d, tzinfo=z),
        "sunrise": lambda o, d, z: sun.sunrise(o, d, tzinfo=z),
        "noon": lambda o, d, z: sun.noon(o, d, tzinfo=z),
        "sunset": lambda o, d, z: sun.sunset(o, d, tzinfo=z),
        "dusk": lambda o, d, z: sun.dusk(o, d, tzinfo=z),
    }


class _LazyEvents(dict[str, Any]):
    """astral is imported on first use, so ``import gnomon.triggers.solar`` stays cheap."""

    def __missing__(self, key: str) -> Any:
        self.update(_astral_events())
        return self[key]


_ASTRAL = _LazyEvents()


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
