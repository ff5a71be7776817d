"""The grammar of the schedule language: clauses that each fill slots of a :class:`Reading`.

A phrase is a sequence of clauses in any order (``at noon on weekdays`` = ``every weekday at
noon``): a time list, a day (relative, weekday, date, day of the month), a recurrence word,
an amount, a window. Each clause is a small function over the token stream; the words
between them (``the``, ``of``, ``and``) are fillers. ``natural.py`` turns the filled slots
into a trigger. A token no clause reads is refused by name, with the phrase read so far.

Here: the slots (:class:`Reading`), the cursor that reads a phrase (:class:`Parser`) and the
order the clauses are tried in (:data:`CLAUSES`). The clauses themselves:

- ``grammar_times.py``: times of day, ``on the hour``, windows, parts of the day;
- ``grammar_days.py``: relative days, weekdays, day sets, the nth of the month, calendar
  dates, months;
- ``grammar_recurrence.py``: ``every``, frequency words, ``in`` an amount, the anchor
  ``from`` a date, ``once``, ``skipping``.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from gnomon.errors import InvalidTrigger
from gnomon.triggers.grammar_days import (
    _calendar_date,
    _day_sets,
    _in_month,
    _nth_of_month,
    _relative_day,
    _weekdays,
)
from gnomon.triggers.grammar_recurrence import (
    _every,
    _frequency,
    _from_date,
    _in,
    _once,
    _skipping,
)
from gnomon.triggers.grammar_times import _on_the_hour, _part_of_day, _times, _window
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
