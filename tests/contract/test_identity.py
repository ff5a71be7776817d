"""Scheduler identities and taking runs back, on SQLite and on the real PostgreSQL.

An identity is held by one live process at a time (a ``flock`` on SQLite, a session advisory
lock on PostgreSQL); whoever obtains it knows every earlier holder is dead and takes back the
runs they held at once (``take_back``). A clean stop hands runs back itself
(``release_runs``). See :mod:`gnomon.store.identity`.
"""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest

from gnomon.errors import ConfigError
from gnomon.models import ActionSpec, Job, JobState, Policy, RunReason, RunStatus
from gnomon.store import SqlStore
from gnomon.store.identity import (
    check_identity,
    default_identity,
    hold_identity,
    try_hold,
    worker_prefix,
)
from gnomon.triggers import AtTrigger

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
HOLDER = """
import sys, time
from gnomon.store import SqlStore
from gnomon.store.identity import hold_identity
store = SqlStore(sys.argv[1])
hold = hold_identity(store.engine, "victim")
print("held", flush=True)
time.sleep(120)
"""


def job(job_id: str) -> Job:
    return Job(
        id=job_id,
        name=job_id,
        trigger=AtTrigger(T0 + timedelta(days=1)),
        action=ActionSpec(kind="python", config={"ref": "x:y"}),
        policy=Policy(),
        state=JobState.ACTIVE,
        next_fire_at=T0 + timedelta(days=1),
        created_at=T0,
        updated_at=T0,
    )


def claimed_by(store: SqlStore, workers: list[str]) -> dict[str, int]:
    """One manual run per worker, claimed by it; returns worker -> run id."""
    store.add_jobs([job(f"j{i}") for i in range(len(workers))])
    ids = {}
    for i, worker in enumerate(workers):
        store.add_run(f"j{i}", T0, T0, RunReason.MANUAL)
        [claimed] = store.claim_runs(T0, worker, 1, 30.0)
        ids[worker] = claimed.run.id
    return ids


def test_an_identity_is_held_by_one_holder_at_a_time(store_url: str) -> None:
    store = SqlStore(store_url)
    try:
        first = hold_identity(store.engine, "replica-a")
        with pytest.raises(ConfigError, match="'replica-a' is held by another running"):
            hold_identity(store.engine, "replica-a")
        other = hold_identity(store.engine, "replica-b")  # another name is free
        first.release()
        again = hold_identity(store.engine, "replica-a")
        assert again.identity == "replica-a"
        assert again.alive()
        for hold in (other, again):
            hold.release()
    finally:
        store.close()


def test_default_identities_are_the_host_name_then_numbered_slots(store_url: str) -> None:
    store = SqlStore(store_url)
    try:
        holds = [hold_identity(store.engine, None) for _ in range(3)]
        base = default_identity()
        assert [h.identity for h in holds] == [base, f"{base}-2", f"{base}-3"]
        holds[0].release()  # the first slot is free again: a restart takes it
        holds[0] = hold_identity(store.engine, None)
        assert holds[0].identity == base
        for hold in holds:
            hold.release()
    finally:
        store.close()


@pytest.mark.parametrize("bad", ["", "a b", "x:y", "-lead", "é", "a" * 65])
def test_a_bad_identity_is_refused_with_the_rule(bad: str) -> None:
    with pytest.raises(ConfigError, match="use 1-64 letters, digits"):
        check_identity(bad)


def test_the_identity_of_a_killed_process_is_free_at_once(store_url: str) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, store_url], stdout=subprocess.PIPE, text=True
    )
    store = SqlStore(store_url)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        assert try_hold(store.engine, "victim") is None  # alive: held
        holder.kill()
        holder.wait(10)
        # The kernel closes the dead process's file and socket at once; PostgreSQL notices
        # the closed connection within milliseconds. Poll a little for the server.
        deadline = time.monotonic() + 5
        while (hold := try_hold(store.engine, "victim")) is None:
            assert time.monotonic() < deadline, "the killed holder's lock was never let go"
            time.sleep(0.02)
        hold.release()
    finally:
        if holder.poll() is None:
            holder.kill()
        if holder.stdout is not None:
            holder.stdout.close()
        store.close()


def test_take_back_returns_the_runs_of_earlier_holders_of_the_identity_only(
    store_url: str,
) -> None:
    store = SqlStore(store_url)
    try:
        workers = ["host:101:a", "host:102:b", "host-2:103:c", "other:104:d", "host:200:me"]
        ids = claimed_by(store, workers)
        now = T0 + timedelta(seconds=1)  # long before any lease expires
        assert store.take_back(now, worker_prefix("host"), "host:200:me") == 2
        status = {r.worker or str(r.id): r.status for r in store.list_runs(limit=50)}
        assert status["host-2:103:c"] is RunStatus.RUNNING
        assert status["other:104:d"] is RunStatus.RUNNING
        assert status["host:200:me"] is RunStatus.RUNNING  # its own runs stay
        for worker in ("host:101:a", "host:102:b"):
            run = store.get_run(ids[worker])
            assert (run.status, run.worker, run.attempt) == (RunStatus.PENDING, None, 1)
            assert run.error is not None
            assert "scheduler died and was restarted" in run.error
        lost = [e for e in store.list_events(limit=100) if e.kind == "run.lost"]
        assert sorted(e.run_id or 0 for e in lost) == sorted([ids["host:101:a"], ids["host:102:b"]])
    finally:
        store.close()


def test_a_run_taken_back_over_and_over_is_dead_lettered(store_url: str) -> None:
    store = SqlStore(store_url)
    try:
        run_id = claimed_by(store, ["host:1:a"])["host:1:a"]
        for attempt in range(4):  # the poison run kills its scheduler each time
            now = T0 + timedelta(seconds=10 * (attempt + 1))
            assert store.take_back(now, "host:", f"host:{attempt + 2}:x") == 1
            if attempt < 3:
                [again] = store.claim_runs(now, f"host:{attempt + 2}:x", 1, 30.0)
                assert again.run.id == run_id
        assert store.get_run(run_id).status is RunStatus.LOST
    finally:
        store.close()


def test_release_hands_runs_back_to_pending_in_one_step(store_url: str) -> None:
    store = SqlStore(store_url)
    try:
        ids = claimed_by(store, ["me:1:a", "me:1:a", "me:1:a", "else:2:b"])
        mine = [
            r.id
            for r in store.list_runs(status=RunStatus.RUNNING, limit=10)
            if r.worker == "me:1:a"
        ]
        not_started, started = mine[:2], mine[2:]
        now = T0 + timedelta(seconds=1)
        assert store.release_runs(not_started, "me:1:a", now) == 2
        assert store.release_runs(started, "me:1:a", now, started=True) == 1
        assert store.release_runs([ids["else:2:b"]], "me:1:a", now) == 0  # not its own
        for run_id in not_started:
            run = store.get_run(run_id)
            assert (run.status, run.worker, run.started_at, run.error) == (
                RunStatus.PENDING,
                None,
                None,
                None,
            )
        [run] = [store.get_run(i) for i in started]
        assert run.status is RunStatus.PENDING
        assert run.error is not None
        assert "stopped before it finished" in run.error
        assert store.get_run(ids["else:2:b"]).status is RunStatus.RUNNING
        released = [e for e in store.list_events(limit=100) if e.kind == "run.released"]
        assert len(released) == 3
        assert {e.data["started"] for e in released} == {True, False}
        # Handed back, they are claimable at once by anyone.
        assert len(store.claim_runs(now, "other:3:c", 10, 30.0)) == 3
    finally:
        store.close()


def test_outcomes_of_a_run_taken_back_are_refused(store_url: str) -> None:
    from gnomon.store import FinishedRun

    store = SqlStore(store_url)
    try:
        run_id = claimed_by(store, ["host:1:old"])["host:1:old"]
        store.take_back(T0, "host:", "host:2:new")
        late = FinishedRun(
            run_id=run_id, worker="host:1:old", status=RunStatus.SUCCEEDED, finished_at=T0
        )
        assert store.finish_runs([late]) == [False]
        assert store.get_run(run_id).status is RunStatus.PENDING
    finally:
        store.close()
