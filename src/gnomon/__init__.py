"""gnomon: a durable task scheduler that fires at the right time, once.

The public names below are imported on first use, so ``import gnomon`` (and every command
line tool that does not open the database) starts fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gnomon.actions.base import RunContext
    from gnomon.clock import Clock, FakeClock, SystemClock
    from gnomon.definitions import python, shell
    from gnomon.errors import GnomonError
    from gnomon.mcp.decorator import scheduled_tool
    from gnomon.models import (
        ActionSpec,
        Job,
        JobState,
        Misfire,
        Outcome,
        Overlap,
        Policy,
        Run,
        RunReason,
        RunStatus,
    )
    from gnomon.scheduler import Scheduler, TickReport

__version__ = "0.1.0"
_WHERE = {
    "RunContext": "gnomon.actions.base",
    "Clock": "gnomon.clock",
    "FakeClock": "gnomon.clock",
    "SystemClock": "gnomon.clock",
    "python": "gnomon.definitions",
    "shell": "gnomon.definitions",
    "GnomonError": "gnomon.errors",
    "ActionSpec": "gnomon.models",
    "Job": "gnomon.models",
    "JobState": "gnomon.models",
    "Misfire": "gnomon.models",
    "Outcome": "gnomon.models",
    "Overlap": "gnomon.models",
    "Policy": "gnomon.models",
    "Run": "gnomon.models",
    "RunReason": "gnomon.models",
    "RunStatus": "gnomon.models",
    "scheduled_tool": "gnomon.mcp.decorator",
    "Scheduler": "gnomon.scheduler",
    "TickReport": "gnomon.scheduler",
}
__all__ = [
    "ActionSpec",
    "Clock",
    "FakeClock",
    "GnomonError",
    "Job",
    "JobState",
    "Misfire",
    "Outcome",
    "Overlap",
    "Policy",
    "Run",
    "RunContext",
    "RunReason",
    "RunStatus",
    "Scheduler",
    "SystemClock",
    "TickReport",
    "python",
    "scheduled_tool",
    "shell",
]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'gnomon' has no attribute {name!r}")
