"""The activity charts: runs per minute by outcome (stacked bars) and lateness p50/p99 (lines).

Pure: the minutes of :func:`gnomon.run_stats.run_activity` in, shapes in SVG user units out;
the template draws them as inline SVG (no script, no CDN).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from gnomon.models import RunStatus
from gnomon.run_stats import Minute

WIDTH, HEIGHT, LEFT, TOP, BOTTOM = 960.0, 200.0, 48.0, 12.0, 24.0
GROUPS = {  # a bar's parts, bottom up; each colours like the status pills
    "succeeded": (RunStatus.SUCCEEDED,),
    "failed": (RunStatus.FAILED, RunStatus.TIMED_OUT, RunStatus.LOST),
    "not run": (RunStatus.CANCELLED, RunStatus.SKIPPED, RunStatus.MISSED),
}


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    group: str
    title: str


@dataclass(frozen=True, slots=True)
class Axis:
    y: float
    label: str


@dataclass(frozen=True, slots=True)
class Chart:
    width: float = WIDTH
    height: float = HEIGHT
    left: float = LEFT
    bars: list[Bar] = field(default_factory=list)
    lines: dict[str, str] = field(default_factory=dict)  # name -> SVG points
    axis: list[Axis] = field(default_factory=list)
    ticks: list[Axis] = field(default_factory=list)  # x positions of hours (y unused: x)
    peak: float = 0.0


def _scale(peak: float) -> float:
    """A round top for the y axis: 1, 2 or 5 times a power of 10, at or above ``peak``."""
    if peak <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(peak))
    return next(f * power for f in (1, 2, 5, 10) if f * power >= peak * (1 - 1e-9))


def _frame(minutes: list[Minute], top: float, unit: str) -> tuple[list[Axis], list[Axis]]:
    plot = HEIGHT - TOP - BOTTOM
    axis = [Axis(TOP + plot * (1 - f), f"{top * f:g}{unit}") for f in (0, 0.5, 1)]
    step = (WIDTH - LEFT) / max(1, len(minutes))
    ticks = [
        Axis(LEFT + i * step, m.start.strftime("%H:%M"))
        for i, m in enumerate(minutes)
        if m.start.minute == 0
    ]
    return axis, ticks


def outcome_chart(minutes: list[Minute]) -> Chart:
    """One stacked bar per minute: how many runs finished, by outcome group."""
    totals = [sum(m.outcomes.values()) for m in minutes]
    top = _scale(max(totals, default=0))
    plot, step = HEIGHT - TOP - BOTTOM, (WIDTH - LEFT) / max(1, len(minutes))
    bars: list[Bar] = []
    for i, minute in enumerate(minutes):
        base = HEIGHT - BOTTOM
        for group, statuses in GROUPS.items():
            count = sum(minute.outcomes.get(s, 0) for s in statuses)
            if not count:
                continue
            height = plot * count / top
            base -= height
            title = f"{minute.start:%H:%M} UTC · {count} {group}"
            bars.append(
                Bar(
                    round(LEFT + i * step, 2),
                    round(base, 2),
                    round(max(step - 1, 1), 2),
                    round(height, 2),
                    group.replace(" ", "-"),
                    title,
                )
            )
    axis, ticks = _frame(minutes, top, "")
    return Chart(bars=bars, axis=axis, ticks=ticks, peak=max(totals, default=0))


def lateness_chart(minutes: list[Minute]) -> Chart:
    """Two lines over the minutes that had runs: lateness p50 and p99, in seconds."""
    values = [v for m in minutes for v in (m.lateness_p50, m.lateness_p99) if v is not None]
    top = _scale(max(values, default=0.0))
    plot, step = HEIGHT - TOP - BOTTOM, (WIDTH - LEFT) / max(1, len(minutes))
    lines: dict[str, str] = {}
    for name in ("p50", "p99"):
        points = []
        for i, minute in enumerate(minutes):
            value = getattr(minute, f"lateness_{name}")
            if value is not None:
                x, y = LEFT + (i + 0.5) * step, TOP + plot * (1 - value / top)
                points.append(f"{x:.1f},{y:.1f}")
        lines[name] = " ".join(points)
    axis, ticks = _frame(minutes, top, " s")
    return Chart(lines=lines, axis=axis, ticks=ticks, peak=max(values, default=0.0))
