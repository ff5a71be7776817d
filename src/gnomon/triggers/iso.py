"""ISO 8601 one-shots: ``2026-12-24T18:00+01:00``, ``...Z``, or a local time in the zone."""

from __future__ import annotations

from datetime import datetime

from gnomon.errors import GnomonError, InvalidTrigger
from gnomon.instants import iso
from gnomon.limits import RANGE, check_instant
from gnomon.triggers.at import AtTrigger
from gnomon.triggers.wallclock import instants_for
from gnomon.triggers.zones import zone


def read_iso(spec: str, *, tz: str, now: datetime) -> AtTrigger:
    """A one-shot at an ISO date-time; refused if it has no time or is not after ``now``, or
    out of :data:`~gnomon.limits.RANGE`.

    A local time (no offset) is read in ``tz`` with the fixed-time DST rule: in a gap it
    means the end of the gap, when it occurs twice it means the first occurrence.
    """
    text = spec.strip()
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidTrigger(
            f"{text!r} is not a valid ISO 8601 date-time (e.g. 2026-12-24T18:00+01:00)"
        ) from None
    if len(text) <= 10:
        raise InvalidTrigger(f"{text!r} has no time of day; write e.g. {text}T09:00")
    try:
        if value.tzinfo is None:
            value = instants_for(value, zone(tz), fixed=True)[0]
        value = check_instant(value, "one-shot time")
    except GnomonError:
        raise
    except (OverflowError, ValueError):  # e.g. year 9999 in a zone west of UTC
        raise InvalidTrigger(f"{text!r} is out of range: give a time {RANGE}") from None
    if value <= now:
        raise InvalidTrigger(f"{text!r} is in the past (now is {iso(now)})")
    return AtTrigger(value, tz)
