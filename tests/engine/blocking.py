"""Python actions for scheduler tests, referenced as ``"tests.engine.blocking:<name>"``.

``wait`` blocks until the test lets the run go — on an event, never on a timer — so overlap
tests can hold a run "in progress" for as long as they need. Runs are grouped per job in a
:class:`Gate` (``gate(job_id)``), which also records what every call received.

The run's own ``ctx.cancelled`` event is what the blocked call waits on: the scheduler sets
it to cancel the run (``overlap=replace``), and :meth:`Gate.release` sets it to let the run
finish normally. The call then tells the two apart and reports ``cancelled`` or success.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from gnomon import Outcome, RunContext, RunStatus
from gnomon.triggers import register

SAFETY = 20.0  # seconds: a test that forgets to release must fail, not hang the suite


class Gate:
    """The runs of one job that called :func:`wait`, and the key that lets them go."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.entered: list[RunContext] = []  # every call, in the order they started
        self.running = 0
        self.most_running = 0  # the most calls blocked at the same time
        self._released: set[int] = set()  # run ids the test let go
        self._done: set[int] = set()  # run ids whose call has returned
        self._opened = False
        self.threads: list[str] = []  # the thread each call ran in
        self.hold = False  # maybe_wait: block (as wait) instead of returning at once

    def enter(self, ctx: RunContext) -> None:
        with self._cond:
            self.entered.append(ctx)
            self.threads.append(threading.current_thread().name)
            self.running += 1
            self.most_running = max(self.most_running, self.running)
            if self._opened:
                self._let_go(ctx)
            self._cond.notify_all()

    def leave(self, ctx: RunContext) -> bool:
        """End a call; True if the test released it (False: the scheduler cancelled it)."""
        with self._cond:
            self.running -= 1
            self._done.add(ctx.run_id)
            self._cond.notify_all()
            return ctx.run_id in self._released

    def wait_entered(self, count: int, timeout: float = 10.0) -> bool:
        """Wait until ``count`` calls have started in all."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self.entered) >= count, timeout)

    def release(self, count: int = 1) -> None:
        """Let the oldest ``count`` blocked calls finish."""
        with self._cond:
            gone = self._released | self._done
            waiting = [c for c in self.entered if c.run_id not in gone]
            for ctx in waiting[:count]:
                self._let_go(ctx)

    def release_run(self, ctx: RunContext) -> None:
        """Let the call of one particular run finish."""
        with self._cond:
            self._let_go(ctx)

    def open(self) -> None:
        """Let every call, now and later, finish at once."""
        with self._cond:
            self._opened = True
            for ctx in self.entered:
                self._let_go(ctx)

    def _let_go(self, ctx: RunContext) -> None:
        self._released.add(ctx.run_id)
        ctx.cancelled.set()


_gates: dict[str, Gate] = {}
_lock = threading.Lock()


def gate(job_id: str) -> Gate:
    with _lock:
        return _gates.setdefault(job_id, Gate())


def open_all() -> None:
    """Let every blocked call of every job go (test teardown)."""
    with _lock:
        gates = list(_gates.values())
        _gates.clear()
    for each in gates:
        each.open()


def wait(ctx: RunContext) -> Any:
    """Block until released by the test (success) or cancelled by the scheduler."""
    held = gate(ctx.job_id)
    held.enter(ctx)
    woken = ctx.cancelled.wait(SAFETY)
    released = held.leave(ctx)
    if not woken:
        return Outcome.failure(f"gate of job {ctx.job_id!r} never opened (test bug)")
    if released:
        return {"attempt": ctx.attempt}
    return Outcome(status=RunStatus.CANCELLED, error="cancelled by the scheduler")


def record(ctx: RunContext, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """Return at once; remember the context (``gate(job_id).entered``)."""
    held = gate(ctx.job_id)
    held.enter(ctx)
    held.leave(ctx)
    return {"args": list(args), "kwargs": kwargs}


def maybe_wait(ctx: RunContext) -> Any:
    """:func:`record` (quick), or :func:`wait` once the test set ``gate(job_id).hold``."""
    return wait(ctx) if gate(ctx.job_id).hold else record(ctx)


async def record_async(ctx: RunContext, value: int) -> int:
    """The async flavour of :func:`record`; returns ``value * 2``."""
    await asyncio.sleep(0)
    record(ctx)
    return value * 2


def plain(value: int) -> int:
    """A function without a context parameter."""
    return value + 1


def fail(ctx: RunContext) -> None:
    """Always fails, after recording the attempt."""
    record(ctx)
    raise RuntimeError(f"boom on attempt {ctx.attempt}")


NOT_CALLABLE = 42  # for the "not callable" bad-input test


def report(ctx: RunContext, status: str) -> Outcome:
    """Return an Outcome with the given status (an action may say how the attempt ended)."""
    record(ctx)
    return Outcome(status=RunStatus(status), error=f"reported {status}")


@register
@dataclass(frozen=True, slots=True)
class BrokenTrigger:
    """A trigger with a bug: fires once at ``first``, then raises when asked for the next."""

    kind: ClassVar[str] = "test-broken"
    first: datetime

    def next_after(self, instant: datetime) -> datetime | None:
        if instant < self.first:
            return self.first
        raise RuntimeError("trigger bug: cannot compute the next fire")

    def describe(self) -> str:
        return "broken on purpose"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "v": 1, "first": self.first.isoformat()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BrokenTrigger:
        return cls(datetime.fromisoformat(data["first"]))


threads: list[str] = []
"""The worker thread of every :func:`record_thread` call (tests clear it)."""


def record_thread(ctx: RunContext) -> None:
    """Return at once; note the worker thread that ran it."""
    with _lock:
        threads.append(threading.current_thread().name)
