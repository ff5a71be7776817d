"""The one tokenizer of the schedule language: lowercase text in, typed tokens out.

Kinds: ``time`` (``9am``, ``18:30``, ``9:30 pm``: value ``(hour, minute, half)``), ``date``
(``2026-12-24``: value ``(year, month, day)``), ``slash`` (``24/12/2026``: the numbers),
``ordinal`` (``1st``, ``third``: value the number), ``amount`` (``2h30m``, ``15m``: value
seconds), ``number`` (``30``, ``1.5``, ``twenty``), ``negative`` (``-5``) and ``word``.
Commas and full stops are separators only. The grammar (``grammar.py``) reads the tokens;
nothing here decides what a phrase means.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from gnomon.errors import InvalidTrigger

_ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen"
_TEENS = "fifteen sixteen seventeen eighteen nineteen twenty"
NUMBER_WORDS = {word: n for n, word in enumerate(f"{_ONES} {_TEENS}".split())}
NUMBER_WORDS |= {"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "ninety": 90}
_NTH = "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth"
ORDINAL_WORDS = {word: n for n, word in enumerate(_NTH.split(), start=1)}
ORDINAL_WORDS |= {"fifteenth": 15, "twentieth": 20, "thirtieth": 30}
UNIT_SECONDS = {
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hr": 3600,
    "hrs": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "w": 604800,
    "wk": 604800,
    "wks": 604800,
    "week": 604800,
    "weeks": 604800,
    "fortnight": 1209600,
    "fortnights": 1209600,
}
_COMPACT_UNIT = r"(?:h|hrs?|m|mins?|s|secs?|d|w)"
_LEXEMES = re.compile(
    r"""
    (?P<date>\d{4}-\d{2}-\d{2})(?:t|\s+(?=\d{1,2}:))?
  | (?P<slash>\d{1,2}/\d{1,2}(?:/\d{2,4})?)\b
  | (?P<clock>\d{1,2}:\d{2}(?::\d{2})?)(?:\s*(?P<chalf>[ap])\.?m\b\.?)?
  | (?P<hour>\d{1,2})\s*(?P<half>[ap])\.?m\b\.?
  | (?P<ordinal>\d{1,2})(?:st|nd|rd|th)\b
  | (?P<amount>(?:\d+(?:\.\d+)?"""
    + _COMPACT_UNIT
    + r""")+)\b
  | (?P<negative>-\d+(?:\.\d+)?)
  | (?P<number>\d+(?:\.\d+)?)
  | (?P<word>[a-z]+(?:'[a-z]+)?)
  | (?P<space>[\s,.;]+|\(|\))
  | (?P<other>.)
    """,
    re.VERBOSE,
)
_KINDS = [
    "date",
    "slash",
    "clock",
    "hour",
    "ordinal",
    "amount",
    "negative",
    "number",
    "word",
    "space",
    "other",
]
_PIECE = re.compile(r"(\d+(?:\.\d+)?)([a-z]+)")
_HYPHEN = re.compile(r"(?<=[a-z])-(?=[a-z])")


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    text: str
    value: Any = None


def tokenize(text: str) -> list[Token]:
    """Tokens of lowercase ``text``; an unexpected character is refused by name."""
    text = _HYPHEN.sub(" - ", text)
    tokens: list[Token] = []
    for match in _LEXEMES.finditer(text):
        kind = next(name for name in _KINDS if match[name] is not None)
        if kind != "space":
            tokens.append(_token(match, kind, match[0].strip()))
    return tokens


def _token(match: re.Match[str], kind: str, lexeme: str) -> Token:  # noqa: C901, PLR0911 - known debt: to split
    if kind == "date":
        year, month, day = (int(part) for part in match["date"].split("-"))
        return Token("date", match["date"], (year, month, day))
    if kind == "slash":
        return Token("slash", lexeme, tuple(int(p) for p in lexeme.split("/")))
    if kind == "clock":
        hour, minute, *_ = (int(p) for p in match["clock"].split(":"))
        half = f"{match['chalf']}m" if match["chalf"] else None
        return Token("time", lexeme, (hour, minute, half))
    if kind == "hour":
        return Token("time", lexeme, (int(match["hour"]), 0, f"{match['half']}m"))
    if kind == "ordinal":
        return Token("ordinal", lexeme, int(match["ordinal"]))
    if kind == "amount":
        return Token("amount", lexeme, _compact_seconds(lexeme))
    if kind in ("number", "negative"):
        return Token(kind, lexeme, float(lexeme))
    if kind == "word":
        if lexeme in NUMBER_WORDS:
            return Token("number", lexeme, float(NUMBER_WORDS[lexeme]))
        if lexeme in ORDINAL_WORDS:
            return Token("ordinal", lexeme, ORDINAL_WORDS[lexeme])
        return Token("word", lexeme)
    if lexeme in ("-", "+", "@", "&"):
        return Token("word", lexeme)
    raise InvalidTrigger(f"unexpected character {lexeme!r} in the schedule")


def _compact_seconds(text: str) -> float:
    """``2h30m`` → 9000.0 (the tokenizer matched only known unit letters)."""
    return sum(float(n) * UNIT_SECONDS[unit] for n, unit in _PIECE.findall(text))
