"""The timeline picture: upcoming fires of jobs over the next 24 hours or 7 days.

Pure: jobs and ``now`` in, a :class:`Timeline` of rows out (x positions in SVG user units);
the template draws it as inline SVG. A row with up to :data:`MAX_MARKS` fires in the window
draws every fire; a denser row draws its density instead: the window cut into
:data:`BINS` slots, each as dark as its share of the row's busiest slot, with its count on
hover. Counts are exact while a row has at most :data:`EXACT` fires; beyond that each
remaining slot is sampled (its first :data:`SAMPLE` fires give its rate) and the counts
are marked as estimates (``≈``), never clipped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from gnomon.instants import iso
from gnomon.models import Job
from gnomon.redaction import redact_text

WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7)}
MAX_MARKS = 120  # fires drawn one by one; a denser row is drawn as a density
EXACT = 1_500  # fires counted one by one per row (a cron step costs ~0.2 ms); then sampled
BINS = 152  # density slots across the chart (5 units each)
SAMPLE = 4  # fires read per slot to estimate a sampled slot's count
LABEL_WIDTH, CHART_WIDTH, ROW_HEIGHT, TOP = 190.0, 760.0, 26.0, 26.0


@dataclass(frozen=True, slots=True)
class Mark:
    x: float
    at: str  # ISO time, for the tooltip


@dataclass(frozen=True, slots=True)
class Bin:
    x: float
    width: float
    count: float
    shade: float  # 0..1: its share of the row's busiest slot
    title: str


@dataclass(frozen=True, slots=True)
class Row:
    job_id: str
    label: str
    y: float
    marks: list[Mark]  # every fire, when there are at most MAX_MARKS
    total: int  # fires in the window
    bins: list[Bin] = field(default_factory=list)  # the density, for denser rows
    estimated: bool = False  # ``total`` and the bins' counts were sampled

    @property
    def count_label(self) -> str:
        return f"≈{_short(self.total)}" if self.estimated else _short(self.total)


def _short(n: int) -> str:
    return f"{n / 1e6:.1f}M" if n >= 10**6 else f"{n / 1e3:.1f}k" if n >= 10**4 else str(n)


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


def _exact(job: Job, start: datetime, end: datetime) -> tuple[list[datetime], datetime | None]:
    """Fires in ``[start, end]`` one by one, up to :data:`EXACT`; and where counting stopped
    (None: the whole window was counted)."""
    fires: list[datetime] = []
    fire = job.next_fire_at
    while fire is not None and fire < start:
        fire = job.trigger.next_after(fire)
    while fire is not None and fire <= end:
        if len(fires) == EXACT:
            return fires, fire
        fires.append(fire)
        fire = job.trigger.next_after(fire)
    return fires, None


def _sampled(job: Job, since: datetime, end: datetime) -> float:
    """About how many fires fall in ``[since, end)``: the spacing of its first
    :data:`SAMPLE` fires gives the rate; fewer than that are counted exactly."""
    fire = job.trigger.next_after(since - timedelta(microseconds=1))
    seen: list[datetime] = []
    while fire is not None and fire < end:
        seen.append(fire)
        if len(seen) == SAMPLE:
            spacing = (seen[-1] - seen[0]) / (SAMPLE - 1)
            return float(math.ceil((end - seen[0]) / spacing)) if spacing else float(SAMPLE)
        fire = job.trigger.next_after(fire)
    return float(len(seen))


def _density(
    job: Job, start: datetime, span: timedelta, fires: list[datetime], stop: datetime | None
) -> tuple[list[Bin], float]:
    """The density bins of a dense row, and its (maybe estimated) total."""
    step = span / BINS
    counts = [0.0] * BINS
    for fire in fires:
        counts[min(BINS - 1, int((fire - start) / step))] += 1
    if stop is not None:  # sample the slots counting did not reach
        first = min(BINS - 1, int((stop - start) / step))
        counts[first] += _sampled(job, stop, start + step * (first + 1))
        for i in range(first + 1, BINS):
            counts[i] = _sampled(job, start + step * i, start + step * (i + 1))
    peak, width = max(counts) or 1.0, CHART_WIDTH / BINS
    about = "≈" if stop is not None else ""
    bins = [
        Bin(
            round(LABEL_WIDTH + i * width, 1),
            round(width, 1),
            n,
            round(n / peak, 3),
            f"{iso(start + step * i)} to {iso(start + step * (i + 1))}: {about}{round(n)} fires",
        )
        for i, n in enumerate(counts)
        if n
    ]
    return bins, sum(counts)


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
        fires, stop = _exact(job, now, end)
        if not fires:
            continue
        label = redact_text(job.name)
        label = label if len(label) <= 26 else label[:25] + "…"
        y = TOP + ROW_HEIGHT * len(rows)
        if len(fires) <= MAX_MARKS and stop is None:
            marks = [Mark(_x(f, now, span), iso(f)) for f in fires]
            rows.append(Row(job.id, label, y, marks, len(fires)))
            continue
        bins, total = _density(job, now, span, fires, stop)
        rows.append(Row(job.id, label, y, [], round(total), bins, stop is not None))
    height = TOP + ROW_HEIGHT * max(1, len(rows)) + 14
    return Timeline(window, now, end, rows, _ticks(now, span, window), height=height)
