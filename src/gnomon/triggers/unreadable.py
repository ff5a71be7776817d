"""A stored trigger gnomon cannot read now (a plugin kind not installed, a newer schema).

Listing and showing jobs must not fail because one job's schedule is unreadable, so the
store hands out this stand-in instead: it describes the problem and keeps the stored JSON
unchanged, and ``next_after`` raises, so the scheduler pauses the job (and the others go on)
instead of guessing when it should fire.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from gnomon.errors import InvalidTrigger


@dataclass(frozen=True, slots=True)
class UnreadableTrigger:
    kind: ClassVar[str] = "unreadable"
    stored: Mapping[str, Any] = field(hash=False)
    problem: str = ""

    def next_after(self, instant: datetime) -> datetime | None:
        raise InvalidTrigger(f"the stored schedule cannot be read: {self.problem}")

    def describe(self) -> str:
        return f"unreadable schedule ({self.problem})"

    def to_json(self) -> dict[str, Any]:
        return dict(self.stored)  # written back unchanged
