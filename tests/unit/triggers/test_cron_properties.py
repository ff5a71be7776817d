"""Property tests: cron fires against a brute-force oracle, around real DST transitions.

The oracle walks every real minute of a two-day window, reads its wall time, and applies the
rules of docs/time.md directly (no code shared with ``wallclock.py``): wildcard jobs fire at
every real minute whose wall time matches; fixed-time jobs at the first pass of a fold and at
the end of a gap that swallowed a match. Windows are centred on the zone's transitions.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gnomon.triggers import CronTrigger
from tests.unit.triggers.timeline import fires

ZONES = [
    "Australia/Lord_Howe",
    "Pacific/Apia",
    "Africa/Casablanca",
    "Pacific/Chatham",
    "America/St_Johns",
    "Europe/Berlin",
    "America/New_York",
    "America/Sao_Paulo",
]
MINUTE = timedelta(minutes=1)
WINDOW = timedelta(days=2)

minutes = st.sampled_from(["*", "*/7", "*/15", "0", "30", "15,45", "0-10/5", "59", "1-5"])
hours = st.sampled_from(["*", "*/2", "*/5", "0", "1", "2", "3", "1-3", "0,12", "23", "2,3"])
days = st.sampled_from(["*", "*", "*", "1", "15", "L", "*/2", "29"])
months = st.sampled_from(["*", "*", "*", "1-6", "3,4,9,10,11,12", "feb"])
weekdays = st.sampled_from(["*", "*", "1-5", "0", "sat,sun", "5L", "0#1"])
expressions = st.builds(lambda *f: " ".join(f), minutes, hours, days, months, weekdays)


@cache
def transitions(tz: str, year: int) -> tuple[datetime, ...]:
    """Instants (UTC) where the zone's offset changes during ``year``, to the minute."""
    zone, found = ZoneInfo(tz), []
    t = datetime(year, 1, 1, tzinfo=UTC)
    while t.year == year:
        step = t + timedelta(hours=6)
        if t.astimezone(zone).utcoffset() != step.astimezone(zone).utcoffset():
            lo = t
            while step - lo > MINUTE:
                mid = lo + (step - lo) // 2 // MINUTE * MINUTE
                same = mid.astimezone(zone).utcoffset() == lo.astimezone(zone).utcoffset()
                lo, step = (mid, step) if same else (lo, mid)
            found.append(step)
        t = step
    return tuple(found)


@st.composite
def windows(draw: st.DrawFn) -> tuple[str, datetime]:
    """A zone and a window start, usually a day before one of its transitions."""
    tz = draw(st.sampled_from(ZONES))
    year = 2011 if tz == "Pacific/Apia" and draw(st.booleans()) else draw(st.integers(2000, 2035))
    near = transitions(tz, year)
    if near:
        centre = draw(st.sampled_from(near))
    else:
        centre = datetime(year, 1, 1, tzinfo=UTC) + timedelta(days=draw(st.integers(0, 364)))
    jitter = timedelta(minutes=draw(st.integers(-36 * 60, -12 * 60)))
    return tz, centre + jitter + timedelta(seconds=draw(st.integers(0, 59)))


def oracle(trigger: CronTrigger, start: datetime, end: datetime) -> list[datetime]:
    """Fires in ``(start, end]`` by walking every real minute (the rules, stated plainly)."""
    zone = ZoneInfo(trigger.tz)
    wall_lo = (start - timedelta(days=1)).astimezone(zone).replace(tzinfo=None)
    wall_hi = (end + timedelta(days=1)).astimezone(zone).replace(tzinfo=None)
    matches = set()
    for wall in trigger.wall_times(wall_lo):
        if wall > wall_hi:
            break
        matches.add(wall)
    found: set[datetime] = set()
    minute = start.replace(second=0, microsecond=0) + MINUTE
    previous = (minute - MINUTE).astimezone(zone).replace(tzinfo=None)
    while minute <= end:
        local = minute.astimezone(zone)
        wall = local.replace(tzinfo=None)
        second_pass = local.fold == 1 and local.replace(fold=0).utcoffset() != local.utcoffset()
        if wall in matches and not (trigger.fixed_time and second_pass):
            found.add(minute)
        swallowed = wall - previous - MINUTE
        if trigger.fixed_time and swallowed > timedelta(0):
            gap = (previous + MINUTE * k for k in range(1, swallowed // MINUTE + 1))
            if any(w in matches for w in gap):
                found.add(minute)
        previous = wall
        minute += MINUTE
    return sorted(found)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expr=expressions, where=windows(), literal=st.booleans())
def test_cron_matches_the_oracle_around_transitions(
    expr: str, where: tuple[str, datetime], literal: bool
) -> None:
    tz, start = where
    trigger = CronTrigger(expr, tz, "literal" if literal else "cron")  # type: ignore[arg-type]
    end = start + WINDOW
    got: list[datetime] = []
    at = trigger.next_after(start)
    while at is not None and at <= end:
        got.append(at)
        at = trigger.next_after(at)
    assert got == oracle(trigger, start, end)


@settings(max_examples=150, deadline=None)
@given(expr=expressions, where=windows(), cut=st.floats(0, 1, exclude_max=True))
def test_next_after_is_constant_until_the_fire(
    expr: str, where: tuple[str, datetime], cut: float
) -> None:
    tz, start = where
    trigger = CronTrigger(expr, tz)
    for t in fires(trigger, start, 4)[:-1] or [start]:
        upcoming = trigger.next_after(t)
        if upcoming is None:
            return
        assert upcoming > t
        gap = upcoming - t
        inside = t + min(gap * cut, gap - timedelta(microseconds=1))  # float may round up
        assert trigger.next_after(inside) == upcoming
        assert trigger.next_after(upcoming - timedelta(microseconds=1)) == upcoming


@settings(max_examples=120, deadline=None)
@given(expr=expressions, where=windows())
def test_fixed_time_jobs_fire_at_most_once_per_local_slot(
    expr: str, where: tuple[str, datetime]
) -> None:
    tz, start = where
    trigger = CronTrigger(expr, tz)
    got = fires(trigger, start, 200)
    assert got == sorted(set(got)), "fires strictly increase"
    if trigger.fixed_time:
        walls = [f.astimezone(ZoneInfo(tz)).replace(tzinfo=None) for f in got]
        assert len(walls) == len(set(walls))
