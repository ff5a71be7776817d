"""Courtesy with the GIL: long Python work lets a thread that is due run first.

A run falls due while the scheduler's thread records a few hundred fires (a step) or the
recorder writes a batch of outcomes: pure Python work that holds the GIL for milliseconds.
The timer that hands the run over, and the worker that executes it, then wait for the GIL
until the interpreter takes it away from the busy thread — its switch interval, 5 ms — and
the run starts that late.

So the threads that will need the GIL soon say when (:func:`want`: the timer, the moment
it wakes next, or now while runs it handed over wait for a worker; a worker that took them,
the timer's moment again), and loops that do long Python work call
:func:`courtesy` between items: past that moment it sleeps for an instant, which hands the
GIL over (a sleep of zero seconds releases it long enough for a waiting thread to take it;
a bare release, e.g. ``select`` with no timeout, does not: the busy thread takes it straight
back). Otherwise it costs a clock read. Changing the switch interval instead would act on
every thread of the host application. ``bench/RESULTS.md`` has the measurements.

One moment for the process: with several dispatchers in one process, the last to speak
wins; the others' runs may then wait for the GIL as before, never more.
"""

from __future__ import annotations

import time

NEVER = float("inf")
_wanted = NEVER  # time.monotonic() from which another thread wants the GIL


def want(at: float) -> None:
    """A thread will need the GIL from ``at`` (``time.monotonic()``; :data:`NEVER`: not)."""
    global _wanted  # one moment for the process (see the module docstring)
    _wanted = at


def courtesy() -> None:
    """Between items of long Python work: if a thread wants the GIL by now, let it run."""
    if time.monotonic() >= _wanted:
        time.sleep(0)


__all__ = ["NEVER", "courtesy", "want"]
