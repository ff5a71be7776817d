"""The timeline picture: upcoming fires of jobs over the next 24 hours or 7 days.

Pure: jobs and ``now`` in, a :class:`Timeline` of rows and marks (x positions in SVG user
units) out; the template draws it as inline SVG. A row draws at most ``MAX_MARKS`` fires
and says how many there are in all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from gnomon.instants import iso
from gnomon.models import Job
from gnomon.redaction import redact_text

WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7)}
MAX_MARKS = 240
LABEL_WIDTH, CHART_WIDTH, ROW_HEIGHT, TOP = 190.0, 760.0, 26.0, 26.0


@dataclass(frozen=True, slots=True)
class Mark:
    x: float
    at: str  # ISO time, for the tooltip


@dataclass(frozen=True, slots=True)
class Row:
    job_id: str
    label: str
    y: float
    marks: list[Mark]
    total: int  # fires in the window (may exceed the marks drawn)


@dataclass(frozen=True, slots=True)
class Tick:
    x: float
    label: str
    major: bool


@dataclass(frozen=True, slots=True)
class Timeline:
    window: str
    start: datetime
    end: datetime
    rows: list[Row] = field(default_factory=list)
    ticks: list[Tick] = field(default_factory=list)
    width: float = LABEL_WIDTH + CHART_WIDTH + 20
    height: float = TOP + 40

    @property
    def chart_x(self) -> float:
        return LABEL_WIDTH

    @property
    def chart_end(self) -> float:
        return LABEL_WIDTH + CHART_WIDTH


def _x(at: datetime, start: datetime, span: timedelta) -> float:
    return round(LABEL_WIDTH + CHART_WIDTH * ((at - start) / span), 1)


def _fires(job: Job, start: datetime, end: datetime) -> tuple[list[datetime], int]:
    """Up to MAX_MARKS fires in ``[start, end]``, and how many there are (capped at 10,000)."""
    fires: list[datetime] = []
    total, fire = 0, job.next_fire_at
    while fire is not None and fire <= end and total < 10_000:
        if fire >= start:
            total += 1
            if len(fires) < MAX_MARKS:
                fires.append(fire)
        fire = job.trigger.next_after(fire)
    return fires, total


def _ticks(start: datetime, span: timedelta, window: str) -> list[Tick]:
    step = timedelta(hours=3) if window == "24h" else timedelta(days=1)
    first = start.replace(minute=0, second=0, microsecond=0)
    if window == "7d":
        first = first.replace(hour=0)
    ticks, at = [], first + step
    if window == "24h":
        at = first + timedelta(hours=(3 - first.hour % 3) or 3)
    while at < start + span:
        if _x(at, start, span) < LABEL_WIDTH + 40:  # leave room for the "now" label
            at += step
            continue
        major = at.hour == 0
        label = at.strftime("%a %d") if window == "7d" or major else at.strftime("%H:%M")
        ticks.append(Tick(_x(at, start, span), label, major))
        at += step
    return ticks


def build_timeline(jobs: list[Job], now: datetime, window: str = "24h") -> Timeline:
    """Rows for ``jobs`` (active ones, in the given order) over ``window`` from ``now`` (UTC)."""
    span = WINDOWS.get(window, WINDOWS["24h"])
    window = window if window in WINDOWS else "24h"
    end = now + span
    rows: list[Row] = []
    for job in jobs:
        fires, total = _fires(job, now, end)
        if not fires:
            continue
        label = redact_text(job.name)
        label = label if len(label) <= 26 else label[:25] + "…"
        y = TOP + ROW_HEIGHT * len(rows)
        rows.append(Row(job.id, label, y, [Mark(_x(f, now, span), iso(f)) for f in fires], total))
    height = TOP + ROW_HEIGHT * max(1, len(rows)) + 14
    return Timeline(window, now, end, rows, _ticks(now, span, window), height=height)
