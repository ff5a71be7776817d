"""The Dispatcher seam: how claimed runs get executed, and their outcomes recorded.

The scheduler claims runs in the store and hands them to a dispatcher; the dispatcher
executes each one (with :func:`gnomon.runner.execute_run`) and gets its outcome recorded
(with an :class:`~gnomon.dispatch.recorder.OutcomeRecorder`), wherever the execution
happens: :class:`~gnomon.dispatch.local.LocalDispatcher` runs them on threads of the
scheduler's process. The contract, for any implementation:

- **Ownership.** A run handed to :meth:`Dispatcher.submit` is held by the scheduler's worker
  id (its lease runs from its due time). The dispatcher starts it at its due time, not
  before; it keeps the lease alive (:meth:`heartbeat`) while the run executes, and the run's
  outcome is recorded under that worker id, once. A run the dispatcher will not execute is
  given back by :meth:`drain` (the scheduler hands it back to the store).
- **At least once.** If the process dies, the runs it held are taken back by the store
  (same run id); an outcome recorded before the crash is never run again.
- **Back-pressure.** :meth:`capacity` tells the scheduler how many runs due now to claim;
  :meth:`hungry` whether claiming more now is worth a transaction; ``on_free`` (from
  :class:`DispatchContext`) tells it when that becomes true.
- **Threads.** :meth:`submit`, :meth:`capacity`, :meth:`hungry`, :meth:`heartbeat` and
  :meth:`recheck` are called from the scheduler's loop; :meth:`in_flight`,
  :meth:`wait_idle`, :meth:`drain` and :meth:`shutdown` from any thread. Callbacks of the
  context may be called from the dispatcher's threads and must not block.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from gnomon.clock import Clock
from gnomon.dispatch.journal import OutcomeJournal
from gnomon.errors import StoreUnavailable
from gnomon.store import ClaimedRun, FinishedRun
from gnomon.store.protocol import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DispatchContext:
    """What a scheduler gives the dispatcher it starts."""

    store: Store
    clock: Clock
    worker_id: str  # the holder of the runs the scheduler claims
    lease: float  # seconds a run stays held without a heartbeat
    prefetch: int = 0  # runs due now that may wait in a local queue, at most
    journal: OutcomeJournal | None = None  # where outcomes survive a crash, if anywhere
    on_free: Callable[[], None] = lambda: None  # claiming more is worth it now
    on_recorded: Callable[[Sequence[FinishedRun], bool], None] = lambda batch, wake: None
    """Outcomes were recorded; ``wake``: one of them may let another run start."""


class Dispatcher(Protocol):
    """Executes the runs a scheduler claimed (see the module docstring for the contract)."""

    queues: bool
    """True if the runs are executed by other processes' workers, which start each one by
    id: the scheduler then claims them ``queued`` (see :mod:`gnomon.store.queued`), and the
    dispatcher holds them only while it sends them."""

    def start(self, context: DispatchContext) -> None:
        """Begin: start threads or connections. Called once, before anything else."""

    def describe(self) -> str:
        """Where runs execute, in a few words (for start-up messages and status)."""
        raise NotImplementedError

    def capacity(self) -> int:
        """How many runs due now the scheduler may claim for this dispatcher."""
        raise NotImplementedError

    def hungry(self) -> bool:
        """Is claiming more runs now worth a transaction?"""
        raise NotImplementedError

    def room_ahead(self) -> int:
        """How many runs due later (claimed ahead, waiting for their due time) it may take."""
        raise NotImplementedError

    def submit(self, claimed: Sequence[ClaimedRun]) -> None:
        """Execute each run at its due time (at once if due)."""

    def recheck(self) -> None:
        """The (injected) clock moved on: look at the due times again."""

    def heartbeat(self) -> None:
        """Extend the leases of runs in flight; pass on cancellation requests."""

    # Optional: ``watch(self) -> None``, called each time the scheduler's loop wakes (at
    # least every ``poll`` seconds), for a dispatcher that must look after its own threads
    # or has work for the loop's thread (LocalDispatcher: a timer stuck in a run it started
    # itself is replaced; outcomes left to the loop are recorded). And
    # ``sleeping(self, seconds: float, *, tick: bool) -> None``, called before the loop
    # sleeps for up to ``seconds`` (inf: the loop ends), after which it ticks (``tick``:
    # work falls due) or only looks: until when work left to the loop would wait.

    def in_flight(self) -> list[int]:
        """Ids of runs handed over whose outcome is not recorded yet."""
        raise NotImplementedError

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until no run is in flight (every outcome recorded); False on timeout."""
        raise NotImplementedError

    def drain(self) -> list[int]:
        """Start no more runs; return the ids of those handed over and not started."""
        raise NotImplementedError

    def shutdown(self, wait: bool = True, timeout: float | None = None) -> None:
        """Stop (after :meth:`drain`); with ``wait``, runs executing finish and are recorded
        first, for up to ``timeout`` seconds."""


def stop_cleanly(
    dispatcher: Dispatcher, store: Store, worker_id: str, clock: Clock, timeout: float
) -> bool:
    """Stop ``dispatcher`` as a clean stop does: the runs it holds and has not started go
    back to ``pending`` at once (another scheduler may run them now); runs executing finish
    and are recorded within ``timeout`` seconds, after which those left are handed back too,
    marked as started (never dropped as misfires). True if every run finished in time."""

    def release(run_ids: list[int], *, started: bool) -> None:
        if not run_ids:
            return
        try:
            store.release_runs(run_ids, worker_id, clock.now(), started=started)
        except StoreUnavailable as exc:  # they are taken back when their leases expire
            log.warning("could not hand back %d run(s) (%s)", len(run_ids), exc)

    release(dispatcher.drain(), started=False)
    finished = dispatcher.wait_idle(timeout)
    if not finished:
        left = dispatcher.in_flight()
        log.warning("%d run(s) still running after %.0f s; handing them back", len(left), timeout)
        release(left, started=True)
    dispatcher.shutdown(wait=finished)
    return finished


__all__ = ["DispatchContext", "Dispatcher", "stop_cleanly"]
