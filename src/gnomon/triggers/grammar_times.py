"""Clauses that say a time of day: ``at 9am and 5pm``, ``noon``, ``on the hour``, the window
``between 9am and 5pm``, the part of the day ``in the evening``.

:func:`read_clock` reads one time; a bare hour (``at 9``) is left for ``natural.py`` to
decide from the other words, or to refuse.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gnomon.errors import InvalidTrigger
from gnomon.triggers.lexicon import MONTHS, PARTS_OF_DAY
from gnomon.triggers.tokens import UNIT_SECONDS, Token

if TYPE_CHECKING:  # for types only: grammar.py imports this module at run time
    from gnomon.triggers.grammar import Clock, Parser


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
