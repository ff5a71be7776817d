"""One job the scheduler cannot plan must not stop every other job.

A job stored by a newer gnomon (a trigger kind this version does not know), or whose trigger
raises while planning, used to make every tick raise: ``gnomon up`` died, and died again on
restart. Now the bad job is paused with the reason as an event, and the others fire.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import update

from gnomon.clock import FakeClock
from gnomon.models import JobState
from gnomon.scheduler import Scheduler
from gnomon.store.tables import jobs
from tests.reliability.ledger import read
from tests.reliability.workload import every, next_whole_second, utcnow


def test_a_job_with_an_unknown_trigger_kind_is_paused_and_the_others_fire(
    tmp_path: Path,
) -> None:
    db, ledger = str(tmp_path / "gnomon.db"), tmp_path / "ledger.jsonl"
    t0 = next_whole_second(utcnow(), margin=5)  # the jobs are defined on the real clock
    clock = FakeClock(t0)
    start = t0 + timedelta(seconds=1)
    with Scheduler(db, clock=clock) as scheduler:
        scheduler.add_many([every(name, 1, start, ledger) for name in ("a", "bad", "z")])
        with scheduler.store.engine.begin() as conn:  # as a newer version might store it
            conn.execute(
                update(jobs).where(jobs.c.id == "bad").values(trigger='{"kind": "lunar", "v": 1}')
            )
        for _ in range(3):
            clock.advance(1)
            scheduler.tick()
            assert scheduler.wait_idle(10)
        paused = [e for e in scheduler.events(job_id="bad") if e.kind == "job.paused"]
        with scheduler.store.engine.connect() as conn:
            state = conn.execute(jobs.select().where(jobs.c.id == "bad")).mappings().one()
    fired = sorted({e.job_id for e in read(ledger)})
    assert fired == ["a", "z"]
    assert len(read(ledger)) == 6
    assert state["state"] == JobState.PAUSED.value
    assert state["next_fire_at"] is None
    assert len(paused) == 1
    assert "unknown trigger kind 'lunar'" in paused[0].data["error"]


def test_a_job_this_version_cannot_read_can_still_be_removed(tmp_path: Path) -> None:
    """Removing keeps what the job was in its ``job.removed`` event; a job that cannot be
    read (a trigger kind from a newer version) is removed all the same, with what can be
    read of it."""
    t0 = next_whole_second(utcnow(), margin=5)
    with Scheduler(str(tmp_path / "gnomon.db"), clock=FakeClock(t0)) as scheduler:
        scheduler.add_many([every("bad", 1, t0 + timedelta(seconds=1), tmp_path / "l.jsonl")])
        with scheduler.store.engine.begin() as conn:
            conn.execute(
                update(jobs).where(jobs.c.id == "bad").values(trigger='{"kind": "lunar", "v": 1}')
            )
        scheduler.remove("bad")
        removed = [e for e in scheduler.events(job_id="bad") if e.kind == "job.removed"]
        with scheduler.store.engine.connect() as conn:
            left = conn.execute(jobs.select().where(jobs.c.id == "bad")).first()
    assert left is None
    assert len(removed) == 1
    assert removed[0].data["when"].startswith("unreadable schedule (unknown trigger kind 'lunar'")
    assert removed[0].data["action"] == "python"
