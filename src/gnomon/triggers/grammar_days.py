"""Clauses that say which day: relative (``tomorrow``), weekdays (``next friday``,
``mon-fri``), day sets (``weekdays``), the nth of the month (``the last friday of the month``,
``the 15th of each month``), calendar dates (``24 december``, ``2026-12-24``, ``24/12``) and
months (``in december``).

:func:`read_weekdays` reads a weekday list or range; ``every`` (``grammar_recurrence.py``)
reads one after it too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gnomon.errors import InvalidTrigger
from gnomon.triggers.lexicon import MONTHS, WEEKDAYS

if TYPE_CHECKING:  # for types only: grammar.py imports this module at run time
    from gnomon.triggers.grammar import Parser
    from gnomon.triggers.tokens import Token


def _relative_day(p: Parser) -> bool:
    """``today``, ``tonight``, ``tomorrow``, ``the day after tomorrow``, ``yesterday``."""
    if p.word() == "day" and p.word(1) == "after":
        p.pos += 2
        p.expect("'tomorrow'", "tomorrow")
        p.once("shift", 2)
        return True
    found = p.take("today", "tonight", "tomorrow", "yesterday")
    if found is None:
        return False
    p.once("shift", {"today": 0, "tonight": 0, "tomorrow": 1, "yesterday": -1}[found])
    if found == "tonight":
        p.once("part", "night")
    return True


def read_weekdays(p: Parser) -> tuple[list[int], bool] | None:
    """``monday``, ``mon-fri``, ``monday through friday``, ``mondays and thursdays``.

    Returns the days and whether the words were plural or a list (a recurring set).
    """
    days: list[int] = []
    plural = False
    while True:
        mark = p.pos
        if days:
            p.take("and")
        name = p.word()
        day = _weekday_name(name)
        if day is None:
            p.pos = mark
            break
        p.pos += 1
        plural = plural or (name is not None and name.endswith("s") and name[:-1] in WEEKDAYS)
        if p.take("through", "to", "-", "thru", "until"):
            last = _weekday_name(p.word())
            if last is None:
                raise p.error("expected the weekday that ends the range")
            p.pos += 1
            days.extend(_weekday_range(day, last))
            plural = True
        else:
            days.append(day)
    if not days:
        return None
    return days, plural or len(days) > 1


def _weekday_name(word: str | None) -> int | None:
    if word is None:
        return None
    if word in WEEKDAYS:
        return WEEKDAYS[word]
    if word.endswith("s") and word[:-1] in WEEKDAYS and len(word) > 4:
        return WEEKDAYS[word[:-1]]
    return None


def _weekday_range(first: int, last: int) -> list[int]:
    return [(first + i) % 7 for i in range((last - first) % 7 + 1)]


def _weekdays(p: Parser) -> bool:
    """``on monday``, ``next friday``, ``this sunday``, ``on mondays``, ``mon-fri``."""
    p.take("on")
    which = p.take("next", "this", "last", "coming")
    found = read_weekdays(p)
    if found is None:
        if which == "next" and p.take("week", "month", "year"):
            raise InvalidTrigger(
                f"{p.spec!r} does not say which day: name one, e.g. 'next monday at 9am'"
            )
        return False
    days, recurring = found
    if which == "last":
        raise InvalidTrigger(f"{p.spec!r} is in the past; did you mean 'next {p.tokens[-1].text}'?")
    if recurring:
        if which:
            raise p.error(f"'{which}' needs a single day")
        p.reading.days.update(days)
        p.reading.recurring = True
    else:
        p.once("weekday", (days[0], which or ""))
    return True


def _day_sets(p: Parser) -> bool:
    """``weekdays``, ``on weekends``, ``every weekday``, ``workdays``."""
    p.take("on", "every", "each")
    found = p.take("weekday", "weekdays", "workday", "workdays", "weekend", "weekends")
    if found is None:
        return False
    p.reading.days.update(range(5) if found.startswith(("weekday", "workday")) else (5, 6))
    p.reading.recurring = True
    return True


def _nth_of_month(p: Parser) -> bool:
    """``the first monday of the month``, ``last friday of every month``, ``the 15th of
    each month``, ``the last day of the month``, ``day 24 of the month``."""
    p.take("on")
    every = p.take("every", "each") is not None
    p.take("the")
    token = p.peek()
    if token is None:
        return False
    if p.take("last"):
        nth = -1
    elif token.kind == "ordinal":
        nth = int(token.value)
        p.pos += 1
    elif p.take("day"):
        return _numbered_day(p)
    else:
        return False
    return _nth_weekday(p, nth, every=every) or _nth_day(p, nth)


def _numbered_day(p: Parser) -> bool:
    """``day 24 of the month`` (after ``day``)."""
    token = p.peek()
    if token is None or token.kind != "number":
        return False
    nth = int(token.value)
    p.pos += 1
    _of_month(p, required=True)
    p.once("dom", _day_of_month(p, nth))
    p.reading.recurring = True
    return True


def _nth_weekday(p: Parser, nth: int, *, every: bool) -> bool:
    """``first monday of the month``, ``last friday of every month`` (after the ordinal)."""
    weekday = _weekday_name(p.word())
    if weekday is None:
        return False
    p.pos += 1
    if not (nth == -1 or 1 <= nth <= 5):
        raise p.error(f"a month has at most five of each weekday, not {nth}")
    if not _of_month(p, required=False) and not every:
        if nth == -1:
            day = p.tokens[p.pos - 1].text
            raise InvalidTrigger(f"{p.spec!r} is in the past; did you mean 'next {day}'?")
        raise p.error("expected 'of the month' or 'of every month'")
    p.once("nth", (weekday, nth))
    p.reading.recurring = True
    return True


def _nth_day(p: Parser, nth: int) -> bool:
    """``last day of the month``, ``15th of each month``, ``the 1st`` (after the ordinal)."""
    if p.take("day"):
        _of_month(p, required=False)
        p.once("dom", "L" if nth == -1 else _day_of_month(p, nth))
        p.reading.recurring = True
        return True
    if nth == -1:
        return False
    if _of_month(p, required=False):
        p.once("dom", _day_of_month(p, nth))
        p.reading.recurring = True
    else:
        p.once("month_day", int(_day_of_month(p, nth)))
    return True


def _of_month(p: Parser, *, required: bool) -> bool:
    mark = p.pos
    if p.take("of", "in"):
        p.take("the", "every", "each")
        if p.take("month"):
            return True
    elif (p.take("every", "each") and p.take("month")) or p.take("monthly"):
        return True
    p.pos = mark
    if required:
        raise p.error("expected 'of the month'")
    return False


def _day_of_month(p: Parser, day: int) -> str:
    if not 1 <= day <= 31:
        raise InvalidTrigger(f"{p.spec!r}: {day} is not a day of the month (1 to 31)")
    return str(day)


def _calendar_date(p: Parser) -> bool:  # noqa: PLR0911 - one return per grammar rule (recursive descent)
    """``december 24``, ``24 december 2027``, ``24th of dec``, ``2026-12-24``, ``24/12/2026``."""
    p.take("on")
    p.take("the")
    following = p.peek(1)
    if p.word() == "at" and following is not None and following.kind == "date":
        p.pos += 1  # "at 2026-12-24 18:00", as one-off descriptions say
    token = p.peek()
    if token is None:
        return False
    if token.kind == "date":
        p.pos += 1
        p.once("date", token.value)
        return True
    if token.kind == "slash":
        p.pos += 1
        p.once("date", _slash_date(p, token))
        return True
    month = MONTHS.get(p.word() or "")
    if month is not None:
        day = p.peek(1)
        if day is None or day.kind not in ("number", "ordinal"):
            return False
        p.pos += 2
    elif token.kind in ("number", "ordinal") and float(token.value).is_integer():
        p.pos += 1
        p.take("of")
        month = MONTHS.get(p.word() or "")
        if month is None:
            return False
        day = token
        p.pos += 1
    else:
        return False
    year = _year(p)
    p.once("date", (year, month, int(_day_of_month(p, int(day.value)))))
    return True


def _year(p: Parser) -> int | None:
    token = p.peek()
    if token is not None and token.kind == "number" and 1000 <= token.value <= 9999:
        p.pos += 1
        return int(token.value)
    return None


def _slash_date(p: Parser, token: Token) -> tuple[int | None, int, int]:
    """``24/12/2026`` or ``12/24/2026``: read only when one number cannot be a month."""
    first, second, *year = token.value
    full_year = (2000 + year[0] if year[0] < 100 else year[0]) if year else None
    if first > 12 >= second:
        return full_year, second, first
    if second > 12 >= first:
        return full_year, first, second
    raise InvalidTrigger(
        f"{p.spec!r}: {token.text!r} is ambiguous (day/month or month/day?): write "
        f"e.g. '{first} {_month_name(second)}' or '{_month_name(first)} {second}'"
    )


def _month_name(number: int) -> str:
    names = [name for name, value in MONTHS.items() if value == number and len(name) > 3]
    return names[0] if names else str(number)


def _in_month(p: Parser) -> bool:
    """``in december`` (yearly rules, as cron descriptions say ``only in December``)."""
    if not p.take("in"):
        return False
    month = MONTHS.get(p.word() or "")
    if month is None:
        return False
    p.pos += 1
    p.once("month", month)
    return True
