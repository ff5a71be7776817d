"""Fixed-interval trigger: real elapsed time, unaffected by DST."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from gnomon.errors import InvalidTrigger
from gnomon.instants import require_aware
from gnomon.triggers.base import register


def describe_seconds(seconds: float) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            n = int(seconds // size)
            return f"{n} {unit}" + ("s" if n != 1 else "")
    n_s = int(seconds) if float(seconds).is_integer() else seconds
    return f"{n_s} second" + ("s" if n_s != 1 else "")


@register
@dataclass(frozen=True, slots=True)
class IntervalTrigger:
    """Fires at ``start + k * every`` for k = 0, 1, 2, ... (instants in UTC)."""

    kind: ClassVar[str] = "interval"
    every: timedelta
    start: datetime

    def __post_init__(self) -> None:
        if self.every <= timedelta(0):
            raise InvalidTrigger(
                f"interval: {self.every.total_seconds():g} seconds must be more than zero"
            )
        object.__setattr__(self, "start", require_aware(self.start, "interval start"))

    def next_after(self, instant: datetime) -> datetime | None:
        if instant < self.start:
            return self.start
        periods = (instant - self.start) // self.every + 1
        return self.start + periods * self.every

    def describe(self) -> str:
        return f"Every {describe_seconds(self.every.total_seconds())}"

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "v": 1,
            "every": self.every.total_seconds(),
            "start": self.start.isoformat(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> IntervalTrigger:
        return cls(timedelta(seconds=float(data["every"])), datetime.fromisoformat(data["start"]))
