"""The words of the schedule language: times of day, durations, weekdays, months.

Every reader here either returns a value or raises ``InvalidTrigger`` saying which word is
wrong. Nothing is guessed: ``at 9`` is refused (9 am or 9 pm?), as is ``25:00``.
"""

from __future__ import annotations

import re
from datetime import timedelta

from gnomon.errors import InvalidTrigger
from gnomon.limits import MAX_AMOUNT

WEEKDAYS = {
    "monday": 0, "mon": 0, "tuesday": 1, "tue": 1, "tues": 1, "wednesday": 2, "wed": 2,
    "thursday": 3, "thu": 3, "thur": 3, "thurs": 3, "friday": 4, "fri": 4,
    "saturday": 5, "sat": 5, "sunday": 6, "sun": 6,
}  # fmt: skip
"""Python's numbering: Monday = 0 (cron's Sunday = 0 is applied when writing cron)."""
MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4,
    "apr": 4, "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8,
    "september": 9, "sep": 9, "sept": 9, "october": 10, "oct": 10, "november": 11,
    "nov": 11, "december": 12, "dec": 12,
}  # fmt: skip
UNITS = {
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
    "w": 604800, "week": 604800, "weeks": 604800,
}  # fmt: skip
_KEYWORDS = (
    "in at on every each and the of next this today tomorrow yesterday tonight noon midnight "
    "am pm weekday weekdays weekend weekends daily first last day month except holidays "
    "sunrise sunset dawn dusk solar before after st nd rd th"
)
KEYWORDS = frozenset(_KEYWORDS.split())
TIME = r"(?:noon|midnight|\d{1,2}(?::\d{2})?\s*(?:am|pm)?)"
"""A time of day as a regex fragment; :func:`read_time` reads a match."""

_TIME = re.compile(r"^(?P<h>\d{1,2})(?::(?P<m>\d{2}))?\s*(?P<half>am|pm)?$")
_AMOUNT = re.compile(r"(?P<n>\d+(?:\.\d+)?|an?|one)\s*(?P<unit>[a-z]+)")
_ORDINAL = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?$")


def read_time(text: str) -> tuple[int, int]:
    """``9am`` → (9, 0), ``18:30`` → (18, 30), ``noon`` → (12, 0); refuses bare hours."""
    text = text.strip()
    if text in ("noon", "midday"):
        return 12, 0
    if text == "midnight":
        return 0, 0
    match = _TIME.match(text)
    if not match:
        raise InvalidTrigger(f"{text!r} is not a time of day; write e.g. 9am, 9:30pm or 18:00")
    hour, minute, half = int(match["h"]), int(match["m"] or 0), match["half"]
    if half:
        if not 1 <= hour <= 12:
            raise InvalidTrigger(f"{text!r}: with am/pm the hour must be 1 to 12")
        hour = hour % 12 + (12 if half == "pm" else 0)
    elif match["m"] is None:
        raise InvalidTrigger(f"{text!r} is ambiguous: write {hour}am, {hour}pm or {hour:02d}:00")
    if hour > 23 or minute > 59:
        raise InvalidTrigger(f"{text!r} is not a time of day (hours 0-23, minutes 0-59)")
    return hour, minute


def read_duration(text: str) -> timedelta:
    """``30 minutes``, ``1h 30m``, ``an hour``, ``90 seconds`` → a positive timedelta.

    At most :data:`~gnomon.limits.MAX_AMOUNT` (100 years): more cannot be added to a date.
    """
    rest = text.replace(",", " ").replace(" and ", " ").strip()
    total, pos = 0.0, 0
    while pos < len(rest):
        if rest[pos] == " ":
            pos += 1
            continue
        match = _AMOUNT.match(rest, pos)
        if not match or match["unit"] not in UNITS:
            word = (match["unit"] if match else rest[pos:].split()[0]) or rest[pos:]
            raise InvalidTrigger(
                f"{text!r}: unknown unit {word!r}; use seconds, minutes, hours, days or weeks"
            )
        amount = 1.0 if match["n"] in ("a", "an", "one") else float(match["n"])
        total += amount * UNITS[match["unit"]]
        pos = match.end()
    if total <= 0:
        raise InvalidTrigger(f"{text!r}: the amount must be more than zero")
    return check_amount(total, text)


def check_amount(seconds: float, what: str) -> timedelta:
    """``seconds`` as a timedelta, refused (``InvalidTrigger``) beyond ``MAX_AMOUNT``."""
    limit = MAX_AMOUNT.total_seconds()
    if not seconds <= limit:  # also refuses inf and nan
        raise InvalidTrigger(
            f"{what!r} is too long: an interval or delay is at most {limit / 86400:g} days "
            "(100 years)"
        )
    return timedelta(seconds=seconds)


def read_day_of_month(text: str) -> int:
    """``24``, ``24th``, ``1st`` → the number, checked to be 1-31."""
    match = _ORDINAL.match(text)
    if not match or not 1 <= int(match[1]) <= 31:
        raise InvalidTrigger(f"{text!r} is not a day of the month (1 to 31)")
    return int(match[1])


def unknown_word(text: str) -> str | None:
    """The first word the language does not know, with a close known word if there is one."""
    import difflib

    negative = re.search(r"(?:^|\s)(-\d+(?:\.\d+)?)", text)
    if negative:
        return f"{negative.group(1)} is negative: an interval or delay must be more than zero"
    known = KEYWORDS | WEEKDAYS.keys() | MONTHS.keys() | UNITS.keys()
    for word in re.findall(r"[a-z]+", text):
        if word in known or (len(word) <= 2 and word in ("a", "an")):
            continue
        close = difflib.get_close_matches(word, sorted(known), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"unknown word {word!r}{hint}"
    return None
