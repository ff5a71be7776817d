"""Reading cron expressions: macros, field checks with messages people can act on.

cronsim does the matching but reports every mistake as "Bad <field>". This module checks
each field first, so a refusal names the field, its position and the value
(``cron field 2 (hour): 25 is out of range 0-23``), and it adds what cronsim lacks:
``@macros`` and the ``nW`` (nearest weekday) day-of-month items.

Accepted per field: ``*``, numbers, names (``jan``-``dec``, ``sun``-``sat``, any case), ranges
``a-b``, steps ``*/n`` ``a/n`` ``a-b/n``, lists ``a,b``. Day of month also: ``L`` (last day),
``LW`` (last weekday), ``nW`` (weekday nearest day n, within the month; only with ``*`` as day
of week). Day of week also: ``7`` (Sunday), ``nL`` (last weekday n of the month), ``n#k``
(k-th weekday n).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass

from gnomon.errors import InvalidTrigger

MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_NAMES = ("second", "minute", "hour", "day-of-month", "month", "day-of-week")
_RANGES = ((0, 59), (0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_abbr) if name}
_DAYS = {"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}
_DOM, _MONTH, _DOW = 3, 4, 5
_LONGEST = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_NEAREST_WEEKDAY = re.compile(r"^(\d{1,2})w$")


@dataclass(frozen=True, slots=True)
class CronSpec:
    """A checked cron expression, always as six fields (seconds first), lower case."""

    fields: tuple[str, ...]
    nearest_weekdays: tuple[int, ...]
    """Days n of ``nW`` items; when not empty, ``fields[3]`` is ``*`` and the engine filters."""

    @property
    def fixed_time(self) -> bool:
        """True when neither minute nor hour starts with ``*`` (Vixie cron's DST rule)."""
        return not (self.fields[1].startswith("*") or self.fields[2].startswith("*"))

    @property
    def text(self) -> str:
        return " ".join(self.fields)


class _FieldError(Exception):
    """A message about one field; turned into ``InvalidTrigger`` with the field's name."""


def read_cron(expr: str) -> CronSpec:
    """Check ``expr`` and return it as a :class:`CronSpec`; raise ``InvalidTrigger`` if bad.

    Does not check that the expression ever fires; the engine does that (see ``cron.py``).
    """
    text = " ".join(expr.strip().lower().split())
    if text.startswith("@"):
        if text == "@reboot":
            raise InvalidTrigger("cron '@reboot' is not a time; gnomon runs jobs on a schedule")
        if text not in MACROS:
            known = " ".join(MACROS)
            raise InvalidTrigger(f"unknown cron macro {text!r}; known macros: {known}")
        text = MACROS[text]
    parts = text.split()
    if len(parts) not in (5, 6):
        raise InvalidTrigger(
            f"cron {expr.strip()!r}: expected 5 fields (minute hour day-of-month month "
            f"day-of-week) or 6 with leading seconds, got {len(parts)}"
        )
    offset = 1 if len(parts) == 5 else 0
    fields = ("0", *parts) if offset else tuple(parts)
    for index, field in enumerate(fields):
        if index == 0 and offset:
            continue
        try:
            _check_field(index, field)
        except _FieldError as exc:
            raise InvalidTrigger(
                f"cron field {index + 1 - offset} ({_NAMES[index]}): {exc}"
            ) from None
    nearest = _nearest_weekdays(fields, offset)
    _check_possible_days(fields, nearest)
    return CronSpec(fields=fields, nearest_weekdays=nearest)


def _check_field(index: int, field: str) -> None:
    if not field:
        raise _FieldError("empty")
    for item in field.split(","):
        _check_item(index, item)


def _check_item(index: int, item: str) -> None:
    if index == _DOM and (item in ("l", "lw") or _NEAREST_WEEKDAY.match(item)):
        if item not in ("l", "lw"):
            _value(index, item[:-1])
        return
    if index == _DOW and item.endswith("l") and len(item) > 1:
        _value(index, item[:-1])
        return
    if index == _DOW and "#" in item:
        day, _, nth = item.partition("#")
        _value(index, day)
        if not nth.isdigit() or not 1 <= int(nth) <= 5:
            raise _FieldError(f"{item!r}: the week number after '#' must be 1 to 5")
        return
    base, slash, step = item.partition("/")
    if slash and (not step.isdigit() or int(step) == 0):
        raise _FieldError(f"step {step!r} in {item!r} must be a whole number of 1 or more")
    if base == "*":
        return
    start, dash, end = base.partition("-")
    low = _value(index, start)
    if dash and _value(index, end) < low:
        raise _FieldError(f"range {base!r} runs backwards; write {end}-{start} or a list")


def _value(index: int, token: str) -> int:
    """One number or name of field ``index``, checked against the field's range."""
    names = _MONTHS if index == _MONTH else _DAYS if index == _DOW else {}
    if token in names:
        return names[token]
    lo, hi = _RANGES[index]
    if not token.isdigit():
        what = " or name" if names else ""
        raise _FieldError(f"{token!r} is not a number{what}")
    if not lo <= int(token) <= hi:
        raise _FieldError(f"{int(token)} is out of range {lo}-{hi}")
    return int(token)


def _nearest_weekdays(fields: tuple[str, ...], offset: int) -> tuple[int, ...]:
    items = fields[_DOM].split(",")
    nearest = [m for m in map(_NEAREST_WEEKDAY.match, items) if m]
    if not nearest:
        return ()
    where = f"cron field {_DOM + 1 - offset} (day-of-month)"
    if len(nearest) != len(items):
        raise InvalidTrigger(f"{where}: 'nW' items cannot be mixed with other days")
    if fields[_DOW] != "*":
        raise InvalidTrigger(f"{where}: 'nW' needs '*' as day-of-week")
    return tuple(sorted({int(m[1]) for m in nearest}))


def _check_possible_days(fields: tuple[str, ...], nearest: tuple[int, ...]) -> None:
    """Refuse day-of-month lists that no chosen month has (``* * 31 2 *``)."""
    dom, dow = fields[_DOM], fields[_DOW]
    day_and = dom.startswith("*") or dow.startswith("*")
    if not day_and or dow != "*":
        return
    days = list(nearest) or [int(d) for d in dom.split(",") if d.isdigit()]
    if not days or (len(days) != len(dom.split(",")) and not nearest):
        return  # ranges, steps and L always fit some month; the engine checks the rest
    months = month_set(fields[_MONTH])
    if all(min(days) > _LONGEST[m] for m in months):
        names = ", ".join(calendar.month_name[m] for m in sorted(months))
        raise InvalidTrigger(
            f"cron: day {min(days)} never occurs in {names}; the schedule would never fire"
        )


def month_set(field: str) -> set[int]:
    months: set[int] = set()
    for item in field.split(","):
        base, _, step = item.partition("/")
        if base == "*":
            low, high = 1, 12
        else:
            start, dash, end = base.partition("-")
            low = _MONTHS.get(start) or int(start)
            high = (_MONTHS.get(end) or int(end)) if dash else (12 if step else low)
        months.update(range(low, high + 1, int(step) if step else 1))
    return months
