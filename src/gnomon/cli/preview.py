"""What ``gnomon next`` prints: a schedule's description and next fires.

The console script runs ``next`` without importing Typer (see :mod:`gnomon.cli.command`):
this module imports nothing of the Typer app (``gnomon.cli``'s ``__init__`` loads nothing).
"""

from __future__ import annotations

import json
import sys
from datetime import datetime

from gnomon.errors import GnomonError, InvalidTrigger
from gnomon.instants import iso


def next_fires(
    spec: str,
    *,
    tz: str = "UTC",
    after: str | None = None,
    count: int = 5,
    lat: float | None = None,
    lon: float | None = None,
    dst: str = "cron",
    as_json: bool = False,
) -> None:
    """Describe SPEC and print its next fires; a refused SPEC exits 2 with one line."""
    try:
        description, fires = _plan(spec, tz=tz, after=after, count=count, lat=lat, lon=lon, dst=dst)
    except GnomonError as exc:
        print(f"error: {exc}", file=sys.stderr)  # noqa: T201 - the fast path of gnomon next prints without Typer
        sys.exit(2)
    if as_json:
        print(json.dumps({"description": description, "fires": [iso(f) for f in fires]}))  # noqa: T201 - the fast path of gnomon next prints without Typer
    else:
        _show_table(description, fires, tz)


def _plan(
    spec: str,
    *,
    tz: str,
    after: str | None,
    count: int,
    lat: float | None,
    lon: float | None,
    dst: str,
) -> tuple[str, list[datetime]]:
    """The description and up to ``count`` fires of ``spec``; raises ``GnomonError``."""
    from gnomon.triggers import parse
    from gnomon.triggers.base import next_fires

    if (lat is None) != (lon is None):
        raise InvalidTrigger("give both --lat and --lon, or neither")
    location = (lat, lon) if lat is not None and lon is not None else None
    start = _start(after, tz)
    trigger = parse(spec, tz=tz, now=start, location=location, dst=dst)
    return trigger.describe(), next_fires(trigger, start, count)


def _start(after: str | None, tz: str) -> datetime:
    from gnomon.limits import RANGE, check_instant
    from gnomon.triggers.wallclock import instants_for
    from gnomon.triggers.zones import zone

    if after is None:
        from gnomon.clock import SystemClock

        return SystemClock().now()
    try:
        value = datetime.fromisoformat(after.strip())
    except ValueError:
        raise InvalidTrigger(f"--after {after!r} is not an ISO 8601 date-time") from None
    try:
        if value.tzinfo is None:
            value = instants_for(value, zone(tz), fixed=True)[0]
        return check_instant(value, "--after")
    except GnomonError:
        raise
    except (OverflowError, ValueError):  # a local time past year 9999 in UTC
        raise InvalidTrigger(f"--after {after!r} is out of range: give a time {RANGE}") from None


def _show_table(description: str, fires: list[datetime], tz: str) -> None:
    from zoneinfo import ZoneInfo

    from rich.table import Table

    from gnomon.cli.console import new_console

    table = Table(title=description, title_justify="left")
    table.add_column("#", justify="right")
    table.add_column(f"local ({tz})")
    table.add_column("UTC")
    zone = ZoneInfo(tz)
    for number, fire in enumerate(fires, 1):
        local = fire.astimezone(zone)
        table.add_row(str(number), f"{local:%Y-%m-%d %a %H:%M:%S %z}", iso(fire))
    console = new_console()
    console.print(table)
    if not fires:
        console.print("No fire left.")
