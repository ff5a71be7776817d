"""Triggers: when jobs fire, and :func:`parse` for the forms people write.

Forms (details and DST rules in ``docs/time.md``): ISO 8601 one-shots, cron (5 or 6 fields,
``@daily``...), intervals (``every 15m``), RFC 5545 RRULEs, English phrases (``tomorrow at
2pm``, ``every weekday at 9:00``), solar events (``sunset+20m``) and exclusions
(``... except holidays in DE-BY``). Heavy libraries (holidays, dateutil's rrule,
cron-descriptor) are imported only by the forms that need them.
"""

from __future__ import annotations

import re
from datetime import datetime

from gnomon.errors import GnomonError, InvalidTrigger
from gnomon.instants import require_aware
from gnomon.limits import MAX_SPEC_CHARS, check_instant
from gnomon.triggers.at import AtTrigger
from gnomon.triggers.base import Trigger, register, trigger_from_json
from gnomon.triggers.cron import CronTrigger
from gnomon.triggers.interval import IntervalTrigger
from gnomon.triggers.wallclock import DstPolicy
from gnomon.triggers.zones import dst_policy, zone

__all__ = [
    "AtTrigger",
    "CronTrigger",
    "DstPolicy",
    "IntervalTrigger",
    "Trigger",
    "parse",
    "register",
    "trigger_from_json",
]

Location = tuple[float, float]
_CRON_START = re.compile(r"^[\d*?][\d*/,\-lw#?]*$")
_SOLAR = re.compile(r"\b(sunrise|sunset|dawn|dusk|solar noon)\b")
_EXCEPT = re.compile(r"(?:^|\s+)except\s+", re.IGNORECASE)
_EXAMPLES = (
    "'every 10m', 'in 30 minutes', 'tomorrow at 9am', 'every weekday at 9:00', '0 9 * * 1-5'"
)


def parse(
    spec: str,
    *,
    tz: str = "UTC",
    now: datetime | None = None,
    location: Location | None = None,
    dst: DstPolicy | str = DstPolicy.CRON,
) -> Trigger:
    """Read a schedule written by a person; raise ``InvalidTrigger`` (one line) if refused.

    ``tz`` is the schedule's IANA zone, ``now`` (aware; default: the current time) anchors
    relative phrases and refuses one-shots in the past, ``location`` is ``(latitude,
    longitude)`` for solar events (default: ``GNOMON_LATITUDE``/``GNOMON_LONGITUDE``), and
    ``dst`` selects the DST policy of wall-clock schedules.
    """
    if not isinstance(spec, str) or not isinstance(tz, str):
        raise InvalidTrigger(f"a schedule and its zone are text, not {type(spec).__name__}")
    if len(spec) > MAX_SPEC_CHARS:
        raise InvalidTrigger(
            f"schedule of {len(spec)} characters is too long (at most {MAX_SPEC_CHARS})"
        )
    zone(tz)
    policy = dst_policy(dst)
    if now is None:
        from gnomon.clock import SystemClock

        now = SystemClock().now()
    now = require_aware(now, "now")
    try:
        check_instant(now, "now")
        return _parse(spec, tz=tz, now=now, location=location, dst=policy)
    except GnomonError:
        raise
    except (ArithmeticError, ValueError) as exc:  # a date past what datetime can hold
        raise InvalidTrigger(f"cannot read schedule {spec!r}: {exc}") from None


def _parse(
    spec: str, *, tz: str, now: datetime, location: Location | None, dst: DstPolicy
) -> Trigger:
    base, *exclusions = _EXCEPT.split(spec.strip(), maxsplit=1)
    if not base.strip():
        raise InvalidTrigger(f"empty schedule; try {_EXAMPLES}")
    trigger = _read(base.strip(), tz=tz, now=now, location=location, dst=dst)
    if exclusions:
        from gnomon.triggers.exclusions import read_exclusions

        return read_exclusions(trigger, exclusions[0], tz=tz)
    return trigger


def _read(
    spec: str, *, tz: str, now: datetime, location: Location | None, dst: DstPolicy
) -> Trigger:
    text = " ".join(spec.lower().rstrip(".").split())
    if re.match(r"^\d{4}-\d{2}-\d{2}(?:[t ]\d|$)", text):
        from gnomon.triggers.iso import read_iso

        return read_iso(spec, tz=tz, now=now)
    if text.startswith(("rrule:", "dtstart", "freq=")):
        from gnomon.triggers.rrule import read_rrule

        return read_rrule(spec, tz=tz, now=now, dst=dst)
    words = text.split()
    cron_like = len(words) >= 5 and all(_CRON_START.match(w) for w in words[:2])
    if text.startswith("@") or (_CRON_START.match(words[0]) and ("*" in text or cron_like)):
        return CronTrigger(" ".join(spec.split()), tz, dst)
    if _SOLAR.search(text):
        from gnomon.triggers.solar import read_solar

        return read_solar(text, tz=tz, location=location)
    from gnomon.triggers.natural import read_phrase

    return read_phrase(text, tz=tz, now=now, dst=dst)
