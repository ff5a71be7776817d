"""A run's cancellation flag (``ctx.cancelled``), made cheap for runs never cancelled."""

from __future__ import annotations

import threading
from typing import Any

_CONDITION_MADE = threading.Lock()  # a cancellation flag's condition is made once


class Cancellation(threading.Event):
    """A run's cancellation flag: a :class:`threading.Event` whose condition is made the
    first time something sets, clears or waits on it. Most runs are never cancelled, and a
    quick action never waits: an Event made per run (its condition and lock) cost more than
    the rest of handing the run over."""

    def __init__(self) -> None:  # no super().__init__(): the condition comes when needed
        self._flag = False

    def __getattr__(self, name: str) -> Any:
        if name != "_cond":
            raise AttributeError(name)
        with _CONDITION_MADE:  # one condition, whichever thread asks first
            condition = self.__dict__.get("_cond")
            if condition is None:
                condition = self._cond = threading.Condition(threading.Lock())
        return condition
