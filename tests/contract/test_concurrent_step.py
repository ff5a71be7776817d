"""Several schedulers stepping at once on one database record each fire once and claim each
run once: the unique fire key and the claim's locking (SQLite's single writer, PostgreSQL's
SKIP LOCKED) hold under real concurrency, not only in turn."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select

from gnomon.models import RunStatus
from gnomon.planning import planner_at
from gnomon.store import SqlStore
from gnomon.store.tables import runs
from tests.contract.test_store import T0, make_job

SCHEDULERS = 4
JOBS = 30
STEPS = 6  # each job fires every 10 s: one fire per job per step


def test_concurrent_steps_record_every_fire_once_and_claim_every_run_once(
    open_store: Callable[[], SqlStore],
) -> None:
    stores = [open_store() for _ in range(SCHEDULERS)]
    stores[0].add_jobs([make_job(f"job-{n:02}") for n in range(JOBS)])
    barrier = threading.Barrier(SCHEDULERS)
    claimed: list[list[tuple[int, str]]] = [[] for _ in stores]
    errors: list[BaseException] = []

    def scheduler(index: int) -> None:
        store, worker = stores[index], f"s{index}:1:x"
        try:
            for step in range(1, STEPS + 1):
                now = T0 + timedelta(seconds=10 * step)
                barrier.wait(timeout=60)  # every scheduler steps at the same moment
                # A small batch, so the schedulers interleave within one moment's work.
                for _ in range(JOBS):
                    result, taken, _wake = store.step(
                        now, planner_at(now), limit=5, worker=worker, capacity=7, lease=300
                    )
                    claimed[index] += [(c.run.id, c.run.worker or "") for c in taken]
                    if not result.full and not taken:
                        break
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=scheduler, args=(i,)) for i in range(SCHEDULERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []

    with stores[0].engine.connect() as conn:
        rows = conn.execute(
            select(runs.c.id, runs.c.job_id, runs.c.scheduled_for, runs.c.status, runs.c.worker)
        ).all()
    fires = Counter((r.job_id, r.scheduled_for) for r in rows)
    assert len(fires) == JOBS * STEPS  # every fire recorded…
    assert set(fires.values()) == {1}  # …once
    taken = [run_id for mine in claimed for run_id, _ in mine]
    assert len(taken) == len(set(taken))  # no run claimed twice
    assert sorted(taken) == sorted(r.id for r in rows)  # and every run claimed
    holder = {r.id: r.worker for r in rows}
    assert all(holder[run_id] == worker for mine in claimed for run_id, worker in mine)
    assert {r.status for r in rows} == {RunStatus.RUNNING.value}
