"""RFC 5545 recurrence rules: dateutil expands wall times, ``wallclock`` maps them.

dateutil iterates wall-clock time; left to itself it yields non-existent times and duplicate
or backward UTC instants around DST (research/libraries.md §3). So the rule is expanded with
a *naive* DTSTART in the rule's zone and each wall time goes through
:func:`~gnomon.triggers.wallclock.instants_for`: daily-or-coarser rules use the fixed-time
column (gap end, first pass of a fold), hourly-or-finer rules the wildcard one, unless the
schedule asks for the literal policy.

Accepted lines (one per line or separated by spaces): ``DTSTART`` (with ``TZID=``, a ``Z``,
or local), ``RRULE``, ``EXRULE``, ``RDATE``, ``EXDATE``. A ``TZID`` on DTSTART sets the zone;
``Z`` means UTC; without DTSTART the rule starts at ``now`` (to the second) in ``tz``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

from gnomon.errors import InvalidTrigger
from gnomon.instants import require_aware
from gnomon.limits import EARLIEST, LATEST, RANGE
from gnomon.triggers.base import register
from gnomon.triggers.rrule_window import check_rule_line, window, without_count
from gnomon.triggers.wallclock import DstPolicy, next_instant
from gnomon.triggers.zones import dst_policy, zone

_STAMP = re.compile(r"^(\d{8}T\d{6})(Z?)$")
_UTC_STAMP = re.compile(r"(\d{8}T\d{6})Z")
_COARSE = re.compile(r"FREQ=(YEARLY|MONTHLY|WEEKLY|DAILY)\b")
_LINES = ("RRULE", "EXRULE", "RDATE", "EXDATE")


@register
@dataclass(frozen=True, slots=True)
class RRuleTrigger:
    """Fires at the instants of an RFC 5545 rule set whose wall times are read in ``tz``.

    ``rule`` is the normalised text: a naive ``DTSTART`` line, then the rule lines.
    """

    kind: ClassVar[str] = "rrule"
    rule: str
    tz: str = "UTC"
    dst: DstPolicy = DstPolicy.CRON
    _set: Any = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        from dateutil.rrule import rrulestr

        zone(self.tz)
        object.__setattr__(self, "dst", dst_policy(self.dst))
        start, _, body = self.rule.partition("\n")
        dtstart = wall_stamp(start.removeprefix("DTSTART:"))
        try:
            rules = rrulestr(body, dtstart=dtstart, forceset=True)
        except (ValueError, TypeError) as exc:
            raise InvalidTrigger(f"RRULE: {exc}") from None
        object.__setattr__(self, "_set", rules)

    @property
    def fixed_time(self) -> bool:
        """Daily-or-coarser rules follow the fixed-time DST rule (policy ``cron`` only)."""
        rules = [line for line in self.rule.splitlines() if line.startswith("RRULE")]
        coarse = all(_COARSE.search(line) for line in rules)
        return self.dst is DstPolicy.CRON and coarse

    def next_after(self, instant: datetime) -> datetime | None:
        instant = require_aware(instant, "instant")
        return next_instant(instant, zone(self.tz), self._wall_times, fixed=self.fixed_time)

    def _wall_times(self, start: datetime) -> Iterator[datetime]:
        wall_times: Iterator[datetime] = window(self._set, start).xafter(start, inc=False)
        return wall_times

    def describe(self) -> str:
        from gnomon.triggers.describe_rrule import describe_steps

        plain = describe_steps(self.rule)
        if plain is not None:
            return plain + ("" if self.tz == "UTC" else f" ({self.tz})")
        lines = self.rule.splitlines()
        rules = "; ".join(line.removeprefix("RRULE:") for line in lines[1:])
        start = wall_stamp(lines[0].removeprefix("DTSTART:"))
        return f"Recurring {rules}, from {start:%Y-%m-%d %H:%M:%S} ({self.tz})"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "v": 1, "rule": self.rule, "tz": self.tz, "dst": self.dst.value}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RRuleTrigger:
        return cls(data["rule"], data.get("tz", "UTC"), dst_policy(data.get("dst", "cron")))


def wall_stamp(text: str) -> datetime:
    """A naive wall time from ``YYYYMMDDTHHMMSS`` (naive on purpose: read in the rule's zone)."""
    return datetime.strptime(text, "%Y%m%dT%H%M%S")  # noqa: DTZ007


def read_rrule(spec: str, *, tz: str, now: datetime, dst: DstPolicy) -> RRuleTrigger:
    """An :class:`RRuleTrigger` from iCalendar text; refused if it has no fire after ``now``."""
    lines = spec.split()
    if lines and lines[0].upper().startswith("FREQ="):
        lines[0] = "RRULE:" + lines[0]
    starts = [line for line in lines if line.upper().startswith("DTSTART")]
    if len(starts) > 1:
        raise InvalidTrigger("RRULE: more than one DTSTART line")
    if starts:
        dtstart, tz = _dtstart(starts[0], tz)
    else:
        dtstart = now.astimezone(zone(tz)).replace(tzinfo=None, microsecond=0)
    if not EARLIEST.year <= dtstart.year < LATEST.year:
        raise InvalidTrigger(f"RRULE: DTSTART {dtstart:%Y-%m-%d} is out of range: use {RANGE}")
    body = [_bounded_line(_local_line(line, tz), dtstart) for line in lines if line not in starts]
    if not any(line.startswith("RRULE:") for line in body):
        raise InvalidTrigger(f"RRULE: no RRULE line in {spec.strip()!r}")
    text = "\n".join([f"DTSTART:{dtstart:%Y%m%dT%H%M%S}", *body])
    trigger = RRuleTrigger(text, tz, dst)
    if trigger.next_after(now) is None:
        raise InvalidTrigger(f"RRULE {spec.strip()!r} has no occurrence after now")
    return trigger


def _bounded_line(line: str, dtstart: datetime) -> str:
    if not line.startswith(("RRULE:", "EXRULE:")):
        return line
    check_rule_line(line)
    return without_count(line, dtstart)


def _dtstart(line: str, tz: str) -> tuple[datetime, str]:
    """(naive wall time, zone name) from ``DTSTART[;TZID=Zone]:YYYYMMDDTHHMMSS[Z]``."""
    head, _, value = line.partition(":")
    params = dict(p.split("=", 1) for p in head.split(";")[1:] if "=" in p)
    stamp = _STAMP.match(value)
    if not stamp:
        raise InvalidTrigger(f"RRULE: DTSTART {value!r} is not YYYYMMDDTHHMMSS[Z]")
    wall = wall_stamp(stamp[1])
    if stamp[2]:
        return wall, "UTC"
    if "TZID" in params:
        zone(params["TZID"])
        return wall, params["TZID"]
    return wall, tz


def _local_line(line: str, tz: str) -> str:
    """A rule line with UTC stamps (``...Z``) and ``TZID`` turned into wall times of ``tz``."""
    name = re.split(r"[;:]", line, maxsplit=1)[0].upper()
    if name not in _LINES:
        raise InvalidTrigger(f"RRULE: unknown line {name!r}; use DTSTART, {', '.join(_LINES)}")
    head, _, value = line.partition(":")
    if ";TZID=" in head.upper():
        given = head.split("=", 1)[1]
        if given != tz:
            raise InvalidTrigger(f"RRULE: {name} is in {given}, the rule in {tz}")
        head = head.split(";", 1)[0]
    local = zone(tz)

    def to_wall(match: re.Match[str]) -> str:
        moment = datetime.strptime(match[1], "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
        return f"{moment.astimezone(local):%Y%m%dT%H%M%S}"

    return f"{head.upper()}:{_UTC_STAMP.sub(to_wall, value.upper())}"
