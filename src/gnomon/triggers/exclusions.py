"""Calendar exclusions: another trigger, minus public holidays or listed dates.

``every weekday at 9:00 except holidays in DE-BY`` or ``... except 2026-12-24,2026-12-31``.
Dates are local dates in the schedule's zone. Holidays come from the ``holidays`` package
(country code, optionally ``-`` and a subdivision), imported only when a schedule uses them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, ClassVar

from gnomon.errors import InvalidTrigger
from gnomon.instants import require_aware
from gnomon.triggers.base import Trigger, register, trigger_from_json
from gnomon.triggers.wallclock import instants_for
from gnomon.triggers.zones import zone

MAX_SKIPPED_DAYS = 3660
"""Excluded days in a row after which ``next_after`` gives up (returns ``None``)."""
_HOLIDAYS = re.compile(r"^(?:public )?holidays (?:in|of|for) (?P<code>[a-z]{2,3}(?:-\w{1,4})?)$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MICRO = timedelta(microseconds=1)


@register
@dataclass(frozen=True, slots=True)
class ExceptTrigger:
    """Fires when ``inner`` fires, except on excluded local dates of ``tz``."""

    kind: ClassVar[str] = "except"
    inner: Trigger
    holidays: tuple[str, ...] = ()
    dates: tuple[date, ...] = ()
    tz: str = "UTC"

    def __post_init__(self) -> None:
        zone(self.tz)
        for code in self.holidays:
            holiday_calendar(code)
        if not self.holidays and not self.dates:
            raise InvalidTrigger("'except' needs holidays (e.g. 'holidays in DE-BY') or dates")

    def excluded(self, day: date) -> bool:
        """Whether local date ``day`` is excluded."""
        return day in self.dates or any(day in holiday_calendar(c) for c in self.holidays)

    def next_after(self, instant: datetime) -> datetime | None:
        local = zone(self.tz)
        at = self.inner.next_after(require_aware(instant, "instant"))
        for _ in range(MAX_SKIPPED_DAYS):
            if at is None:
                return None
            day = at.astimezone(local).date()
            if not self.excluded(day):
                return at
            # Skip the whole excluded day at once: a per-second job must not loop 86,400 times.
            midnight = datetime.combine(day + timedelta(days=1), time())
            next_day = instants_for(midnight, local, fixed=True)[0]
            at = self.inner.next_after(max(at, next_day - _MICRO))
        return None

    def describe(self) -> str:
        parts = [f"public holidays in {code.upper()}" for code in self.holidays]
        if self.dates:
            parts.append("on " + ", ".join(d.isoformat() for d in sorted(self.dates)))
        return f"{self.inner.describe()}, except " + " and ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "v": 1,
            "inner": self.inner.to_json(),
            "holidays": list(self.holidays),
            "dates": [d.isoformat() for d in self.dates],
            "tz": self.tz,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ExceptTrigger:
        return cls(
            trigger_from_json(data["inner"]),
            tuple(data.get("holidays", ())),
            tuple(date.fromisoformat(d) for d in data.get("dates", ())),
            data.get("tz", "UTC"),
        )


@lru_cache(maxsize=64)
def holiday_calendar(code: str) -> Any:
    """The ``holidays`` calendar for ``DE`` or ``DE-BY``; ``InvalidTrigger`` if unknown."""
    import holidays

    country, _, subdiv = code.upper().partition("-")
    try:
        return holidays.country_holidays(country, subdiv=subdiv or None)
    except NotImplementedError as exc:
        raise InvalidTrigger(f"unknown holiday calendar {code!r}: {exc}") from None


def read_exclusions(inner: Trigger, text: str, *, tz: str) -> ExceptTrigger:
    """The clauses after ``except``: ``holidays in DE-BY``, dates, joined by ``and``."""
    holidays: list[str] = []
    dates: list[date] = []
    for clause in re.split(r"\s+and\s+", " ".join(text.lower().split())):
        if match := _HOLIDAYS.match(clause):
            holidays.append(match["code"].upper())
            continue
        for item in filter(None, re.split(r"[,\s]+", clause.removeprefix("on "))):
            if not _DATE.match(item):
                raise InvalidTrigger(
                    f"cannot read exclusion {item!r}; write 'holidays in DE-BY' or dates "
                    "like 2026-12-24,2026-12-31"
                )
            try:
                dates.append(date.fromisoformat(item))
            except ValueError:
                raise InvalidTrigger(f"{item!r} is not a date") from None
    return ExceptTrigger(inner, tuple(holidays), tuple(sorted(set(dates))), tz)
