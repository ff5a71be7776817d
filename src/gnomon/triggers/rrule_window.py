"""Keeping RRULE expansion bounded.

dateutil expands a rule period by period from DTSTART: finding the next occurrence of
``FREQ=SECONDLY`` from a DTSTART in 1970 walked 1.7 billion seconds (at every fire, too, as
the scheduler moves on), ``INTERVAL=0`` never ends, and a rule whose filters match no day
is walked to the year 9999 — for a sub-daily rule that takes hours. Here:

- :func:`check_rule_line` (when a rule is read) refuses what cannot be bounded: INTERVAL
  outside 1-10000, COUNT above 10000, a rule part given twice, sub-daily rules (SECONDLY,
  MINUTELY, HOURLY) with day filters that may never match (BYMONTHDAY, BYYEARDAY, BYWEEKNO,
  BYSETPOS, BYEASTER, BYDAY with an ordinal), BYMONTHDAY or BYYEARDAY days that none of the
  BYMONTH months has, and more than 1440 times of day per day.
- :func:`without_count` turns ``COUNT=n`` into ``UNTIL=`` its n-th occurrence, so every rule
  can be restarted near the instant asked about.
- :func:`window` gives, for one ``next_after``, each rule restarted a whole number of its
  periods before the instant: the occurrences after it are unchanged, and the walk is short.

Left as dateutil does it: a DAILY-or-coarser rule whose other filters (BYSETPOS, BYYEARDAY,
BYWEEKNO, ordinal BYDAY) match no day is walked to the year 9999 — a few seconds, once,
when it is read; it is then refused as having no occurrence.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, timedelta
from itertools import islice
from typing import Any

from gnomon.errors import InvalidTrigger

MAX_INTERVAL = 10_000
MAX_COUNT = 10_000
MAX_TIMES_PER_DAY = 1440
_SUB_DAILY = frozenset({"SECONDLY", "MINUTELY", "HOURLY"})
_DAY_FILTERS = ("BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYSETPOS", "BYEASTER")
_FIXED_STEP = {  # dateutil's frequency constants: WEEKLY=2 … SECONDLY=6
    2: timedelta(weeks=1),
    3: timedelta(days=1),
    4: timedelta(hours=1),
    5: timedelta(minutes=1),
    6: timedelta(seconds=1),
}
_YEARLY, _MONTHLY = 0, 1
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _params(line: str) -> dict[str, str]:
    value = line.partition(":")[2]
    return dict(p.split("=", 1) for p in value.upper().split(";") if "=" in p)


def check_rule_line(line: str) -> None:
    """Refuse an RRULE or EXRULE line whose expansion could not be bounded."""
    params, name = _params(line), line.partition(":")[0]
    keys = [p.split("=", 1)[0] for p in line.partition(":")[2].upper().split(";") if p]
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    if repeated:  # RFC 5545: each rule part at most once (dateutil would take the last)
        raise InvalidTrigger(f"RRULE: {name} gives {', '.join(repeated)} more than once")
    if "COUNT" in params and "UNTIL" in params:  # RFC 5545: MUST NOT occur in the same rule
        raise InvalidTrigger(f"RRULE: {name} gives both COUNT and UNTIL; keep one of them")
    for key, most in (("INTERVAL", MAX_INTERVAL), ("COUNT", MAX_COUNT)):
        if key in params and not (params[key].isdigit() and 1 <= int(params[key]) <= most):
            raise InvalidTrigger(f"RRULE: {name} {key}={params[key]} must be 1 to {most}")
    if params.get("FREQ") in _SUB_DAILY:
        used = [key for key in _DAY_FILTERS if key in params]
        if used or re.search(r"\d", params.get("BYDAY", "")):
            raise InvalidTrigger(
                f"RRULE: FREQ={params['FREQ']} cannot be combined with "
                f"{', '.join(used) or 'an ordinal BYDAY'} (it might never match); use "
                "FREQ=DAILY or coarser with BYHOUR/BYMINUTE"
            )
        return
    sizes = [len(params[k].split(",")) for k in ("BYHOUR", "BYMINUTE", "BYSECOND") if k in params]
    if math.prod(sizes) > MAX_TIMES_PER_DAY:
        raise InvalidTrigger(
            f"RRULE: more than {MAX_TIMES_PER_DAY} times a day; use FREQ=MINUTELY or SECONDLY"
        )
    _check_month_days(params)


def _check_month_days(params: dict[str, str]) -> None:
    """Refuse BYMONTHDAY or BYYEARDAY days that none of the BYMONTH months has (``30`` in
    February, day 366 in February)."""
    if "BYMONTH" not in params:
        return
    try:
        months = [int(m) for m in params["BYMONTH"].split(",")]
        days = [int(d) for d in params.get("BYMONTHDAY", "1").split(",")]
        yeardays = [int(d) for d in params.get("BYYEARDAY", "1").split(",")]
    except ValueError:
        return  # dateutil says what is wrong
    if "BYYEARDAY" in params and not set(months) & _months_of(yeardays):
        raise InvalidTrigger(
            f"RRULE: BYYEARDAY={params['BYYEARDAY']} never falls in "
            f"BYMONTH={params['BYMONTH']}; the rule would never fire"
        )
    longest = max((_MONTH_DAYS[m - 1] for m in months if 1 <= m <= 12), default=31)
    if all(abs(day) > longest for day in days):
        raise InvalidTrigger(
            f"RRULE: BYMONTHDAY={params['BYMONTHDAY']} never occurs in "
            f"BYMONTH={params['BYMONTH']}; the rule would never fire"
        )


def _months_of(yeardays: list[int]) -> set[int]:
    """The months the days of the year ``yeardays`` fall in, in a leap year or another."""
    found = set()
    for year, length in ((2023, 365), (2024, 366)):
        for day in yeardays:
            if 1 <= abs(day) <= length:
                number = day if day > 0 else length + day + 1
                found.add((date(year, 1, 1) + timedelta(days=number - 1)).month)
    return found


def without_count(line: str, dtstart: datetime) -> str:
    """``line`` with ``COUNT=n`` replaced by ``UNTIL=`` its n-th occurrence (same fires)."""
    params = _params(line)
    if "COUNT" not in params:
        return line
    from dateutil.rrule import rrulestr

    try:
        rule: Any = rrulestr(line.partition(":")[2], dtstart=dtstart)
    except (ValueError, TypeError) as exc:  # e.g. no FREQ: what RRuleTrigger says too
        raise InvalidTrigger(f"RRULE: {exc}") from None
    found = list(islice(rule, int(params["COUNT"])))
    last = found[-1] if found else dtstart - timedelta(seconds=1)  # no occurrence at all
    kept = [p for p in line.partition(":")[2].split(";") if not p.upper().startswith("COUNT=")]
    return f"{line.partition(':')[0]}:{';'.join([*kept, f'UNTIL={last:%Y%m%dT%H%M%S}'])}"


def window(rules: Any, start: datetime) -> Any:
    """The rule set ``rules`` for occurrences after ``start``, found in bounded work."""
    from dateutil.rrule import rruleset

    bounded = rruleset()
    for rule in rules._rrule:
        bounded.rrule(_near(rule, start))
    for rule in rules._exrule:
        bounded.exrule(_near(rule, start))
    for moment in rules._rdate:
        bounded.rdate(moment)
    for moment in rules._exdate:
        bounded.exdate(moment)
    return bounded


def _near(rule: Any, start: datetime) -> Any:
    """``rule`` restarted a whole number of its periods before ``start``."""
    if rule._count is not None:  # a rule stored before COUNT became UNTIL: as it was
        return rule
    changes = _restart(rule, start)
    return rule.replace(**changes) if changes else rule


def _restart(rule: Any, start: datetime) -> dict[str, Any]:
    """A later DTSTART (and the defaults dateutil took from the old one), or nothing.

    The new DTSTART is a whole number of periods after the old one and at least one period
    before ``start``: the periods after ``start`` are the same, and so are their occurrences.
    """
    dtstart, interval, freq = rule._dtstart, rule._interval, rule._freq
    if freq in _FIXED_STEP:
        step = interval * _FIXED_STEP[freq]
        periods = (start - dtstart) // step - 1
        return {"dtstart": dtstart + periods * step} if periods > 0 else {}
    years = interval if freq == _YEARLY else math.lcm(interval, 12) // 12
    periods = (start.year - dtstart.year) // years - 1
    if periods <= 0 or (dtstart.month, dtstart.day) == (2, 29):
        return {}
    changes: dict[str, Any] = {"dtstart": dtstart.replace(year=dtstart.year + periods * years)}
    original = rule._original_rule
    if original.get("bymonthday", ()) is None:  # taken from DTSTART: keep the old one's
        changes["bymonthday"] = dtstart.day
    if freq == _YEARLY and original.get("bymonth", ()) is None:
        changes["bymonth"] = dtstart.month
    return changes
