"""A run's life in the store: claimed by a worker, heart-beating, or taken back.

Runs are claimed `pending → running` in a transaction that excludes other claimers; a run
whose lease expired is put back to pending (same run id) and, after :data:`MAX_LOSSES`
losses, dead-lettered. Its outcome, accepted only from the worker that holds it, is
:mod:`gnomon.store.outcomes`'s.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, case, func, select, update

from gnomon.events import Event
from gnomon.instants import from_micros, to_micros
from gnomon.models import ActionSpec, RunReason, RunStatus
from gnomon.planning import (
    FIRE_NOTES,
    MAX_LOSSES,
    LostRunFate,
    WaitingRun,
    lost_run_fate,
    missed_at_claim,
    next_attempt_due,
)
from gnomon.store import rows
from gnomon.store.base import SqlBase
from gnomon.store.statements import (
    LEASE_EXPIRED,
)
from gnomon.store.tables import events, jobs, runs

log = logging.getLogger(__name__)

# The heartbeat's statements, built once: an id list as one expanding parameter is compiled
# once and expanded per call (~3 ms for 4,500 runs in flight on SQLite), where ``in_(list)``
# was compiled anew each time with a parameter per id (~18 ms; 0.12 s under a profiler,
# stalling a burst's scheduler thread).
EXTEND_LEASES = (
    update(runs)
    .where(
        runs.c.id.in_(bindparam("ids", expanding=True)),
        runs.c.worker == bindparam("holder"),
        runs.c.status == RunStatus.RUNNING.value,
    )
    .values(lease_until=bindparam("until"))
    .returning(runs.c.id)
)
CANCEL_ASKED = select(runs.c.id).where(
    runs.c.id.in_(bindparam("ids", expanding=True)), runs.c.cancel_requested
)
REQUEUED = "put back to pending: its worker vanished (lease expired)"
TAKEN_BACK = "put back to pending: its scheduler died and was restarted"
RELEASED_STARTED = "put back to pending: its scheduler stopped before it finished"


def claimed_event(status: RunStatus) -> str:
    """The event of a run claimed: ``run.started``, or ``run.queued`` when it is claimed to
    be sent to a broker (its worker's start is the ``run.started``)."""
    return "run.queued" if status is RunStatus.QUEUED else "run.started"


def within(found: list[Any], now_us: int, capacity: int, ahead: int) -> list[Any]:
    """Of rows sorted by ``due_at``: up to ``capacity`` due by ``now_us``, then up to
    ``ahead`` due later (claimed ahead: they wait in memory, not for a worker)."""
    due = [r for r in found if r["due_at"] <= now_us][: max(capacity, 0)]
    return due + [r for r in found if r["due_at"] > now_us][: max(ahead, 0)]


class RunStore(SqlBase):
    """Claiming, heart-beating, finishing and recovering runs."""

    def claim_runs(
        self, now: datetime, worker: str, limit: int, lease: float
    ) -> list[rows.ClaimedRun]:
        """Mark up to ``limit`` due pending runs as running for ``worker`` and return them.

        Runs of paused jobs wait. For ``overlap=queue`` jobs at most one run is running.
        """
        if limit <= 0:
            return []
        with self._write() as conn:
            return self._claim_runs(conn, now, worker, limit, lease)

    def _claim_runs(  # noqa: PLR0917 - a claim's inputs, on the hot path
        self,
        conn: Connection,
        now: datetime,
        worker: str,
        limit: int,
        lease: float,
        until: datetime | None = None,
        ahead: int = 0,
        status: RunStatus = RunStatus.RUNNING,
    ) -> list[rows.ClaimedRun]:
        """Claim up to ``limit`` due runs; with ``until``, also up to ``ahead`` more of those
        due after ``now`` and by ``until`` (see :meth:`step`).

        A run claimed ahead is recorded as starting at its due time, and its lease runs
        from then: the claimer starts it at that moment, not before. A run claimed
        ``queued`` (for a broker) has no start yet; its lease is the time to send it.
        """
        limit, ahead = max(limit, 0), max(ahead, 0) if until is not None else 0
        if limit + ahead <= 0:
            return []
        now_us = to_micros(now)
        horizon = max(now_us, to_micros(until)) if until is not None else now_us
        found = self._due_runs.mappings(conn, {"now": horizon, "limit": limit + ahead})
        found = within(found, now_us, limit, ahead)  # ``limit`` bounds the runs due now
        found = self._drop_stale(conn, self._serialise_queued(conn, found), now)
        if not found:
            return []
        lease_us = round(lease * 1_000_000)
        starts = [max(now_us, r["due_at"]) for r in found]
        running = status is RunStatus.RUNNING
        self._start.run(
            conn,
            [
                {
                    "b_id": r["id"],
                    "b_worker": worker,
                    "b_status": status.value,
                    "b_started": start if running else None,
                    "b_lease": start + lease_us,
                }
                for r, start in zip(found, starts, strict=True)
            ],
        )
        started = [
            rows.event_values(
                Event(
                    kind=claimed_event(status),
                    at=rows.instant(start) or now,
                    job_id=r["job_id"],
                    run_id=r["id"],
                    data={"attempt": r["attempt"]},
                )
            )
            for r, start in zip(found, starts, strict=True)
        ]
        self._insert_events.run(conn, started)
        claimed = []
        for r, start in zip(found, starts, strict=True):
            run = rows.run_from_row(
                {
                    **r,
                    "status": status.value,
                    "worker": worker,
                    "started_at": start if running else None,
                }
            )
            action = ActionSpec(kind=r["action_kind"], config=json.loads(r["action_config"]))
            claimed.append(
                rows.ClaimedRun(run=run, action=action, policy=rows.load_policy(r["policy"]))
            )
        return claimed

    def _drop_stale(self, conn: Connection, found: list[Any], now: datetime) -> list[Any]:
        """Record as missed the runs the misfire policy drops at claim time
        (:func:`gnomon.planning.missed_at_claim` decides); return the others."""
        waiting = [
            WaitingRun(
                r["id"],
                r["job_id"],
                from_micros(r["scheduled_for"]),
                RunReason(r["reason"]),
                r["attempt"],
                put_back=bool(r["error"]),
                policy=rows.load_policy(r["policy"]),
            )
            for r in found
        ]
        dropped = missed_at_claim(waiting, now)
        if not dropped:
            return found
        stale = [r for r in found if r["id"] in dropped]
        conn.execute(
            update(runs)
            .where(runs.c.id.in_(sorted(dropped)))
            .values(
                status=RunStatus.MISSED.value,
                finished_at=to_micros(now),
                error=FIRE_NOTES[RunStatus.MISSED],
            )
        )
        conn.execute(
            events.insert(),
            [
                rows.event_values(
                    Event(
                        kind="run.missed",
                        at=now,
                        job_id=r["job_id"],
                        run_id=r["id"],
                        data={"scheduled_for": from_micros(r["scheduled_for"]).isoformat()},
                    )
                )
                for r in stale
            ],
        )
        return [r for r in found if r["id"] not in dropped]

    def _serialise_queued(self, conn: Connection, found: list[Any]) -> list[Any]:
        queued = {r["job_id"] for r in found if r["overlap"] == "queue"}
        if not queued:
            return found
        # Another claimer may hold an earlier run of the job, claimed but not committed,
        # which the check below cannot see: own the job row while deciding, and leave the
        # jobs whose row someone else holds to a later claim (see Dialect.owned).
        owned = self.dialect.owned(
            conn, select(jobs.c.id).where(jobs.c.id.in_(queued)).order_by(jobs.c.id), queued
        )
        found = [r for r in found if r["job_id"] not in queued - owned]
        queued = owned
        busy = set(
            conn.execute(
                select(runs.c.job_id).where(
                    runs.c.job_id.in_(queued),
                    runs.c.status.in_((RunStatus.RUNNING.value, RunStatus.QUEUED.value)),
                )
            ).scalars()
        )
        keep, taken = [], set()
        for r in sorted(found, key=lambda r: (r["scheduled_for"], r["attempt"])):
            if r["job_id"] in queued:
                if r["job_id"] in busy or r["job_id"] in taken:
                    continue
                taken.add(r["job_id"])
            keep.append(r)
        return keep

    def heartbeat(self, run_ids: Sequence[int], worker: str, until: datetime) -> set[int]:
        """Extend the leases of running runs; return those the worker must stop: their
        cancellation was asked, or they are no longer its own (its lease expired and the run
        was taken back — a stalled process must not go on running it beside the new one)."""
        if not run_ids:
            return set()
        ids = list(run_ids)
        with self._write() as conn:
            held = set(
                conn.execute(
                    EXTEND_LEASES, {"ids": ids, "holder": worker, "until": to_micros(until)}
                ).scalars()
            )
            cancelled = conn.execute(CANCEL_ASKED, {"ids": ids}).scalars()
            return set(cancelled) | (set(run_ids) - held)

    def recover_lost_runs(self, now: datetime, limit: int = 500) -> int:
        """Take back running runs whose lease expired: their worker vanished.

        Such a run is put back to ``pending`` as it is — same run id, same attempt, so the
        work sees the same idempotency key — and runs again (at least once): a process that
        died after claiming a run, or in the middle of it, loses no fire. After
        :data:`MAX_LOSSES` losses of one run it is marked ``lost`` for good (a poison run
        that kills its worker every time is dead-lettered) and the job's retry policy
        applies. Every loss is a ``run.lost`` event.

        The scan is a read first: the write transaction begins only when a lease expired.
        """
        now_us = to_micros(now)
        with self._read() as conn:
            if not LEASE_EXPIRED.rows(conn, {"now": now_us}):
                return 0
        expired = (runs.c.status == RunStatus.RUNNING.value, runs.c.lease_until < now_us)
        return self._take_back(now, expired, REQUEUED, limit)

    def take_back(self, now: datetime, prefix: str, me: str, limit: int = 10_000) -> int:
        """Take back at once the runs still held by earlier holders of this scheduler's
        identity (worker ids starting with ``prefix``, other than ``me``): holding the
        identity proves them dead (see :mod:`gnomon.store.identity`). As
        :meth:`recover_lost_runs`, without waiting for their leases."""
        held = (
            runs.c.status == RunStatus.RUNNING.value,
            runs.c.worker.startswith(prefix, autoescape=True),
            runs.c.worker != me,
        )
        return self._take_back(now, held, TAKEN_BACK, limit)

    def _take_back(self, now: datetime, where: Any, note: str, limit: int) -> int:
        now_us = to_micros(now)
        query = self._locked(
            select(runs.c.id, runs.c.job_id, runs.c.scheduled_for, runs.c.attempt, jobs.c.policy)
            .join(jobs, jobs.c.id == runs.c.job_id, isouter=True)
            .where(*where)
            .limit(limit),
            runs,
        )
        with self._write() as conn:
            lost = conn.execute(query).all()
            if not lost:
                return 0
            earlier = self._losses(conn, lost)
            # (A run of a removed job has no policy: the outer join found no job.)
            fate = {
                r.id: lost_run_fate(earlier.get(r.id, 0), job_exists=r.policy is not None)
                for r in lost
            }
            orphaned = [r.id for r in lost if fate[r.id] is LostRunFate.ORPHANED]
            requeue = [r.id for r in lost if fate[r.id] is LostRunFate.REQUEUE]
            dead = [r for r in lost if fate[r.id] is LostRunFate.DEAD_LETTER]
            if orphaned:
                conn.execute(
                    update(runs)
                    .where(runs.c.id.in_(orphaned))
                    .values(
                        status=RunStatus.LOST.value,
                        finished_at=now_us,
                        lease_until=None,
                        error="its worker vanished; its job was removed",
                    )
                )
            if requeue:  # due now, or later: a run claimed ahead must not start early
                due = case((runs.c.due_at > now_us, runs.c.due_at), else_=now_us)
                conn.execute(
                    update(runs)
                    .where(runs.c.id.in_(requeue))
                    .values(
                        status=RunStatus.PENDING.value,
                        worker=None,
                        started_at=None,
                        lease_until=None,
                        due_at=due,
                        error=note,
                    )
                )
            if dead:
                self._dead_letter(conn, dead, now)
            if requeue or dead:
                self.dialect.notify(conn)
            new_events = [
                rows.event_values(
                    Event(
                        kind="run.lost",
                        at=now,
                        job_id=r.job_id,
                        run_id=r.id,
                        data={"losses": earlier.get(r.id, 0) + 1, "requeued": r.id in requeue},
                    )
                )
                for r in lost
            ]
            conn.execute(events.insert(), new_events)
        return len(lost)

    def release_runs(
        self, run_ids: Sequence[int], worker: str, now: datetime, *, started: bool = False
    ) -> int:
        """Hand runs that ``worker`` holds back to ``pending`` in one transaction (a clean
        stop): another scheduler may claim them at once. Runs not ``started`` are as if
        never claimed (their misfire policy still applies); started ones, whose work may
        have begun, are marked so and run again in full (at least once). A run the worker
        no longer holds is left alone. Each is a ``run.released`` event."""
        if not run_ids:
            return 0
        values: dict[str, Any] = {
            "status": RunStatus.PENDING.value,
            "worker": None,
            "started_at": None,
            "lease_until": None,
        }
        if started:
            values["error"] = RELEASED_STARTED
        with self._write() as conn:
            released = conn.execute(
                update(runs)
                .where(
                    runs.c.id.in_(list(run_ids)),
                    runs.c.worker == worker,
                    runs.c.status == RunStatus.RUNNING.value,
                )
                .values(**values)
                .returning(runs.c.id, runs.c.job_id)
            ).all()
            if released:
                conn.execute(
                    events.insert(),
                    [
                        rows.event_values(
                            Event(
                                kind="run.released",
                                at=now,
                                job_id=r.job_id,
                                run_id=r.id,
                                data={"started": started},
                            )
                        )
                        for r in released
                    ],
                )
                self.dialect.notify(conn)
        return len(released)

    def _losses(self, conn: Connection, lost: Sequence[Any]) -> dict[int, int]:
        """How often each of these runs was lost before (its ``run.lost`` events)."""
        query = (
            select(events.c.run_id, func.count())
            .where(
                events.c.job_id.in_({r.job_id for r in lost}),
                events.c.run_id.in_([r.id for r in lost]),
                events.c.kind == "run.lost",
            )
            .group_by(events.c.run_id)
        )
        return {int(run_id): int(n) for run_id, n in conn.execute(query).all()}

    def _dead_letter(self, conn: Connection, dead: Sequence[Any], now: datetime) -> None:
        conn.execute(
            update(runs)
            .where(runs.c.id.in_([r.id for r in dead]))
            .values(
                status=RunStatus.LOST.value,
                finished_at=to_micros(now),
                lease_until=None,
                error=f"its worker vanished {MAX_LOSSES + 1} times",
            )
        )
        retries = []
        for r in dead:
            due = next_attempt_due(rows.load_policy(r.policy), r.attempt, now)
            if due is not None:
                retries.append(
                    self._retry_values(r.job_id, r.scheduled_for, r.attempt + 1, due, now)
                )
        if retries:
            conn.execute(self._insert_ignore(runs), retries)
