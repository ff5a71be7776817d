"""One-shot trigger: fires once at an instant."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from gnomon.instants import require_aware
from gnomon.triggers.base import register


@register
@dataclass(frozen=True, slots=True)
class AtTrigger:
    """Fires once at ``at`` (UTC); ``tz`` is the zone it is shown in."""

    kind: ClassVar[str] = "at"
    at: datetime
    tz: str = "UTC"

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", require_aware(self.at, "one-shot time"))

    def next_after(self, instant: datetime) -> datetime | None:
        return self.at if self.at > instant else None

    def describe(self) -> str:
        local = self.at.astimezone(ZoneInfo(self.tz))
        return f"Once, at {local:%Y-%m-%d %H:%M:%S} {self.tz}"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "v": 1, "at": self.at.isoformat(), "tz": self.tz}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AtTrigger:
        return cls(datetime.fromisoformat(data["at"]), data.get("tz", "UTC"))
