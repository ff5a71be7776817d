"""The grammar of the schedule language: clauses that each fill slots of a :class:`Reading`.

A phrase is a sequence of clauses in any order (``at noon on weekdays`` = ``every weekday at
noon``): a time list, a day (relative, weekday, date, day of the month), a recurrence word,
an amount, a window. Each clause is a small function over the token stream; the words
between them (``the``, ``of``, ``and``) are fillers. ``natural.py`` turns the filled slots
into a trigger. A token no clause reads is refused by name, with the phrase read so far.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from gnomon.errors import InvalidTrigger
from gnomon.triggers.amounts import read_amount, starts_amount
from gnomon.triggers.lexicon import KEYWORDS, MONTHS, PARTS_OF_DAY, WEEKDAYS
from gnomon.triggers.tokens import UNIT_SECONDS, Token

Clock = tuple[int, int]
FILLERS = frozenset({"the", "of", "and", "only", "please", "&", "o'clock", "starting"})


@dataclass(slots=True)
class Reading:
    """What the words of a phrase said; ``None``/empty means "not said"."""

    times: list[Clock] = field(default_factory=list)
    bare_hours: list[int] = field(default_factory=list)
    part: str | None = None
    shift: int | None = None
    weekday: tuple[int, str] | None = None
    date: tuple[int | None, int, int] | None = None
    month_day: int | None = None
    days: set[int] = field(default_factory=set)
    dom: str | None = None
    nth: tuple[int, int] | None = None
    month: int | None = None
    every: timedelta | None = None
    every_word: str | None = None
    weeks_step: int | None = None
    in_amount: timedelta | None = None
    window: tuple[Clock, Clock] | None = None
    anchor: tuple[int, int, int] | None = None
    recurring: bool = False
    hourly: bool = False
    said: list[str] = field(default_factory=list)


class Parser:
    """A cursor over the tokens of one phrase, and the clauses that read them."""

    def __init__(self, tokens: list[Token], spec: str) -> None:
        self.tokens, self.pos, self.spec, self.reading = tokens, 0, spec, Reading()

    # -- cursor ------------------------------------------------------------------------
    def peek(self, ahead: int = 0) -> Token | None:
        index = self.pos + ahead
        return self.tokens[index] if index < len(self.tokens) else None

    def word(self, ahead: int = 0) -> str | None:
        token = self.peek(ahead)
        return token.text if token is not None and token.kind == "word" else None

    def take(self, *words: str) -> str | None:
        """Consume the next token if it is one of ``words``; return it."""
        found = self.word()
        if found is not None and found in words:
            self.pos += 1
            return found
        return None

    def expect(self, what: str, *words: str) -> str:
        found = self.take(*words)
        if found is None:
            raise self.error(f"expected {what}")
        return found

    def rest(self) -> str:
        return " ".join(t.text for t in self.tokens[self.pos :])

    def error(self, why: str) -> InvalidTrigger:
        token = self.peek()
        where = f"at {token.text!r}" if token else "at the end"
        return InvalidTrigger(f"{self.spec!r}: {why} {where}")

    def once(self, slot: str, value: object) -> None:
        """Fill a slot that may be said only once."""
        current = getattr(self.reading, slot)
        if current not in (None, False, [], set()) and current != value:
            raise self.error(f"the {slot.replace('_', ' ')} is given twice")
        setattr(self.reading, slot, value)

    # -- the phrase ----------------------------------------------------------------------
    def read(self) -> Reading:
        while self.peek() is not None:
            if self.take(*FILLERS):
                continue
            start = self.pos
            for clause in CLAUSES:
                if clause(self):
                    self.reading.said.append(clause.__name__.strip("_"))
                    break
                self.pos = start
            else:
                raise self.not_understood()
        return self.reading

    def not_understood(self) -> InvalidTrigger:
        token = self.peek()
        assert token is not None
        before = " ".join(t.text for t in self.tokens[: self.pos])
        after = f" after {before!r}" if before else ""
        negative = next((t for t in self.tokens[self.pos :] if t.kind == "negative"), None)
        lead = f"cannot read schedule {self.spec!r}"
        if negative is not None:
            return InvalidTrigger(
                f"{lead}: {negative.text} is negative: an interval or delay must be more than zero"
            )
        rest = self.tokens[self.pos :]
        unknown = next((t for t in rest if t.kind == "word" and t.text not in KNOWN), None)
        if unknown is not None:
            close = difflib.get_close_matches(unknown.text, sorted(KNOWN), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            return InvalidTrigger(f"{lead}: unknown word {unknown.text!r}{hint}")
        return InvalidTrigger(f"{lead}: did not understand {self.rest()!r}{after}")


KNOWN = (
    KEYWORDS | WEEKDAYS.keys() | MONTHS.keys() | UNIT_SECONDS.keys() | FILLERS | PARTS_OF_DAY.keys()
)
Clause = Callable[[Parser], bool]


# -- times ----------------------------------------------------------------------------------
def read_clock(p: Parser, *, bare: bool) -> Clock | int | None:  # noqa: PLR0911 - one return per grammar rule (recursive descent)
    """One time of day: a ``time`` token, noon/midnight, or (if ``bare``) a bare hour.

    A bare hour comes back as an ``int``, to be decided by the other words (or refused).
    """
    token = p.peek()
    if token is None:
        return None
    if token.kind == "time":
        p.pos += 1
        return _checked_clock(p, token)
    if p.take("noon", "midday"):
        return (12, 0)
    if p.take("midnight"):
        return (0, 0)
    if bare and token.kind == "number" and float(token.value).is_integer():
        hour = int(token.value)
        unit = p.word(1)
        if unit in UNIT_SECONDS or unit in MONTHS:
            return None
        p.pos += 1
        p.take("o'clock")
        if not 0 <= hour <= 24:
            raise InvalidTrigger(f"{p.spec!r}: {hour} is not an hour of the day (0 to 23)")
        return hour
    return None


def _checked_clock(p: Parser, token: Token) -> Clock:
    hour, minute, half = token.value
    if half:
        if not 1 <= hour <= 12:
            raise InvalidTrigger(f"{token.text!r}: with am/pm the hour must be 1 to 12")
        hour = hour % 12 + (12 if half == "pm" else 0)
    if hour > 23 or minute > 59:
        raise InvalidTrigger(f"{token.text!r} is not a time of day (hours 0-23, minutes 0-59)")
    return hour, minute


def _times(p: Parser) -> bool:
    """``at 9am``, ``at 9am and 5pm``, ``9:30``, ``noon``, ``at 9`` (bare: decided later)."""
    said_at = p.take("at", "@") is not None
    if said_at and p.take("sunrise", "sunset"):
        return False
    first = read_clock(p, bare=said_at)
    if first is None:
        return False
    clocks = [first]
    while True:
        mark = p.pos
        joined = p.take("and") is not None
        following = read_clock(p, bare=said_at and joined)
        if following is None:
            p.pos = mark
            break
        clocks.append(following)
    for clock in clocks:
        if isinstance(clock, int):
            p.reading.bare_hours.append(clock)
        else:
            p.reading.times.append(clock)
    return True


def _on_the_hour(p: Parser) -> bool:
    """``on the hour``: minute 0 (with ``every hour`` or ``hourly``)."""
    if p.take("on") and p.take("the") and p.take("hour"):
        p.reading.hourly = True
        return True
    return False


def _window(p: Parser) -> bool:
    """``between 9am and 5pm``, ``from 9 to 17``: a half-open window of whole hours."""
    if not p.take("between", "from"):
        return False
    start = read_clock(p, bare=True)
    if start is None:
        return False
    p.expect("'and', 'to' or 'until'", "and", "to", "until", "-")
    end = read_clock(p, bare=True)
    if end is None:
        raise p.error("expected the end of the window")
    p.once("window", _window_clocks(p, start, end))
    return True


def _window_clocks(p: Parser, start: Clock | int, end: Clock | int) -> tuple[Clock, Clock]:
    """Bare hours in a window read as 24-hour when the other end decides it."""
    if isinstance(start, int) and isinstance(end, int):
        if start >= end and end < 12:
            end += 12  # between 9 and 5: the afternoon
        if max(start, end) <= 12 and start < 7:
            raise InvalidTrigger(
                f"{p.spec!r}: {start} is ambiguous: write {start}am or {start}pm (or 24-hour)"
            )
    first = (start, 0) if isinstance(start, int) else start
    last = (end, 0) if isinstance(end, int) else end
    if last <= first and last != (0, 0):
        raise InvalidTrigger(f"{p.spec!r}: the window ends before it starts")
    return first, last


def _part_of_day(p: Parser) -> bool:
    """``morning``, ``in the evening``, ``this afternoon``, ``tonight``."""
    mark = p.pos
    if p.take("in"):
        p.take("the")
    this = p.take("this")
    part = p.take(*PARTS_OF_DAY)
    if part is None:
        p.pos = mark
        return False
    if this:
        p.once("shift", 0)
    p.once("part", PARTS_OF_DAY[part])
    return True


# -- days -----------------------------------------------------------------------------------
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


def _nth_of_month(p: Parser) -> bool:  # noqa: C901, PLR0911, PLR0912 - known debt: to split
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
    elif p.take("day") and p.peek() is not None and p.peek().kind == "number":  # type: ignore[union-attr]
        nth = int(p.peek().value)  # type: ignore[union-attr]
        p.pos += 1
        _of_month(p, required=True)
        p.once("dom", _day_of_month(p, nth))
        p.reading.recurring = True
        return True
    else:
        return False
    weekday = _weekday_name(p.word())
    if weekday is not None:
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


# -- recurrence and amounts ------------------------------------------------------------------
def _every(p: Parser) -> bool:  # noqa: C901, PLR0911 - known debt: to split
    """``every 15 minutes``, ``every other monday``, ``every day``, ``every 2 weeks``..."""
    if not p.take("every", "each"):
        return False
    if p.take("other"):
        p.once("weeks_step", 2)
        if p.take("week"):
            return True
        if p.take("day"):
            p.reading.weeks_step = None
            p.once("every", timedelta(days=2))
            return True
        return _weekdays(p) or _raise(p.error("expected a weekday or 'week' after 'every other'"))
    found = read_weekdays(p)
    if found is not None:
        p.reading.days.update(found[0])
        p.reading.recurring = True
        return True
    unit = p.take("day", "week", "month", "year")
    if unit is not None:
        p.reading.recurring = True
        p.once("every_word", {"day": "daily"}.get(unit, unit + "ly"))
        return True
    if p.take("night", "evening", "morning"):
        p.reading.recurring = True
        p.once("part", PARTS_OF_DAY[p.tokens[p.pos - 1].text])
        return True
    if p.word() in ("hour", "minute", "second") and p.word(1) != "and":
        p.pos += 1
        p.once("every", timedelta(seconds=UNIT_SECONDS[p.tokens[p.pos - 1].text]))
        return True
    if p.word() in ("hour", "minute", "second"):
        p.tokens.insert(p.pos, Token("word", "an"))  # "every hour and a half" = an hour and...
    if starts_amount(p):
        p.once("every", read_amount(p))
        return True
    return False


def _raise(error: InvalidTrigger) -> bool:
    raise error


_FREQUENCIES: tuple[str, ...] = ("daily", "nightly", "weekly", "monthly", "yearly", "annually")
_FREQUENCIES += ("hourly", "biweekly", "fortnightly")


def _frequency(p: Parser) -> bool:
    """``daily``, ``weekly``, ``monthly``, ``yearly``, ``annually``, ``hourly``, ``biweekly``."""
    found = p.take(*_FREQUENCIES)
    if found is None:
        return False
    if found == "hourly":
        p.reading.hourly = True
    elif found in ("biweekly", "fortnightly"):
        p.once("weeks_step", 2)
    else:
        p.reading.recurring = True
        p.once("every_word", {"annually": "yearly", "nightly": "daily"}.get(found, found))
    return True


def _in(p: Parser) -> bool:
    """``in 30 minutes``, ``in half an hour``, ``in 3 days`` (with ``at 8am``: a date)."""
    if not p.take("in"):
        return False
    token = p.peek()
    if token is not None and token.kind == "negative":
        raise InvalidTrigger(
            f"{p.spec!r}: {token.text} is negative: an interval or delay must be more than zero"
        )
    if not starts_amount(p):
        return False
    p.once("in_amount", read_amount(p))
    return True


def _from_date(p: Parser) -> bool:
    """``from 2026-11-30``, ``starting 2026-11-30``: the anchor of every-N-weeks rules."""
    if not p.take("from", "since"):
        return False
    token = p.peek()
    if token is None or token.kind != "date":
        return False
    p.pos += 1
    p.once("anchor", token.value)
    return True


def _once(p: Parser) -> bool:
    """``once`` (as one-shot descriptions begin)."""
    return p.take("once") is not None


def _skipping(p: Parser) -> bool:
    """``skipping months without day 31`` (as descriptions of such rules end)."""
    if not (p.take("skipping") and p.take("months")):
        return False
    while p.peek() is not None and (p.word() in ("without", "that", "have", "no", "a", "day")):
        p.pos += 1
    token = p.peek()
    if token is not None and token.kind in ("number", "ordinal"):
        p.pos += 1
    return True


CLAUSES: tuple[Clause, ...] = (
    _once,
    _skipping,
    _in,
    _every,
    _frequency,
    _on_the_hour,
    _window,
    _from_date,
    _part_of_day,
    _relative_day,
    _day_sets,
    _calendar_date,
    _nth_of_month,
    _weekdays,
    _in_month,
    _times,
)
"""Tried in order at each position; the first that reads something wins."""
