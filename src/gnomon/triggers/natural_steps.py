"""Phrases that step: ``every 15 minutes [between 9am and 5pm] [on weekdays]``, ``every other
monday at 9am``, ``every 3 weeks on friday at 5pm``, ``every 2 days at 8am``, ``biweekly``.

A bare amount counts real elapsed time from now (an :class:`IntervalTrigger`). With a window
or days it is a cron step, so it needs an amount that divides an hour or a day. Steps of
whole weeks or days with a time are RRULEs anchored on their first fire (or the date after
``from``), and the description names that anchor.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from gnomon.triggers.base import Trigger
from gnomon.triggers.grammar import Clock, Reading
from gnomon.triggers.interval import IntervalTrigger
from gnomon.triggers.rrule import RRuleTrigger

if TYPE_CHECKING:
    from gnomon.triggers.natural import Context

_WEEK, _DAY, _HOUR = 604800, 86400, 3600
_BYDAY = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def every_amount(r: Reading, ctx: Context, clocks: list[Clock]) -> Trigger:  # noqa: PLR0911 - one return per reading of the amount
    """``every <amount>`` alone, with a time (weeks or days), or with a window or days."""
    from gnomon.triggers.natural import recurring, window_hours

    assert r.every is not None
    seconds = r.every.total_seconds()
    if seconds % _WEEK == 0 and (r.days or r.weekday or clocks):
        return stepped(r, ctx, clocks, weeks=int(seconds // _WEEK))
    if seconds % _DAY == 0 and clocks and not r.days:
        if seconds == _DAY:
            return recurring(r, ctx, clocks)
        return stepped(r, ctx, clocks, days=int(seconds // _DAY))
    if r.hourly and seconds == _HOUR:
        return recurring(r, ctx, [])
    if r.window or r.days or r.weekday or r.nth or r.dom:
        if clocks:
            raise ctx.refuse("gives both an amount and a time of day; say one of them")
        if seconds < _HOUR and seconds % 60 == 0 and _HOUR % seconds == 0:
            minutes = int(seconds // 60)
            step = "*" if minutes == 1 else f"*/{minutes}"
            return recurring(r, ctx, [], hours=window_hours(r, ctx, 1), minute=step)
        if seconds % _HOUR == 0 and _DAY % seconds == 0:
            return recurring(r, ctx, [], hours=window_hours(r, ctx, int(seconds // _HOUR)))
        raise ctx.refuse(
            ": with a window or days the amount must divide an hour or a day evenly, "
            "e.g. 'every 15 minutes' or 'every 2 hours'"
        )
    if clocks or r.shift is not None or r.date or r.month_day:
        raise ctx.refuse(
            "gives both an amount and a time or day; say e.g. 'every 2 hours' or 'every day at 9am'"
        )
    return IntervalTrigger(r.every, ctx.now + r.every)


def stepped(
    r: Reading, ctx: Context, clocks: list[Clock], *, weeks: int = 0, days: int = 0
) -> Trigger:
    """Every ``weeks`` weeks on some weekdays, or every ``days`` days, at times of day."""
    weekdays = set(r.days) | ({r.weekday[0]} if r.weekday else set())
    if weeks and not weekdays:
        raise ctx.refuse("does not say which day, e.g. 'every other monday at 9am'")
    if not clocks:
        raise ctx.refuse("needs a time of day, e.g. 'every other monday at 9am'")
    if r.window or r.dom or r.nth or r.month or r.shift is not None or r.date:
        raise ctx.refuse("mixes a step of weeks or days with other days; say one of them")
    minutes = {m for _, m in clocks}
    if len(minutes) > 1:
        raise ctx.refuse(": the times do not share their minutes; use one schedule per time")
    minute, hours = minutes.pop(), sorted({h for h, _ in clocks})
    start = _anchor(r, ctx, weekdays, (hours[0], minute))
    if weeks:
        by_day = ",".join(_BYDAY[d] for d in sorted(weekdays))
        rule = f"FREQ=WEEKLY;INTERVAL={weeks};WKST=MO;BYDAY={by_day}"
    else:
        rule = f"FREQ=DAILY;INTERVAL={days}"
    by_hour = ",".join(str(h) for h in hours)
    text = (
        f"DTSTART:{start:%Y%m%d}T000000\nRRULE:{rule};BYHOUR={by_hour};BYMINUTE={minute};BYSECOND=0"
    )
    return RRuleTrigger(text, ctx.tz, ctx.dst)


def _anchor(r: Reading, ctx: Context, weekdays: set[int], clock: Clock) -> date:
    """The date of the first fire: the ``from`` date, else the first matching day to come."""
    if r.anchor is not None:
        return date(*r.anchor)
    day = ctx.today
    for _ in range(8):
        if (not weekdays or day.weekday() in weekdays) and ctx.instant(day, clock) > ctx.now:
            return day
        day += timedelta(days=1)
    return day  # pragma: no cover - a week always has the day
