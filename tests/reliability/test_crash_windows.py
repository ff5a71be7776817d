"""Crash windows that a ``kill -9`` hits only by chance, produced on purpose in one process.

A process that claims a run and dies before calling its action leaves the run ``running``
with a lease. RELIABILITY #3 asks that such a fire still runs, on another process, once the
lease expires. The claim is made here through the store, exactly as a scheduler makes it,
and the "dead" process then does nothing; a live scheduler on the same database takes over
with a FakeClock, so the 30 s lease costs no real time.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gnomon.clock import FakeClock
from gnomon.definitions import define_job, python
from gnomon.models import RunStatus
from gnomon.planning import planner_at
from gnomon.scheduler import Scheduler
from gnomon.triggers import AtTrigger
from tests.reliability.ledger import REFERENCE, read

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LEASE = 30.0


planner = planner_at


def test_a_fire_claimed_by_a_process_that_died_before_running_it_still_runs(
    tmp_path: Path,
) -> None:
    db, ledger = str(tmp_path / "gnomon.db"), tmp_path / "ledger.jsonl"
    clock = FakeClock(T0)
    fire_at = T0 + timedelta(seconds=10)
    with Scheduler(db, clock=clock, lease=LEASE) as live:
        job = define_job(AtTrigger(fire_at), python(REFERENCE, path=str(ledger)), now=T0, id="once")
        live.add_many([job])
        now = clock.advance(10)
        # the process that dies: records the fire and claims its run, then never runs it
        assert live.store.advance_jobs(now, planner(now)).runs == 1
        claimed = live.store.claim_runs(now, "elsewhere:999999:dead", 8, LEASE)
        assert [c.run.scheduled_for for c in claimed] == [fire_at]

        for _ in range(3):  # past the lease, and past any retry's backoff
            clock.advance(LEASE + 1)
            live.tick()
            assert live.wait_idle(10)
        statuses = sorted(r.status for r in live.runs("once"))
    assert [e.fire for e in read(ledger)] == [("once", fire_at)], statuses
    assert RunStatus.SUCCEEDED in statuses


def test_a_run_whose_claim_expired_before_it_started_is_not_executed(tmp_path: Path) -> None:
    """RELIABILITY #6 in one process: a replica claims a run and freezes (SIGSTOP, a long GC
    pause) before a worker starts it; past the lease another replica takes the run back and
    runs it. When the frozen replica continues, its worker must not run the stale claim."""
    db, ledger = str(tmp_path / "gnomon.db"), tmp_path / "ledger.jsonl"
    clock = FakeClock(T0)
    fire_at = T0 + timedelta(seconds=10)
    with (
        Scheduler(db, clock=clock, lease=LEASE, worker_id="frozen:1:a") as frozen,
        Scheduler(db, clock=clock, lease=LEASE, worker_id="other:2:b") as other,
    ):
        job = define_job(AtTrigger(fire_at), python(REFERENCE, path=str(ledger)), now=T0, id="once")
        frozen.add_many([job])
        now = clock.advance(10)
        assert frozen.store.advance_jobs(now, planner(now)).runs == 1
        claimed = frozen.store.claim_runs(now, frozen.worker_id, 8, LEASE)
        assert len(claimed) == 1
        # ... frozen here, between the claim and a worker starting the run ...
        clock.advance(LEASE + 1)
        other.tick()
        assert other.wait_idle(10)
        assert [e.pid for e in read(ledger)] == [os.getpid()]  # the other replica ran it
        # ... continued: the claim is handed to the frozen replica's workers as it would be
        frozen.dispatcher.submit(claimed)
        assert frozen.wait_idle(10)
    assert [e.fire for e in read(ledger)] == [("once", fire_at)], "the stale claim ran again"
