"""Schedules in plain English: the slots the grammar filled, made into a trigger.

The words are read by one tokenizer (``tokens.py``) and composable clauses (``grammar.py``)
into a :class:`~gnomon.triggers.grammar.Reading`; here it becomes a trigger:

- one-shots an :class:`AtTrigger`, resolved now in the schedule's zone with the fixed-time DST
  rule (a time in a gap fires when the gap ends, a time that occurs twice fires the first time);
- calendar recurrences a :class:`CronTrigger` (one engine for calendar rules), or, when they
  step over weeks or days (``every other monday``, ``every 3 days at 9am``), an RRULE anchored
  on the first fire, which the description states;
- amounts (``every 15m``) an :class:`IntervalTrigger` counting real elapsed time, or with a
  window or days (``every 15 minutes between 9am and 5pm on weekdays``) a cron step.

Nothing is guessed: a bare hour (``at 9``) is refused unless the words decide it, a day with
no time (``tomorrow``) is refused with a complete phrase to copy, and a phrase in the past is
refused. dateparser and friends are not used: they guess (research/libraries.md §3).
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from gnomon.errors import InvalidTrigger
from gnomon.triggers.at import AtTrigger
from gnomon.triggers.base import Trigger
from gnomon.triggers.cron import CronTrigger
from gnomon.triggers.grammar import Clock, Parser, Reading
from gnomon.triggers.natural_steps import every_amount, stepped
from gnomon.triggers.tokens import tokenize
from gnomon.triggers.wallclock import DstPolicy, instants_for

_ONE_SHOT_SUGGESTIONS = "'in 30 minutes', 'tomorrow at 9am', 'friday at noon', 'at 18:00'"
_PART_HOURS = {"morning": range(4, 12), "afternoon": range(12, 18), "evening": range(17, 24)}
_PART_HOURS["night"] = _PART_HOURS["evening"]


class Context:
    """What a phrase is read against: the zone, the current instant and the DST policy."""

    def __init__(self, tz: str, now: datetime, dst: DstPolicy, spec: str) -> None:
        self.tz, self.zone, self.now, self.dst = tz, ZoneInfo(tz), now, dst
        self.today = now.astimezone(self.zone).date()
        self.spec = spec

    def instant(self, day: date, clock: Clock) -> datetime:
        """The instant of a local date and time (fixed-time rule for gaps and folds)."""
        wall = datetime.combine(day, time(*clock))
        return instants_for(wall, self.zone, fixed=True)[0]

    def once(self, at: datetime) -> AtTrigger:
        if at <= self.now:
            local = at.astimezone(self.zone)
            raise InvalidTrigger(
                f"{self.spec!r} is in the past ({local:%Y-%m-%d %H:%M} {self.tz}); "
                f"give a time still to come, e.g. {_ONE_SHOT_SUGGESTIONS}"
            )
        return AtTrigger(at, self.tz)

    def refuse(self, why: str) -> InvalidTrigger:
        return InvalidTrigger(f"{self.spec!r}{'' if why.startswith(':') else ' '}{why}")


def read_phrase(text: str, *, tz: str, now: datetime, dst: DstPolicy = DstPolicy.CRON) -> Trigger:
    """The trigger for a normalised (lowercase, single-spaced) English ``text``.

    Raises ``InvalidTrigger`` naming the words not understood, or why the phrase is wrong.
    """
    text = _without_zone(text, tz)
    reading = Parser(tokenize(text), text).read()
    return build(reading, Context(tz, now, dst, text))


def _without_zone(text: str, tz: str) -> str:
    """Descriptions end with the zone (``... (Europe/Berlin)``); the zone is the schedule's."""
    for suffix in (f"({tz.lower()})", tz.lower()):
        if text.endswith(suffix):
            return text.removesuffix(suffix).strip().rstrip(",")
    return text


def build(r: Reading, ctx: Context) -> Trigger:
    """The trigger the filled slots describe."""
    clocks = clocks_of(r, ctx)
    if not r.said:
        raise ctx.refuse(f"says no time or day; try {_ONE_SHOT_SUGGESTIONS}")
    if r.in_amount is not None:
        return _in(r, ctx, clocks)
    if r.weeks_step is not None:
        return stepped(r, ctx, clocks, weeks=r.weeks_step)
    if r.every is not None:
        return every_amount(r, ctx, clocks)
    if r.recurring or r.hourly:
        return recurring(r, ctx, clocks)
    return _one_shot(r, ctx, clocks)


def clocks_of(r: Reading, ctx: Context) -> list[Clock]:
    """The times said, bare hours decided by the part of the day, checked against it."""
    clocks = list(r.times)
    for hour in r.bare_hours:
        clocks.append(_decide(hour, r.part, ctx))
    if r.part is not None:
        for hour, _ in clocks:
            if hour not in _PART_HOURS[r.part] and not (r.part == "night" and hour < 4):
                word = "tonight" if r.part == "night" else f"the {r.part}"
                article = "an evening" if r.part == "night" else f"a {r.part}"
                raise ctx.refuse(f": {word!r} needs {article} time, e.g. '{_example(r.part)}'")
    return sorted(set(clocks), key=clocks.index)


def _example(part: str) -> str:
    return {"morning": "tomorrow morning at 9", "afternoon": "this afternoon at 3"}.get(
        part, "tonight at 9pm"
    )


def _decide(hour: int, part: str | None, ctx: Context) -> Clock:
    if 13 <= hour <= 23 or hour == 0:
        return hour, 0  # only one reading: the 24-hour clock
    if hour == 24:
        raise ctx.refuse(": 24 is not an hour of the day; write midnight or 00:00")
    if part in ("afternoon", "evening", "night") and hour < 12:
        return hour + 12, 0
    if part == "morning" and hour < 12:
        return hour, 0
    raise ctx.refuse(
        f": '{hour}' is ambiguous: write {hour}am, {hour}pm or {hour:02d}:00 "
        f"({hour}am is {hour % 12:02d}:00, {hour}pm is {hour % 12 + 12:02d}:00)"
    )


def _in(r: Reading, ctx: Context, clocks: list[Clock]) -> Trigger:
    """``in 30 minutes``; ``in 3 days at 8am`` (whole days, then the time on that date)."""
    assert r.in_amount is not None
    extra = r.date or r.weekday or r.shift is not None or r.month_day or r.recurring or r.every
    if extra:
        raise ctx.refuse("gives an amount ('in ...') and another day; say only one")
    if not clocks:
        return ctx.once(ctx.now + r.in_amount)
    days = r.in_amount / timedelta(days=1)
    if not days.is_integer():
        raise ctx.refuse(
            "gives a time after an amount that is not whole days; say e.g. 'in 3 days at 8am' "
            "or 'in 2 hours'"
        )
    return ctx.once(ctx.instant(ctx.today + timedelta(days=int(days)), _single(clocks, ctx)))


def _single(clocks: list[Clock], ctx: Context) -> Clock:
    if len(clocks) > 1:
        raise ctx.refuse(
            "gives several times for a one-off; for a recurrence say e.g. 'every day at 9am "
            "and 5pm'"
        )
    return clocks[0]


def _one_shot(r: Reading, ctx: Context, clocks: list[Clock]) -> Trigger:
    days_said = [x for x in (r.date, r.weekday, r.month_day) if x] + (
        [r.shift] if r.shift is not None else []
    )
    if len(days_said) > 1 and not (r.shift == 0 and len(days_said) == 2 and r.part):
        raise ctx.refuse("gives the day twice; say it once, e.g. 'friday at noon'")
    if r.window:
        raise ctx.refuse("gives a window but no amount; say e.g. 'every 15 minutes between ...'")
    if r.month:
        raise ctx.refuse("reads as a one-off; for a recurrence begin with 'every'")
    if not clocks:
        words = ctx.spec
        raise ctx.refuse(f"needs a time of day, e.g. '{words} at {'9' if r.part else '9am'}'")
    clock = _single(clocks, ctx)
    if r.date is not None:
        return _on_date(r.date, clock, ctx)
    if r.weekday is not None:
        return _on_weekday(r.weekday, clock, ctx)
    if r.month_day is not None:
        return _on_month_day(r.month_day, clock, ctx)
    if r.shift is not None:
        late = r.part == "night" and clock[0] < 4  # tonight at midnight, tonight at 1am
        return ctx.once(ctx.instant(ctx.today + timedelta(days=r.shift + late), clock))
    at = ctx.instant(ctx.today, clock)
    if at <= ctx.now:
        at = ctx.instant(ctx.today + timedelta(days=1), clock)
    return ctx.once(at)


def _on_weekday(weekday: tuple[int, str], clock: Clock, ctx: Context) -> Trigger:
    """``friday at noon``: the next such day and time, today included if still to come.

    ``next friday``: the first Friday after today, never today itself; ``this friday``: the
    one of this week, refused if already gone.
    """
    day, which = weekday
    ahead = (day - ctx.today.weekday()) % 7
    if which == "next" and ahead == 0:
        ahead = 7
    at = ctx.instant(ctx.today + timedelta(days=ahead), clock)
    if at <= ctx.now and which != "this":
        at = ctx.instant(ctx.today + timedelta(days=ahead + 7), clock)
    return ctx.once(at)


def _on_date(when: tuple[int | None, int, int], clock: Clock, ctx: Context) -> Trigger:
    """``december 24 at 6pm``: this year if still to come, else the next year it exists."""
    year, month, day = when
    years = [year] if year else list(range(ctx.today.year, ctx.today.year + 9))
    for candidate in years:
        try:
            at = ctx.instant(date(candidate, month, day), clock)
        except ValueError:
            continue  # 29 February, or 31 April
        if at > ctx.now or year:
            return ctx.once(at)
    raise ctx.refuse(f": {calendar.month_name[month]} has no day {day}")


def _on_month_day(day: int, clock: Clock, ctx: Context) -> Trigger:
    """``on the 1st at 9am``: the next such day of a month (months without it skipped)."""
    year, month = ctx.today.year, ctx.today.month
    for _ in range(14):
        if day <= calendar.monthrange(year, month)[1]:
            at = ctx.instant(date(year, month, day), clock)
            if at > ctx.now:
                return ctx.once(at)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    raise ctx.refuse(f": no month has day {day}")  # pragma: no cover - 1..31 always fits


def recurring(
    r: Reading, ctx: Context, clocks: list[Clock], hours: str | None = None, minute: str = "0"
) -> Trigger:
    """A cron rule from days, day of month, month and times (or a step of hours/minutes)."""
    if r.shift is not None or (r.date is not None and r.date[0] is not None):
        raise ctx.refuse("mixes a one-off day with a recurrence; say one of them")
    days = set(r.days)
    if r.weekday is not None:
        days.add(r.weekday[0])
    dom = r.dom or (str(r.month_day) if r.month_day else None)
    month = r.month
    if r.date is not None:
        month, dom = r.date[1], str(r.date[2])
    _check_frequency(r, ctx, days, dom, month)
    if (days or r.nth) and dom:
        raise ctx.refuse("gives a weekday and a day of the month; say one of them")
    dow = _cron_days(days) if days else "*"
    if r.nth is not None:
        weekday, nth = r.nth
        dow = f"{(weekday + 1) % 7}" + ("L" if nth == -1 else f"#{nth}")
    if hours is not None or r.hourly:
        if clocks:
            raise ctx.refuse("gives a time and 'hourly'; say one of them")
        hour_field = hours or window_hours(r, ctx, 1)
    elif r.window:
        raise ctx.refuse("gives a window but no amount; say e.g. 'every 15 minutes between ...'")
    elif not clocks:
        raise ctx.refuse(
            "needs a time of day, e.g. 'every day at 9am', or an amount, e.g. 'every 24h'"
        )
    else:
        minute, hour_field = _shared_minute(clocks, ctx)
    return CronTrigger(f"{minute} {hour_field} {dom or '*'} {month or '*'} {dow}", ctx.tz, ctx.dst)


def _check_frequency(
    r: Reading, ctx: Context, days: set[int], dom: str | None, month: int | None
) -> None:
    if r.every_word == "weekly" and not days:
        raise ctx.refuse("does not say which day of the week, e.g. 'weekly on monday at 9am'")
    if r.every_word == "monthly" and not (dom or r.nth):
        raise ctx.refuse("does not say which day of the month, e.g. 'monthly on the 1st at 9am'")
    if r.every_word == "yearly" and not (dom and month):
        raise ctx.refuse("does not say which date, e.g. 'every year on december 24 at 9am'")
    if month and not dom:
        raise ctx.refuse("gives a month but no day of it, e.g. 'every year on december 24'")


def _shared_minute(clocks: list[Clock], ctx: Context) -> tuple[str, str]:
    """One cron minute and hour list for times that share their minute."""
    minutes = {minute for _, minute in clocks}
    if len(minutes) > 1:
        shown = ", ".join(f"{h:02d}:{m:02d}" for h, m in clocks)
        raise ctx.refuse(f": times {shown} do not share their minutes; use one schedule per time")
    return str(minutes.pop()), ",".join(str(h) for h in sorted({h for h, _ in clocks}))


def window_hours(r: Reading, ctx: Context, step: int) -> str:
    """The cron hour field of a window (half-open, whole hours), or every ``step`` hours."""
    if r.window is None:
        return "*" if step == 1 else f"*/{step}"
    (first, first_minute), (last, last_minute) = r.window
    if first_minute:
        raise ctx.refuse(": a window starts on the hour, e.g. 'between 9am and 5pm'")
    end = (last or 24) - (0 if last_minute else 1)
    span = str(first) if end == first else f"{first}-{end}"
    return span if step == 1 else f"{span}/{step}"


def _cron_days(days: set[int]) -> str:
    """Python weekdays → cron's (Sunday = 0), as a list or a range."""
    numbers = sorted((d + 1) % 7 for d in days)
    if len(numbers) > 2 and numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"{numbers[0]}-{numbers[-1]}"
    return ",".join(str(n) for n in numbers)
