"""Small helpers shared by the trigger tests: list fires, write instants briefly."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from gnomon.triggers import Trigger


def fires(trigger: Trigger, after: datetime, count: int) -> list[datetime]:
    """The next ``count`` fires of ``trigger`` strictly after ``after`` (fewer if it ends)."""
    out: list[datetime] = []
    at: datetime | None = after
    while at is not None and len(out) < count:
        at = trigger.next_after(at)
        if at is not None:
            out.append(at)
    return out


def local(instants: list[datetime], tz: str) -> list[str]:
    """Instants as local ISO strings with their offset, e.g. ``2026-03-29T03:00:00+02:00``."""
    return [i.astimezone(ZoneInfo(tz)).isoformat() for i in instants]


def at(text: str) -> datetime:
    """An aware UTC instant from ISO text with an offset."""
    value = datetime.fromisoformat(text)
    assert value.tzinfo is not None, text
    return value.astimezone(UTC)
