"""The Store seam: what the engine (scheduler, dispatchers, recorder) needs of a store.

:class:`~gnomon.store.sql.SqlStore` (SQLite or PostgreSQL) is the one implementation; the
protocol states the contract that any other must keep, in the manner of APScheduler 4's
``abc`` module. Terms:

- A **fire** is a run row ``(job_id, scheduled_for, attempt)``; it is unique, so recording
  it twice is a no-op. A job's fires are recorded, and its ``next_fire_at`` advanced, in the
  same transaction.
- A run is **held** by one worker at a time: ``pending → running`` (claimed, with a lease)
  ``→`` an outcome. Only the holder's outcome or heartbeat counts; a run whose lease expired
  goes back to ``pending`` with the same id (at least once) and is dead-lettered as ``lost``
  after :data:`~gnomon.store.runs.MAX_LOSSES` losses.
- **Atomic** below means: all of it or none of it, visible to other processes at once.
- **May be retried**: the call may be repeated after :class:`~gnomon.errors.StoreUnavailable`
  (the database was away) with the same arguments and the same result; every method raises
  gnomon's own errors (:mod:`gnomon.errors`), never a driver's.

Who owns a run at each moment: the store while ``pending``; the claiming worker from the
claim until its outcome is recorded or its lease expires; then the store again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from gnomon.events import Event
from gnomon.models import Job, JobState, Run, RunReason, RunStatus
from gnomon.planning import FirePlan
from gnomon.store.listen import Subscription
from gnomon.store.rows import ClaimedRun, FinishedRun

if TYPE_CHECKING:
    from gnomon.store.sql import AdvanceResult, Planner


class Store(Protocol):
    """Jobs, runs and events, durable and shared by every process of one deployment."""

    url: str

    # -- jobs -------------------------------------------------------------------------------

    def add_jobs(self, new: Sequence[Job], *, event_data: bool = True) -> None:
        """Store new jobs, all or none (atomic); :class:`JobExists` if an id is taken."""

    def get_job(self, job_id: str) -> Job:
        """The job; :class:`JobNotFound` if there is none."""
        raise NotImplementedError

    def list_jobs(
        self,
        *,
        state: JobState | None = None,
        search: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Job]:
        """Jobs by id, optionally in one state or matching ``search``."""
        raise NotImplementedError

    def save_job(
        self,
        job: Job,
        event: Event,
        *,
        cancel_pending: bool = False,
        fires: FirePlan | None = None,
    ) -> None:
        """Replace a job with ``event`` (and the fires of ``fires``, e.g. a resume's missed
        ones), atomically."""

    def remove_job(self, job_id: str, now: datetime) -> None:
        """Remove a job (its history stays); :class:`JobNotFound` if there is none."""

    # -- the scheduler's step -----------------------------------------------------------------

    def step(  # noqa: PLR0913, PLR0917 - one step's inputs, on the hot path
        self,
        now: datetime,
        planner: Planner,
        limit: int,
        worker: str,
        capacity: int,
        lease: float,
        until: datetime | None = None,
        ahead: int = 0,
        queue: bool = False,
        leases: bool = False,
    ) -> tuple[AdvanceResult, list[ClaimedRun], datetime | None]:
        """One atomic step: record the fires of up to ``limit`` due jobs (by ``until``) and
        advance them; claim for ``worker`` up to ``capacity`` runs due by ``now`` and up to
        ``ahead`` due later by ``until`` (they start at their due time, their lease runs from
        then); return what was done, the runs claimed, and when the next step is needed.
        Safe against concurrent steps of other processes: a fire is recorded once, a run
        claimed once. May be retried. With ``queue``, runs are claimed ``queued``, to be sent
        to a broker's workers (see :mod:`gnomon.store.queued`). The result's ``seen_run`` is
        :meth:`last_run_id` as the step began; with ``leases``, its ``lapsed`` says whether
        :meth:`recover_lost_runs` would find a run to take back."""
        raise NotImplementedError

    def next_wakeup(
        self,
        after: datetime | None = None,
        until: datetime | None = None,
        seen_run: int | None = None,
    ) -> datetime | None:
        """The earliest moment a step has work (a due job or run), None if none is known.
        Runs due by ``after`` are left out (the step at ``after`` saw them), except those
        with an id above ``seen_run`` (recorded after :meth:`last_run_id` said so)."""
        raise NotImplementedError

    def last_run_id(self) -> int:
        """The newest run id, 0 if there is none; read before a step, it tells
        :meth:`next_wakeup` which runs that step may not have seen."""
        raise NotImplementedError

    def add_run(
        self, job_id: str, scheduled_for: datetime, now: datetime, reason: RunReason
    ) -> Run:
        """Record a run outside the schedule (manual, backfill); :class:`Conflict` if that
        fire is recorded already."""
        raise NotImplementedError

    # -- a run's life ---------------------------------------------------------------------------

    def heartbeat(self, run_ids: Sequence[int], worker: str, until: datetime) -> set[int]:
        """Extend ``worker``'s leases to ``until``; return the ids it must stop: cancellation
        was asked, or they are no longer its own. May be retried."""
        raise NotImplementedError

    def finish_runs(self, finished: Sequence[FinishedRun]) -> list[bool]:
        """Record outcomes atomically (and each one's retry, as a new pending run). An
        outcome counts only from the worker that holds the run: False for the others. May
        be retried (an outcome recorded once is refused the second time)."""
        raise NotImplementedError

    # -- runs sent to a broker (see gnomon.store.queued) ---------------------------------------

    def mark_sent(
        self, run_ids: Sequence[int], sender: str, now: datetime, resend_after: float
    ) -> int:
        """The broker confirmed these queued runs' messages: none is sent again before
        ``resend_after`` seconds (or as long as it has waited since due, if longer) unless a
        worker starts it."""
        raise NotImplementedError

    def resend_due(
        self, now: datetime, sender: str, lease: float, limit: int = 500
    ) -> list[ClaimedRun]:
        """Queued runs to publish again (their re-send moment passed), claimed by ``sender``."""
        raise NotImplementedError

    def start_queued(
        self, run_id: int, worker: str, now: datetime, lease: float
    ) -> ClaimedRun | None:
        """Start a queued run by id for ``worker``; None for a duplicate delivery."""
        raise NotImplementedError

    def start_queued_many(
        self, run_ids: Sequence[int], worker: str, now: datetime, lease: float
    ) -> list[ClaimedRun | None]:
        """:meth:`start_queued` for each of ``run_ids`` (distinct), at once; the same order."""
        raise NotImplementedError

    def recover_lost_runs(self, now: datetime, limit: int = 500) -> int:
        """Put runs whose lease expired back to pending (same id), or dead-letter them after
        too many losses; how many."""
        raise NotImplementedError

    def take_back(self, now: datetime, prefix: str, me: str, limit: int = 10_000) -> int:
        """Take back at once the runs held by dead earlier holders of an identity (worker ids
        starting with ``prefix``, other than ``me``); how many."""
        raise NotImplementedError

    def release_runs(
        self, run_ids: Sequence[int], worker: str, now: datetime, *, started: bool = False
    ) -> int:
        """Hand back runs ``worker`` holds and will not finish (a clean stop), atomically."""
        raise NotImplementedError

    # -- history ------------------------------------------------------------------------------

    def list_runs(
        self, job_id: str | None = None, *, limit: int = 50, status: RunStatus | None = None
    ) -> list[Run]:
        """Runs, newest first."""
        raise NotImplementedError

    def list_events(
        self,
        *,
        after_id: int = 0,
        job_id: str | None = None,
        limit: int = 100,
        newest: bool = False,
    ) -> list[Event]:
        """Lifecycle events after ``after_id``, oldest first (``newest``: newest first)."""
        raise NotImplementedError

    # -- waking up ----------------------------------------------------------------------------

    def listen(self, callback: Callable[[], None]) -> Subscription | None:
        """Call ``callback`` (in a thread of the store's, until the subscription is closed)
        soon after another process commits a change that may move a scheduler's next wake-up
        earlier: a job added, changed, paused, resumed or removed, a manual run, runs handed
        or taken back, a retry due within a second. Once more after a lost connection comes
        back (changes may have been missed). Never raises for a database that is away: it
        keeps trying. None if this store cannot tell: callers poll."""
        return None

    # -- housekeeping -------------------------------------------------------------------------

    def checkpoint(self) -> None:
        """Housekeeping between batches, off the scheduler's path (SQLite: a WAL checkpoint)."""

    def checkpoint_due(self) -> bool:
        """Would :meth:`checkpoint` do anything now? (The recorder's thread is woken for it
        only then.)"""
        return False

    def pinned(self) -> AbstractContextManager[None]:
        """Within it, the calling thread may keep connections of its own between
        transactions (a thread that runs them all its life); a no-op by default."""
        return nullcontext()

    def close(self) -> None:
        """Release connections."""


__all__ = ["Store"]
