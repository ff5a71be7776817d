"""The SQL store (SQLAlchemy Core): SQLite by default, PostgreSQL at scale.

Safety comes from the database, not from leases: a fire is a row with
``UNIQUE (job_id, scheduled_for, attempt)`` inserted with ON CONFLICT DO NOTHING, in the same
transaction that advances the job's ``next_fire_at``. Due jobs and runs are claimed with
``BEGIN IMMEDIATE`` on SQLite and ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so replicas
split the work instead of repeating it. Leases on running runs give liveness: a worker that
stops heart-beating has its run put back to pending (see :mod:`gnomon.store.runs`).

The store is cut by concept: :mod:`~gnomon.store.base` (engine, transactions, dialects),
:mod:`~gnomon.store.steps` (the scheduler's step: recording fires, claiming, the next
wake-up), :mod:`~gnomon.store.runs` (a run's life: claim, heartbeat, recovery),
:mod:`~gnomon.store.outcomes` (an attempt's outcome), :mod:`~gnomon.store.queued` (runs sent
to a broker) and this module (jobs, manual runs, history), with :mod:`~gnomon.store.sinks`
(the event sinks' cursors). :class:`SqlStore` is the whole.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select, update

from gnomon.errors import Conflict, JobExists, JobNotFound, RunNotFound, StoreUnavailable
from gnomon.events import Event
from gnomon.instants import to_micros
from gnomon.models import Job, JobState, Run, RunReason, RunStatus
from gnomon.planning import MAX_LOSSES, FirePlan
from gnomon.store import rows
from gnomon.store.engine import error_line
from gnomon.store.outcomes import OutcomeStore
from gnomon.store.queued import QueuedRunStore
from gnomon.store.runs import REQUEUED
from gnomon.store.sinks import SinkCursorStore
from gnomon.store.statements import job_search
from gnomon.store.steps import AdvanceResult, Planner, StepStore
from gnomon.store.tables import events, jobs, runs

log = logging.getLogger(__name__)
TAKEN_PROBE = 1000  # ids of a refused batch looked up to name the one already taken


class SqlStore(StepStore, OutcomeStore, QueuedRunStore, SinkCursorStore):
    """Jobs, runs and events in one SQL database. Thread-safe; one per process is enough."""

    def add_jobs(self, new: Sequence[Job], *, event_data: bool = True) -> None:
        """Store new jobs (all or none); :class:`JobExists` if an id is taken."""
        if not new:
            return
        given: set[str] = set()
        for job in new:  # the database would refuse it too, but could not say which id
            if job.id in given:
                raise JobExists(job.id)
            given.add(job.id)
        values = [rows.job_values(job) for job in new]
        created = (
            [
                rows.event_values(Event(kind="job.created", at=job.created_at, job_id=job.id))
                for job in new
            ]
            if event_data
            else []
        )
        try:
            with self._write() as conn:
                self._insert_jobs.run(conn, values)
                self._insert_events.run(conn, created)
                self.dialect.notify(conn)
        except Conflict:  # a key taken (see driver_errors): say which id
            ids = [job.id for job in new]
            with self._read() as conn:
                taken = conn.execute(
                    select(jobs.c.id).where(jobs.c.id.in_(ids[:TAKEN_PROBE]))
                ).first()
            raise JobExists(taken[0] if taken else ids[0]) from None

    def get_job(self, job_id: str) -> Job:
        with self._read() as conn:
            row = conn.execute(select(jobs).where(jobs.c.id == job_id)).mappings().first()
        if row is None:
            raise JobNotFound(job_id)
        return rows.job_from_row(row)

    def list_jobs(
        self,
        *,
        state: JobState | None = None,
        search: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Job]:
        query = select(jobs).order_by(jobs.c.id).limit(limit).offset(offset)
        if state is not None:
            query = query.where(jobs.c.state == state.value)
        with self._read() as conn:
            if search:
                query = query.where(job_search(conn, search, self.dialect))
            return [rows.job_from_row(r) for r in conn.execute(query).mappings()]

    def count_jobs(self, state: JobState | None = None) -> int:
        query = select(func.count()).select_from(jobs)
        if state is not None:
            query = query.where(jobs.c.state == state.value)
        with self._read() as conn:
            return int(conn.execute(query).scalar_one())

    def save_job(
        self,
        job: Job,
        event: Event,
        *,
        cancel_pending: bool = False,
        fires: FirePlan | None = None,
    ) -> None:
        """Replace a stored job's definition and state, recording ``event`` (and ``fires``)."""
        values = rows.job_values(job)
        del values["created_at"]
        with self._write() as conn:
            done = conn.execute(update(jobs).where(jobs.c.id == job.id).values(values))
            if done.rowcount == 0:
                raise JobNotFound(job.id)
            if cancel_pending:
                self._cancel_pending(conn, job.id, job.updated_at)
            new_events = [rows.event_values(event)]
            if fires is not None:
                new_runs: list[dict[str, Any]] = []
                self._record_plan(conn, job, fires, job.updated_at, new_runs, new_events)
                if new_runs:
                    conn.execute(self._insert_ignore(runs), new_runs)
            conn.execute(events.insert(), new_events)
            self.dialect.notify(conn)

    def remove_job(self, job_id: str, now: datetime) -> None:
        """Delete a job; its pending runs are cancelled, its history is kept. The
        ``job.removed`` event keeps what the job was (:func:`removed_data`), so a removed job
        stays findable by its id with its runs."""
        with self._write() as conn:
            row = (
                conn.execute(jobs.delete().where(jobs.c.id == job_id).returning(jobs))
                .mappings()
                .first()
            )
            if row is None:
                raise JobNotFound(job_id)
            self._cancel_pending(conn, job_id, now)
            data = removed_data(rows.job_from_row(row))
            event = Event(kind="job.removed", at=now, job_id=job_id, data=data)
            conn.execute(events.insert(), [rows.event_values(event)])
            self.dialect.notify(conn)

    def add_run(
        self, job_id: str, scheduled_for: datetime, now: datetime, reason: RunReason
    ) -> Run:
        """Record a fire outside the schedule (trigger now, backfill), due at once."""
        with self._write() as conn:
            if conn.execute(select(jobs.c.id).where(jobs.c.id == job_id)).first() is None:
                raise JobNotFound(job_id)
            values = self._retry_values(job_id, to_micros(scheduled_for), 1, now, now)
            values["reason"] = reason.value
            insert = self._insert_ignore(runs).returning(runs.c.id)
            while (run_id := conn.execute(insert.values(values)).scalar()) is None:
                # The fire key is taken: by another manual run in the same microsecond (its own
                # fire, 1 µs later), or by a fire already recorded. A backfill runs a recorded
                # fire that never ran (missed, skipped, cancelled) as its next attempt, and
                # repeats nothing that ran.
                if reason is RunReason.MANUAL:
                    values["scheduled_for"] += 1
                    continue
                values["attempt"] = self._next_attempt_of_unrun_fire(conn, job_id, scheduled_for)
            event = Event(
                kind="job.triggered",
                at=now,
                job_id=job_id,
                run_id=run_id,
                data={"reason": reason.value},
            )
            conn.execute(events.insert(), [rows.event_values(event)])
            self.dialect.notify(conn)
        return self.get_run(run_id)

    def _next_attempt_of_unrun_fire(
        self, conn: Connection, job_id: str, scheduled_for: datetime
    ) -> int:
        recorded = conn.execute(
            select(runs.c.attempt, runs.c.status).where(
                runs.c.job_id == job_id, runs.c.scheduled_for == to_micros(scheduled_for)
            )
        ).all()
        never_ran = {RunStatus.MISSED.value, RunStatus.SKIPPED.value, RunStatus.CANCELLED.value}
        if not recorded or any(status not in never_ran for _, status in recorded):
            raise Conflict(f"job {job_id!r} already has a run for {scheduled_for}")
        return int(max(attempt for attempt, _ in recorded)) + 1

    def get_run(self, run_id: int) -> Run:
        with self._read() as conn:
            row = conn.execute(select(runs).where(runs.c.id == run_id)).mappings().first()
        if row is None:
            raise RunNotFound(run_id)
        return rows.run_from_row(row)

    def list_runs(
        self, job_id: str | None = None, *, limit: int = 50, status: RunStatus | None = None
    ) -> list[Run]:
        """Newest first."""
        query = select(runs).order_by(runs.c.id.desc()).limit(limit)
        if job_id is not None:
            query = query.where(runs.c.job_id == job_id)
        if status is not None:
            query = query.where(runs.c.status == status.value)
        with self._read() as conn:
            return [rows.run_from_row(r) for r in conn.execute(query).mappings()]

    def list_events(
        self,
        *,
        after_id: int = 0,
        job_id: str | None = None,
        limit: int = 100,
        newest: bool = False,
    ) -> list[Event]:
        """Oldest first from ``after_id`` on; or, with ``newest``, the newest first."""
        order = events.c.id.desc() if newest else events.c.id
        query = select(events).where(events.c.id > after_id).order_by(order).limit(limit)
        if job_id is not None:
            query = query.where(events.c.job_id == job_id)
        with self._read() as conn:
            return [rows.event_from_row(r) for r in conn.execute(query).mappings()]

    def append_events(self, new: Sequence[Event]) -> None:
        if new:
            with self._write() as conn:
                conn.execute(events.insert(), [rows.event_values(e) for e in new])

    def ping(self) -> None:
        """Reach the database once (``SELECT 1``); raise :class:`StoreUnavailable` naming the
        driver's error in one line if it cannot be reached."""
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        except Exception as exc:  # whatever the driver raises, the database is not usable
            raise StoreUnavailable(error_line(exc)) from exc


__all__ = ["MAX_LOSSES", "REQUEUED", "AdvanceResult", "Planner", "SqlStore"]


def removed_data(job: Job) -> dict[str, Any]:
    """What a ``job.removed`` event keeps of the job: its name, schedule in words, zone,
    action kind and state (no action config: it may hold secrets)."""
    return {
        "name": job.name,
        "when": job.trigger.describe(),
        "tz": str(getattr(job.trigger, "tz", "UTC")),
        "action": job.action.kind,
        "state": job.state.value,
    }
