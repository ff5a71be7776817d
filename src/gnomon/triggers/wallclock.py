"""Wall-clock times to instants: gnomon's DST rules, in one place.

Calendar-like triggers (cron, RRULE, natural-language recurrences, one-shots written as a
local time) first find *wall-clock* matches (naive datetimes) and then map each to real
instants here. The mapping depends on the wall time's kind and on the schedule's policy:

============================  ===========================  ===========================
wall time                     fixed time (``fixed=True``)  wildcard (``fixed=False``)
============================  ===========================  ===========================
occurs once                   that instant                 that instant
occurs twice (fold)           the first occurrence only    both occurrences
does not occur (gap)          the instant the gap ends     no instant
============================  ===========================  ===========================

:class:`DstPolicy` ``CRON`` (the default) uses the fixed column for jobs whose minute and hour
are fixed, as Vixie cron does; ``LITERAL`` (Temporal's semantics) always uses the wildcard
column. Everything works on ``zoneinfo``'s model: a wall time has at most two readings,
``fold=0`` and ``fold=1``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

_SECOND = timedelta(seconds=1)


class DstPolicy(StrEnum):
    """How a schedule treats wall times that occur twice or not at all."""

    CRON = "cron"
    """Fixed-time jobs: first occurrence of a fold, end of a gap. Others: every real match."""
    LITERAL = "literal"
    """Every real instant whose wall time matches: twice in a fold, never in a gap."""


def instants_for(wall: datetime, zone: ZoneInfo, *, fixed: bool) -> tuple[datetime, ...]:
    """The aware UTC instants at which the naive ``wall`` time fires in ``zone``, ascending.

    ``fixed`` selects the fixed-time column of the module table, otherwise the wildcard one.
    """
    first = wall.replace(tzinfo=zone, fold=0)
    second = wall.replace(tzinfo=zone, fold=1)
    off0, off1 = first.utcoffset(), second.utcoffset()
    assert off0 is not None  # a ZoneInfo always has an offset
    assert off1 is not None
    if off0 == off1:
        return (wall.replace(tzinfo=UTC) - off0,)
    if off0 > off1:  # the clock went back: the wall time occurs twice
        early = wall.replace(tzinfo=UTC) - off0
        late = wall.replace(tzinfo=UTC) - off1
        return (early,) if fixed else (early, late)
    # The clock jumped forward over this wall time.
    if not fixed:
        return ()
    return (gap_end(wall, zone, before=off0),)


def gap_end(wall: datetime, zone: ZoneInfo, *, before: timedelta) -> datetime:
    """The first instant after the gap that swallows ``wall`` (whole seconds, as in tzdb).

    ``before`` is the offset in force just before the gap. The gap's transition lies in
    ``(wall - after, wall - before]``; a binary search finds it without reading tzdb files.
    """
    second = wall.replace(tzinfo=zone, fold=1).utcoffset()
    assert second is not None
    naive_utc = wall.replace(tzinfo=UTC)
    lo, hi = naive_utc - second, naive_utc - before  # lo: old offset, hi: new offset
    while hi - lo > _SECOND:
        mid = lo + ((hi - lo) // 2 // _SECOND) * _SECOND
        if mid.astimezone(zone).utcoffset() == before:
            lo = mid
        else:
            hi = mid
    return hi


def earliest_wall(instant: datetime, zone: ZoneInfo) -> datetime:
    """The lowest naive wall time that any instant strictly after ``instant`` can show.

    Usually the wall time of ``instant`` itself; inside the first pass of a fold it is the
    start of the repeated range, because wall times already seen come round again.
    """
    local = instant.astimezone(zone)
    wall = local.replace(tzinfo=None)
    if local.fold == 0:
        now_off = local.utcoffset()
        later_off = local.replace(fold=1).utcoffset()
        assert now_off is not None
        assert later_off is not None
        if later_off < now_off:
            wall -= now_off - later_off
    return wall


def _floor(wall: datetime, zone: ZoneInfo) -> datetime:
    """A lower bound of every instant of ``wall``, non-decreasing enough to stop a search."""
    off0 = wall.replace(tzinfo=zone, fold=0).utcoffset()
    off1 = wall.replace(tzinfo=zone, fold=1).utcoffset()
    assert off0 is not None
    assert off1 is not None
    return wall.replace(tzinfo=UTC) - max(off0, off1)


WallTimes = Callable[[datetime], Iterator[datetime]]
"""Given a naive start, yields matching naive wall times strictly after it, ascending."""


def next_instant(
    instant: datetime, zone: ZoneInfo, walls: WallTimes, *, fixed: bool
) -> datetime | None:
    """The first instant strictly after ``instant`` among the instants of ``walls``' times.

    Wall times map to instants almost monotonically; folds break that, so the search keeps
    the best instant found and stops once a wall time's lowest possible instant passes it.
    (The earliest instant of a wall time never decreases as the wall time grows.)
    """
    best: datetime | None = None
    for wall in walls(earliest_wall(instant, zone) - _SECOND):
        if best is not None and _floor(wall, zone) >= best:
            break
        candidates = instants_for(wall, zone, fixed=fixed)
        if candidates and candidates[0] > instant:
            # The earliest instant of later wall times is no earlier than this one: done.
            return candidates[0] if best is None else min(best, candidates[0])
        for candidate in candidates[1:]:
            if candidate > instant and (best is None or candidate < best):
                best = candidate
    return best
