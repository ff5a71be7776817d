"""Clauses that say how often, or how long from now: ``every 15 minutes``, ``every other
monday``, ``daily``, ``biweekly``, ``in 30 minutes``, the anchor ``from 2026-11-30``, and the
words one-shot and skipping descriptions begin or end with (``once``, ``skipping months
without day 31``).

Amounts (``15 minutes``, ``half an hour``) are read by ``amounts.py``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from gnomon.errors import InvalidTrigger
from gnomon.triggers.amounts import read_amount, starts_amount
from gnomon.triggers.grammar_days import _weekdays, read_weekdays
from gnomon.triggers.lexicon import PARTS_OF_DAY
from gnomon.triggers.tokens import UNIT_SECONDS, Token

if TYPE_CHECKING:  # for types only: grammar.py imports this module at run time
    from gnomon.triggers.grammar import Parser


def _every(p: Parser) -> bool:
    """``every 15 minutes``, ``every other monday``, ``every day``, ``every 2 weeks``..."""
    if not p.take("every", "each"):
        return False
    if p.take("other"):
        return _every_other(p)
    found = read_weekdays(p)
    if found is not None:
        p.reading.days.update(found[0])
        p.reading.recurring = True
        return True
    return _every_period(p) or _every_amount(p)


def _every_other(p: Parser) -> bool:
    """``every other week``, ``every other day``, ``every other monday`` (after ``other``)."""
    p.once("weeks_step", 2)
    if p.take("week"):
        return True
    if p.take("day"):
        p.reading.weeks_step = None
        p.once("every", timedelta(days=2))
        return True
    return _weekdays(p) or _raise(p.error("expected a weekday or 'week' after 'every other'"))


def _every_period(p: Parser) -> bool:
    """``every day``, ``every week``... and ``every night``, ``every morning``..."""
    unit = p.take("day", "week", "month", "year")
    if unit is not None:
        p.reading.recurring = True
        p.once("every_word", {"day": "daily"}.get(unit, unit + "ly"))
        return True
    if p.take("night", "evening", "morning"):
        p.reading.recurring = True
        p.once("part", PARTS_OF_DAY[p.tokens[p.pos - 1].text])
        return True
    return False


def _every_amount(p: Parser) -> bool:
    """``every hour``, ``every 15 minutes``, ``every hour and a half``."""
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
