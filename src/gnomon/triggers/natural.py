"""Schedules in plain English: a small explicit grammar (see ``docs/time.md``).

One-shots become an :class:`AtTrigger`, resolved now in the schedule's zone with the
fixed-time DST rule (a time in a gap fires when the gap ends, a time that occurs twice fires
the first time). Recurrences become a :class:`CronTrigger`, so there is one engine for
calendar rules; amounts (``every 15m``) become an :class:`IntervalTrigger` counting real
elapsed time. A phrase in the past, or one the grammar does not know, is refused with a
message naming the word and, where possible, a suggestion. dateparser and friends are not
used: they guess (``at 9`` as September) and cost startup time (research/libraries.md §3).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from gnomon.errors import InvalidTrigger
from gnomon.triggers.at import AtTrigger
from gnomon.triggers.base import Trigger
from gnomon.triggers.cron import CronTrigger
from gnomon.triggers.interval import IntervalTrigger
from gnomon.triggers.lexicon import (
    MONTHS,
    TIME,
    UNITS,
    WEEKDAYS,
    read_day_of_month,
    read_duration,
    read_time,
)
from gnomon.triggers.wallclock import DstPolicy, instants_for

_DAY = "|".join(sorted(WEEKDAYS, key=len, reverse=True))
_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
_TIMES = rf"{TIME}(?:\s*(?:,|and)\s*{TIME})*"
_ONE_SHOT_SUGGESTIONS = "'in 30 minutes', 'tomorrow at 9am', 'friday at noon', 'at 18:00'"


class _Context:
    """What a phrase is read against: the zone, the current instant and the DST policy."""

    def __init__(self, tz: str, now: datetime, dst: DstPolicy) -> None:
        self.tz, self.zone, self.now, self.dst = tz, ZoneInfo(tz), now, dst
        self.today = now.astimezone(self.zone).date()

    def instant(self, day: date, hour_minute: tuple[int, int]) -> datetime:
        """The instant of a local date and time (fixed-time rule for gaps and folds)."""
        wall = datetime.combine(day, time(*hour_minute))
        return instants_for(wall, self.zone, fixed=True)[0]

    def once(self, at: datetime, spec: str) -> AtTrigger:
        if at <= self.now:
            local = at.astimezone(self.zone)
            raise InvalidTrigger(
                f"{spec!r} is in the past ({local:%Y-%m-%d %H:%M} {self.tz}); "
                f"give a time still to come, e.g. {_ONE_SHOT_SUGGESTIONS}"
            )
        return AtTrigger(at, self.tz)


Reader = Callable[[re.Match[str], _Context, str], Trigger]
_RULES: list[tuple[re.Pattern[str], Reader]] = []


def _rule(pattern: str) -> Callable[[Reader], Reader]:
    """Register a reader for phrases matching ``pattern``; rules are tried in order."""

    def add(reader: Reader) -> Reader:
        _RULES.append((re.compile(rf"^{pattern}$"), reader))
        return reader

    return add


def read_phrase(
    text: str, *, tz: str, now: datetime, dst: DstPolicy = DstPolicy.CRON
) -> Trigger | None:
    """The trigger for a normalised English ``text``, or ``None`` if no rule matches.

    Raises ``InvalidTrigger`` when a rule matches but the phrase is wrong (past, bad time).
    """
    context = _Context(tz, now, dst)
    for pattern, reader in _RULES:
        if match := pattern.match(text):
            return reader(match, context, text)
    return None


@_rule(r"in (?P<d>.+)")
def _in(m: re.Match[str], ctx: _Context, spec: str) -> Trigger:
    return ctx.once(ctx.now + read_duration(m["d"]), spec)


@_rule(r"every (?P<d>(?:\d+(?:\.\d+)?\s*[a-z]+[\s,]*)+)")
def _every_amount(m: re.Match[str], ctx: _Context, spec: str) -> Trigger:
    every = read_duration(m["d"])
    return IntervalTrigger(every, ctx.now + every)


@_rule(r"every (?P<unit>second|minute|hour)")
def _every_unit(m: re.Match[str], ctx: _Context, spec: str) -> Trigger:
    every = timedelta(seconds=UNITS[m["unit"]])
    return IntervalTrigger(every, ctx.now + every)


@_rule(rf"(?:at )?(?P<when>yesterday|today|tonight|tomorrow)(?: at)? (?P<t>{TIME})")
@_rule(rf"(?:at )?(?P<t>{TIME}) (?P<when>yesterday|today|tonight|tomorrow)")
def _relative_day(m: re.Match[str], ctx: _Context, spec: str) -> Trigger:
    shift = {"yesterday": -1, "today": 0, "tonight": 0, "tomorrow": 1}[m["when"]]
    hour_minute = read_time(m["t"])
    if m["when"] == "tonight" and not 17 <= hour_minute[0] <= 23:
        raise InvalidTrigger(f"{spec!r}: 'tonight' needs an evening time, e.g. 'tonight at 9pm'")
    return ctx.once(ctx.instant(ctx.today + timedelta(days=shift), hour_minute), spec)


@_rule(rf"(?:at )?(?P<t>{TIME})")
def _next_time(m: re.Match[str], ctx: _Context, spec: str) -> Trigger:
    hour_minute = read_time(m["t"])
    at = ctx.instant(ctx.today, hour_minute)
    if at <= ctx.now:
        at = ctx.instant(ctx.today + timedelta(days=1), hour_minute)
    return ctx.once(at, spec)


@_rule(rf"(?:on )?(?P<which>next |this |last )?(?P<day>{_DAY})(?: at)? (?P<t>{TIME})")
@_rule(rf"(?:at )?(?P<t>{TIME}) (?:on )?(?P<which>next |this |last )?(?P<day>{_DAY})")
def _weekday(m: re.Match[str], ctx: _Context, spec: str) -> Trigger:
    """``friday at noon``: the next such day and time, today included if still to come.

    ``next friday``: the first Friday after today, never today itself.
    """
    which = (m["which"] or "").strip()
    if which == "last":
        raise InvalidTrigger(f"{spec!r} is in the past; did you mean 'next {m['day']}'?")
    hour_minute, weekday = read_time(m["t"]), WEEKDAYS[m["day"]]
    ahead = (weekday - ctx.today.weekday()) % 7
    if which == "next" and ahead == 0:
        ahead = 7
    at = ctx.instant(ctx.today + timedelta(days=ahead), hour_minute)
    if at <= ctx.now and which != "this":
        at = ctx.instant(ctx.today + timedelta(days=ahead + 7), hour_minute)
    return ctx.once(at, spec)


_DATE_TAIL = rf"(?:,? (?P<y>\d{{4}}))?(?: at)? (?P<t>{TIME})"


@_rule(rf"(?:on )?(?P<mon>{_MONTH}) (?P<d>\d{{1,2}}(?:st|nd|rd|th)?){_DATE_TAIL}")
@_rule(rf"(?:on )?(?:the )?(?P<d>\d{{1,2}}(?:st|nd|rd|th)?)(?: of)? (?P<mon>{_MONTH}){_DATE_TAIL}")
def _calendar_date(m: re.Match[str], ctx: _Context, spec: str) -> Trigger:
    """``december 24 at 6pm``: this year if still to come, else the next year it exists."""
    month, day, hour_minute = MONTHS[m["mon"]], read_day_of_month(m["d"]), read_time(m["t"])
    years = [int(m["y"])] if m["y"] else list(range(ctx.today.year, ctx.today.year + 9))
    for year in years:
        try:
            at = ctx.instant(date(year, month, day), hour_minute)
        except ValueError:
            continue  # 29 February, or 31 April
        if at > ctx.now or m["y"]:
            return ctx.once(at, spec)
    raise InvalidTrigger(f"{spec!r}: {m['mon']} has no day {day}")


def _cron(ctx: _Context, times: str, dom: str, dow: str) -> CronTrigger:
    """One cron expression for a list of times that share their minute."""
    moments = [read_time(t) for t in re.split(r"\s*(?:,|and)\s*", times.strip())]
    minutes = {minute for _, minute in moments}
    if len(minutes) > 1:
        raise InvalidTrigger(
            f"times {times!r} do not share their minutes; use one schedule per time"
        )
    hours = ",".join(str(h) for h in sorted({h for h, _ in moments}))
    return CronTrigger(f"{minutes.pop()} {hours} {dom} * {dow}", ctx.tz, ctx.dst)


def _cron_days(days: str) -> str:
    """``monday and thursday`` → ``1,4`` (cron: Sunday = 0)."""
    names = [d for d in re.split(r"\s*(?:,|and)\s*", days.strip()) if d]
    numbers = sorted({(WEEKDAYS[n.rstrip("s")] + 1) % 7 for n in names})
    return ",".join(str(n) for n in numbers)


_DAY_LIST = rf"(?:{_DAY})s?(?:\s*(?:,|and)\s*(?:{_DAY})s?)*"


@_rule(rf"(?:every|each) (?P<set>day|weekday|weekend)(?: at)? (?P<t>{_TIMES})")
@_rule(rf"(?P<set>daily|weekdays|weekends)(?: at)? (?P<t>{_TIMES})")
def _every_day_set(m: re.Match[str], ctx: _Context, spec: str) -> Trigger:
    dow = {"day": "*", "daily": "*", "weekday": "1-5", "weekdays": "1-5"}.get(m["set"], "0,6")
    return _cron(ctx, m["t"], "*", dow)


@_rule(rf"(?:every|each|on) (?P<days>{_DAY_LIST})(?: at)? (?P<t>{_TIMES})")
def _every_weekdays(m: re.Match[str], ctx: _Context, spec: str) -> Trigger:
    return _cron(ctx, m["t"], "*", _cron_days(m["days"]))


@_rule(
    rf"(?:on )?(?:the )?(?P<which>first|last) day of (?:every|each) month(?: at)? (?P<t>{_TIMES})"
)
def _month_edge(m: re.Match[str], ctx: _Context, spec: str) -> Trigger:
    return _cron(ctx, m["t"], "1" if m["which"] == "first" else "L", "*")


_NTH = r"(?P<d>\d{1,2}(?:st|nd|rd|th)?)"


@_rule(rf"(?:every|each) month on the {_NTH}(?: at)? (?P<t>{_TIMES})")
@_rule(rf"(?:on )?the {_NTH} of (?:every|each) month(?: at)? (?P<t>{_TIMES})")
def _month_day(m: re.Match[str], ctx: _Context, spec: str) -> Trigger:
    return _cron(ctx, m["t"], str(read_day_of_month(m["d"])), "*")


@_rule(r"(?:every|each) (?P<set>day|weekday|weekend|month|week|year)|daily|weekly|monthly")
def _missing_time(m: re.Match[str], ctx: _Context, spec: str) -> Trigger:
    raise InvalidTrigger(
        f"{spec!r} needs a time of day, e.g. 'every day at 9am', or an amount, e.g. 'every 24h'"
    )


@_rule(rf"(?:next |this |on )?(?:{_DAY}|today|tomorrow)")
def _missing_one_shot_time(m: re.Match[str], ctx: _Context, spec: str) -> Trigger:
    raise InvalidTrigger(f"{spec!r} needs a time of day, e.g. '{spec} at 9am'")
