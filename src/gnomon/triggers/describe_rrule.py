"""English for the RRULEs the phrase language writes (steps of weeks or days).

``Every 2 weeks on Monday at 09:00, from 2026-11-30`` names the anchor: the rule counts its
weeks from there. Rules of other shapes get ``None`` and keep the generic description.
"""

from __future__ import annotations

import calendar
import re

_SHAPE = re.compile(
    r"^DTSTART:(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})T000000\n"
    r"RRULE:FREQ=(?P<freq>WEEKLY|DAILY);INTERVAL=(?P<n>\d+)(?:;WKST=MO;BYDAY=(?P<days>[A-Z,]+))?"
    r";BYHOUR=(?P<hours>[\d,]+);BYMINUTE=(?P<minute>\d+);BYSECOND=0$"
)
_NAMES = dict(zip(("MO", "TU", "WE", "TH", "FR", "SA", "SU"), calendar.day_name, strict=True))


def describe_steps(rule: str) -> str | None:
    """``Every 2 weeks on Monday and Thursday at 09:00, from 2026-11-30``, or ``None``."""
    match = _SHAPE.match(rule)
    if match is None:
        return None
    unit = "weeks" if match["freq"] == "WEEKLY" else "days"
    text = f"Every {match['n']} {unit}"
    if match["days"]:
        text += " on " + _joined([_NAMES[d] for d in match["days"].split(",")])
    minute = int(match["minute"])
    times = _joined([f"{int(h):02d}:{minute:02d}" for h in match["hours"].split(",")])
    return f"{text} at {times}, from {match['y']}-{match['m']}-{match['d']}"


def _joined(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"
