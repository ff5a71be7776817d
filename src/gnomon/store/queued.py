"""Runs sent to a broker's workers (Celery): the outbox side of a run's life.

A scheduler with a broker claims due runs ``queued`` instead of ``running``
(:meth:`SqlStore.step` with ``queue=True``): the run row is recorded before its message is
published, so the database, not the broker, is the outbox. A queued run's ``worker`` is
its sender and its ``lease_until`` the moment it is sent again:

- while the sender publishes, the claim's lease (a few seconds);
- once the broker confirmed the message (:meth:`QueuedRunStore.mark_sent`), the
  re-send delay: a message the broker lost (a broker restarted without persistence) or
  that no worker took meanwhile is published again (:meth:`QueuedRunStore.resend_due`).

A worker starts a queued run by id (:meth:`QueuedRunStore.start_queued`): one transition
``queued → running`` under the worker's own lease, so of several deliveries of one run
(re-sends, the broker's own redeliveries) exactly one starts it; the others find it
started, finished or cancelled and are dropped. From ``running`` on, the run lives as in
local mode (:mod:`gnomon.store.runs`): heartbeats, outcomes accepted only from its
holder, taken back to ``pending`` (and sent again) when its worker's lease expires.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, select, update

from gnomon.events import Event
from gnomon.instants import to_micros
from gnomon.models import ActionSpec, RunStatus
from gnomon.store import rows
from gnomon.store.base import SqlBase
from gnomon.store.statements import START_QUEUED, START_QUEUED_MANY
from gnomon.store.tables import events, jobs, runs

QUEUED = RunStatus.QUEUED.value


class QueuedRunStore(SqlBase):
    """Sending runs to a broker, and starting them in the worker that received one."""

    def mark_sent(
        self, run_ids: Sequence[int], sender: str, now: datetime, resend_after: float
    ) -> int:
        """The broker confirmed the messages of these runs (queued by ``sender``): send none
        of them again before ``resend_after`` seconds, or as long as it has waited since its
        due time if that is longer, unless a worker starts it. How many.

        The wait doubles with each re-send, so a long queue that no worker has reached yet
        (a backlog, not a lost message) is not flooded with copies, each of which costs a
        worker a transaction; a message the broker lost is still sent again after
        ``resend_after``."""
        if not run_ids:
            return 0
        now_us, after_us = to_micros(now), round(resend_after * 1_000_000)
        waited = now_us - runs.c.due_at
        with self._write() as conn:
            result = conn.execute(
                update(runs)
                .where(
                    runs.c.id.in_(list(run_ids)), runs.c.status == QUEUED, runs.c.worker == sender
                )
                .values(lease_until=now_us + case((waited > after_us, waited), else_=after_us))
            )
            return int(result.rowcount or 0)

    def resend_due(
        self, now: datetime, sender: str, lease: float, limit: int = 500
    ) -> list[rows.ClaimedRun]:
        """Queued runs whose re-send moment has passed — their sender died before the
        broker confirmed them, or no worker started them in time — claimed by ``sender``
        to publish again within ``lease`` seconds. The scan is a read first."""
        now_us = to_micros(now)
        due = (runs.c.status == QUEUED, runs.c.lease_until < now_us)
        with self._read() as conn:
            if conn.execute(select(runs.c.id).where(*due).limit(1)).first() is None:
                return []
        query = self._locked(
            select(runs, jobs.c.action_kind, jobs.c.action_config, jobs.c.policy)
            .join(jobs, jobs.c.id == runs.c.job_id)
            .where(*due)
            .order_by(runs.c.lease_until)
            .limit(limit),
            runs,
        )
        until = to_micros(now + timedelta(seconds=lease))
        with self._write() as conn:
            found = conn.execute(query).mappings().all()
            if not found:
                return []
            conn.execute(
                update(runs)
                .where(runs.c.id.in_([r["id"] for r in found]))
                .values(worker=sender, lease_until=until)
            )
        return [_claimed({**r, "worker": sender, "lease_until": until}) for r in found]

    def start_queued(
        self, run_id: int, worker: str, now: datetime, lease: float
    ) -> rows.ClaimedRun | None:
        """Start a queued run for ``worker`` (its lease runs ``lease`` seconds from ``now``)
        and return it; None if it is not queued — started by another delivery of the same
        run, finished, cancelled or unknown: a duplicate to drop.

        On PostgreSQL this is one statement, run as its own transaction (one round trip, see
        :data:`~gnomon.store.statements.START_QUEUED`); elsewhere the same writes in one
        transaction."""
        now_us = to_micros(now)
        if self.dialect.one_statement_writes:
            params = {"id": run_id, **_start_values(worker, now_us, lease)}
            with self._write_one() as conn:
                found = START_QUEUED.first(conn, params)
            if found is None or found["status"] != RunStatus.RUNNING.value:
                return None  # not queued, or cancelled: its job is gone
            return _claimed(found)
        job = jobs.c
        of_job = [
            select(col)
            .where(job.id == runs.c.job_id)
            .correlate(runs)
            .scalar_subquery()
            .label(col.name)
            for col in (job.action_kind, job.action_config, job.policy)
        ]
        with self._write() as conn:
            # One statement starts the run and reads it with its job's action and policy
            # (the fence: only a queued run is started, once).
            row = (
                conn.execute(
                    update(runs)
                    .where(runs.c.id == run_id, runs.c.status == QUEUED)
                    .values(
                        status=RunStatus.RUNNING.value,
                        worker=worker,
                        started_at=now_us,
                        lease_until=now_us + round(lease * 1_000_000),
                    )
                    .returning(*runs.c, *of_job)
                )
                .mappings()
                .first()
            )
            if row is None:
                return None
            if row["action_kind"] is None:  # its job is gone (removing one cancels its runs)
                conn.execute(
                    update(runs)
                    .where(runs.c.id == run_id)
                    .values(
                        status=RunStatus.CANCELLED.value,
                        finished_at=now_us,
                        lease_until=None,
                        error="its job was removed",
                    )
                )
                return None
            conn.execute(
                events.insert(),
                [
                    rows.event_values(
                        Event(
                            kind="run.started",
                            at=now,
                            job_id=row["job_id"],
                            run_id=run_id,
                            data={"attempt": row["attempt"], "worker": worker},
                        )
                    )
                ],
            )
        return _claimed(row)

    def start_queued_many(
        self, run_ids: Sequence[int], worker: str, now: datetime, lease: float
    ) -> list[rows.ClaimedRun | None]:
        """:meth:`start_queued` for each of ``run_ids`` (distinct); the same order. On
        PostgreSQL one statement, committed on its own
        (:data:`~gnomon.store.statements.START_QUEUED_MANY`); elsewhere one by one."""
        if len(run_ids) <= 1 or not self.dialect.one_statement_writes:
            return [self.start_queued(i, worker, now, lease) for i in run_ids]
        params = {"ids": list(run_ids), **_start_values(worker, to_micros(now), lease)}
        with self._write_one() as conn:
            found = {r["id"]: r for r in START_QUEUED_MANY.all(conn, params)}
        return [
            _claimed(r) if (r := found.get(i)) and r["status"] == RunStatus.RUNNING.value else None
            for i in run_ids
        ]


def _start_values(worker: str, now_us: int, lease: float) -> dict[str, Any]:
    """START_QUEUED's (and START_QUEUED_MANY's) parameters but the run ids: the worker, the
    moment, its lease's end and the end of the ``run.started`` event's JSON data."""
    return {
        "worker": worker,
        "now": now_us,
        "until": now_us + round(lease * 1_000_000),
        "rest": "," + rows.dumps({"worker": worker})[1:],
    }


def _claimed(r: Mapping[Any, Any]) -> rows.ClaimedRun:
    action = ActionSpec(kind=r["action_kind"], config=json.loads(r["action_config"]))
    return rows.ClaimedRun(
        run=rows.run_from_row(r), action=action, policy=rows.load_policy(r["policy"])
    )
