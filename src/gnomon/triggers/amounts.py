"""Amounts of time in words and figures: ``30 minutes``, ``half an hour``, ``2h30m``,
``1 hour and 30 minutes``, ``an hour and a half``, ``a couple of minutes``, ``a fortnight``,
``twenty-five seconds``, ``1.5 hours``.

:func:`read_amount` reads them from the grammar's cursor; :func:`read_duration` reads a
whole text that is only an amount (solar offsets). Both refuse an unknown unit by name and
an amount that is zero or beyond :data:`~gnomon.limits.MAX_AMOUNT`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from gnomon.errors import InvalidTrigger
from gnomon.limits import MAX_AMOUNT
from gnomon.triggers.tokens import UNIT_SECONDS, tokenize

if TYPE_CHECKING:
    from gnomon.triggers.grammar import Parser

_COUNT_WORDS = {"a": 1.0, "an": 1.0, "half": 0.5, "quarter": 0.25, "couple": 2.0, "few": 3.0}
_UNITS_HINT = "use seconds, minutes, hours, days or weeks"


def _unit(p: Parser, ahead: int = 0) -> str | None:
    """The unit word at ``ahead``: a word, or ``second``, which the tokenizer reads as an
    ordinal ("the second monday") but after a count is the unit ("in 1 second")."""
    word = p.word(ahead)
    if word is not None:
        return word
    token = p.peek(ahead)
    return token.text if token is not None and token.text == "second" else None


def starts_amount(p: Parser) -> bool:
    """Whether the cursor is at an amount (a figure, a compact ``2h30m``, ``a``/``half``...)."""
    token = p.peek()
    if token is None:
        return False
    if token.kind in ("amount", "number"):
        return True
    following = _unit(p, 1)
    if token.text in _COUNT_WORDS:
        return following in UNIT_SECONDS or following in _COUNT_WORDS or following == "of"
    return False


def read_amount(p: Parser) -> timedelta:
    """Read one amount (several parts joined by ``and`` or nothing) at the cursor."""
    start, total = p.pos, 0.0
    while True:
        part = _part(p)
        if part is None:
            break
        total += part
        mark = p.pos
        p.take("and")
        if not starts_amount(p):
            p.pos = mark
            break
    text = " ".join(t.text for t in p.tokens[start : p.pos])
    if total <= 0:
        raise InvalidTrigger(f"{p.spec!r}: the amount must be more than zero")
    return check_amount(total, text or p.spec)


def _part(p: Parser) -> float | None:
    """One ``<count> <unit>``, or ``a half`` after a unit (``an hour and a half``)."""
    token = p.peek()
    if token is None:
        return None
    if token.kind == "amount":
        p.pos += 1
        return float(token.value)
    count = _count(p)
    if count is None:
        return None
    p.take("of")
    p.take("a", "an")
    unit = _unit(p)
    if unit not in UNIT_SECONDS:
        shown = p.peek().text if p.peek() is not None else "nothing"  # type: ignore[union-attr]
        raise InvalidTrigger(f"{p.spec!r}: unknown unit {shown!r}; {_UNITS_HINT}")
    p.pos += 1
    seconds = count * UNIT_SECONDS[unit]
    mark = p.pos
    if p.take("and") and p.take("a") and p.take("half"):
        return seconds * 1.5
    p.pos = mark
    return seconds


def _count(p: Parser) -> float | None:
    """``3``, ``1.5``, ``twenty five``, ``a``, ``half``, ``a couple of``, ``a quarter of``."""
    token = p.peek()
    if token is None:
        return None
    if token.kind == "number":
        p.pos += 1
        value = float(token.value)
        after = p.peek(1) if p.word() == "-" else p.peek()
        tens = 20 <= value <= 90 and value % 10 == 0
        if tens and after is not None and after.kind == "number" and 1 <= after.value <= 9:
            p.pos += 2 if p.word() == "-" else 1
            value += float(after.value)
        return value
    if token.text in ("a", "an") and p.word(1) in _COUNT_WORDS and p.word(1) not in ("a", "an"):
        p.pos += 1
        token = p.peek()
    if token is not None and token.text in _COUNT_WORDS:
        p.pos += 1
        if token.text == "half":
            p.take("an", "a")
        return _COUNT_WORDS[token.text]
    return None


def read_duration(text: str) -> timedelta:
    """A text that is only an amount (``30 minutes``, ``1h 30m``, ``an hour``) → timedelta."""
    from gnomon.triggers.grammar import Parser

    parser = Parser(tokenize(text.strip()), text.strip())
    token = parser.peek()
    if token is not None and token.kind == "negative":
        raise InvalidTrigger(
            f"{text!r}: {token.text} is negative: an interval or delay must be more than zero"
        )
    if not starts_amount(parser):
        word = token.text if token is not None else text
        raise InvalidTrigger(f"{text!r}: unknown unit {word!r}; {_UNITS_HINT}")
    amount = read_amount(parser)
    if parser.peek() is not None:
        raise InvalidTrigger(f"{text!r}: unknown unit {parser.rest()!r}; {_UNITS_HINT}")
    return amount


def check_amount(seconds: float, what: str) -> timedelta:
    """``seconds`` as a timedelta, refused (``InvalidTrigger``) beyond ``MAX_AMOUNT``."""
    limit = MAX_AMOUNT.total_seconds()
    if not seconds <= limit:  # also refuses inf and nan
        raise InvalidTrigger(
            f"{what!r} is too long: an interval or delay is at most {limit / 86400:g} days "
            "(100 years)"
        )
    return timedelta(seconds=seconds)
