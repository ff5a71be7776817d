"""The words of the schedule language: weekdays, months, parts of the day, keywords.

The tokenizer is ``tokens.py``, the grammar ``grammar.py`` (its clauses in ``grammar_*.py``),
amounts ``amounts.py``.
"""

from __future__ import annotations

from gnomon.triggers.amounts import check_amount, read_duration

__all__ = ["KEYWORDS", "MONTHS", "PARTS_OF_DAY", "WEEKDAYS", "check_amount", "read_duration"]

WEEKDAYS = {
    "monday": 0,
    "mon": 0,
    "tuesday": 1,
    "tue": 1,
    "tues": 1,
    "wednesday": 2,
    "wed": 2,
    "thursday": 3,
    "thu": 3,
    "thur": 3,
    "thurs": 3,
    "friday": 4,
    "fri": 4,
    "saturday": 5,
    "sat": 5,
    "sunday": 6,
    "sun": 6,
}
"""Python's numbering: Monday = 0 (cron's Sunday = 0 is applied when writing cron)."""
MONTHS = {
    "january": 1,
    "jan": 1,
    "february": 2,
    "feb": 2,
    "march": 3,
    "mar": 3,
    "april": 4,
    "apr": 4,
    "may": 5,
    "june": 6,
    "jun": 6,
    "july": 7,
    "jul": 7,
    "august": 8,
    "aug": 8,
    "september": 9,
    "sep": 9,
    "sept": 9,
    "october": 10,
    "oct": 10,
    "november": 11,
    "nov": 11,
    "december": 12,
    "dec": 12,
}
PARTS_OF_DAY = {part: part for part in ("morning", "afternoon", "evening", "night")}
"""Words that decide a bare hour: ``at 9`` in the morning is 09:00, in the evening 21:00."""
_KEYWORDS = (
    "in at on every each and the of next this today tomorrow yesterday tonight noon midnight "
    "midday am pm weekday weekdays weekend weekends workday workdays daily nightly weekly "
    "monthly yearly annually hourly biweekly fortnightly first last day month year week "
    "except holidays sunrise sunset dawn dusk solar before after st nd rd th other between "
    "from to until through thru hour minute second once a an half quarter couple few coming "
    "since skipping months without"
)
KEYWORDS = frozenset(_KEYWORDS.split())
