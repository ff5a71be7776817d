"""Options shared by every command (set by the top-level callback)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gnomon.clock import Clock


@dataclass
class CliState:
    db: str | None = None
    verbose: bool = False
    log_format: str | None = None  # --log-format; None: GNOMON_LOG_FORMAT, else text
    clock: Clock | None = None  # tests inject a FakeClock; the command line never sets it


state = CliState()
