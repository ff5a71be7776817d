"""Cron trigger: cronsim finds wall-clock matches, ``wallclock`` maps them to instants.

cronsim is asked only for *naive* wall times, never for DST handling: its own fix-up skips
6-field expressions and can answer before ``start`` inside a fold. The rules are in
:mod:`gnomon.triggers.wallclock`. ``nW`` (which cronsim lacks) is expanded month by month
into plain day lists here: about 20 lines, no second cron engine (croniter would cost 4-8x
per fire and fires fixed jobs twice in folds).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar

from cronsim import CronSim, CronSimError

from gnomon.errors import InvalidTrigger
from gnomon.instants import require_aware
from gnomon.triggers.base import register
from gnomon.triggers.cron_syntax import CronSpec, month_set, read_cron
from gnomon.triggers.wallclock import DstPolicy, next_instant
from gnomon.triggers.zones import dst_policy, zone

_SEARCH_MONTHS = 50 * 12  # cronsim gives up after 50 years too
_NAIVE_2000 = datetime.fromisoformat("2000-01-01T00:00")  # wall times are naive on purpose


@register
@dataclass(frozen=True, slots=True)
class CronTrigger:
    """Fires at the instants whose wall time in ``tz`` matches ``expr`` (see ``docs/time.md``).

    Construction checks the expression and raises ``InvalidTrigger`` naming the bad field.
    """

    kind: ClassVar[str] = "cron"
    expr: str
    tz: str = "UTC"
    dst: DstPolicy = DstPolicy.CRON
    _spec: CronSpec = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        spec = read_cron(self.expr)
        try:
            CronSim(_plain(spec) if spec.nearest_weekdays else spec.text, _NAIVE_2000)
        except CronSimError as exc:  # our checks should have caught it; say what cronsim said
            raise InvalidTrigger(f"cron {self.expr!r}: {exc}") from None
        zone(self.tz)
        object.__setattr__(self, "dst", dst_policy(self.dst))
        object.__setattr__(self, "_spec", spec)

    @property
    def fixed_time(self) -> bool:
        """Whether DST folds and gaps use the fixed-time rule for this trigger."""
        return self.dst is DstPolicy.CRON and self._spec.fixed_time

    def next_after(self, instant: datetime) -> datetime | None:
        instant = require_aware(instant, "instant")
        return next_instant(instant, zone(self.tz), self.wall_times, fixed=self.fixed_time)

    def wall_times(self, start: datetime) -> Iterator[datetime]:
        """Naive wall times matching the expression, strictly after naive ``start``."""
        if self._spec.nearest_weekdays:
            return _nearest_weekday_times(self._spec, start)
        return iter(CronSim(self._spec.text, start))

    def describe(self) -> str:
        from gnomon.triggers.describe_cron import describe_cron

        text = describe_cron(self.expr)
        if self.tz != "UTC":
            text += f" ({self.tz})"
        if self.dst is DstPolicy.LITERAL:
            text += ", DST literal"
        return text

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "v": 1, "expr": self.expr, "tz": self.tz, "dst": self.dst.value}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CronTrigger:
        return cls(data["expr"], data.get("tz", "UTC"), dst_policy(data.get("dst", "cron")))


def nearest_weekday(year: int, month: int, day: int) -> int | None:
    """The Monday-Friday day closest to ``day`` without leaving the month (Quartz ``W``).

    ``None`` when the month has no day ``day`` (``31W`` in April does not fire).
    """
    first_weekday, length = calendar.monthrange(year, month)
    if day > length:
        return None
    weekday = (first_weekday + day - 1) % 7  # Monday = 0
    if weekday == 5:  # Saturday: Friday before, or Monday after on the 1st
        return day - 1 if day > 1 else day + 2
    if weekday == 6:  # Sunday: Monday after, or Friday before on the last day
        return day + 1 if day < length else day - 2
    return day


def _plain(spec: CronSpec, days: str = "*") -> str:
    """The expression with its ``nW`` day field replaced by ``days``."""
    return " ".join((*spec.fields[:3], days, *spec.fields[4:]))


def _nearest_weekday_times(spec: CronSpec, start: datetime) -> Iterator[datetime]:
    months = month_set(spec.fields[4])
    year, month, cursor = start.year, start.month, start
    for _ in range(_SEARCH_MONTHS):
        if month in months:
            days = {nearest_weekday(year, month, n) for n in spec.nearest_weekdays} - {None}
            if days:
                day_list = ",".join(str(d) for d in sorted(d for d in days if d is not None))
                for wall in CronSim(_plain(spec, day_list), cursor):
                    if (wall.year, wall.month) != (year, month):
                        break
                    yield wall
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        cursor = _NAIVE_2000.replace(year=year, month=month) - timedelta(seconds=1)
