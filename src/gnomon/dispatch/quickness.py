"""What the local dispatcher has learnt of how long runs take here, and so which runs its timer
thread may execute itself instead of waking a worker (``LocalDispatcher._inline_locked``).

A job whose last run here was quick (under :data:`QUICK`) may run in the timer. So may the
first run here of a job whose action kind's last :data:`TRUSTED` runs (of any jobs) were all
quick — a scheduler starting with thousands of jobs runs their first round that way — one
such untried job per kind at a time; once one turns out slow, the kind's untried jobs go to
the workers until the kind has been quick :data:`TRUSTED` times in a row again.

:class:`Quickness` holds no lock of its own: the dispatcher calls it under its lock.
"""

from __future__ import annotations

from gnomon.store.rows import ClaimedRun

QUICK = 0.001
"""A run shorter than this (seconds) is quick: its worker sleeps if another one is awake."""
KNOWN_JOBS = 10_000
"""Jobs whose last run's duration is remembered, at most: past that they are all forgotten and
learnt again."""
TRUSTED = 100
"""Quick runs in a row of an action kind (of any jobs) after which a job of that kind that
has not run here yet may run in the timer's thread."""


class Quickness:
    """Run durations seen here, by job and by action kind (see the module docstring)."""

    def __init__(self) -> None:
        self._last: dict[str, float] = {}  # job id -> its last run's duration here (s)
        self._streaks: dict[str, int] = {}  # action kind -> its quick runs in a row here
        self._trying: dict[str, int] = {}  # action kind -> its untried job's run in a timer

    def take(self, item: ClaimedRun) -> bool:
        """May the timer execute ``item`` itself? If so and its job is untried, the try is
        its kind's until :meth:`tried`."""
        last = self._last.get(item.run.job_id)
        if last is not None:
            return last < QUICK
        kind = item.action.kind
        if self._streaks.get(kind, 0) < TRUSTED or kind in self._trying:
            return False
        self._trying[kind] = item.run.id
        return True

    def tried(self, item: ClaimedRun) -> None:
        """``item``, taken by :meth:`take`, has ended: its kind may try another untried job."""
        if self._trying.get(item.action.kind) == item.run.id:
            del self._trying[item.action.kind]

    @property
    def trying(self) -> bool:
        """Is an untried job's run executing in a timer (a cheap look before the lock)?"""
        return bool(self._trying)

    def ran(self, item: ClaimedRun, took: float) -> bool:
        """Note that ``item`` ran for ``took`` seconds; True if that was quick."""
        job_id = item.run.job_id
        if len(self._last) >= KNOWN_JOBS and job_id not in self._last:
            self._last.clear()
        self._last[job_id] = took
        quick = took < QUICK
        kind = item.action.kind
        self._streaks[kind] = self._streaks.get(kind, 0) + 1 if quick else 0
        return quick
