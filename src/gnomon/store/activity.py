"""What the dashboard shows of runs across jobs: a filtered list, runs in flight, activity
over time; and what a person may do to one run: retry it, cancel it.

Every read is bounded by the primary key, so its cost does not grow with the history:
the runs list scans at most :data:`SCAN` ids per page (and says where it stopped, so the
next page goes on from there), and the activity of the last hours reads the id range
recorded since then (found by a binary search on the key, ``created_at`` growing with the
id) and at most :data:`MAX_ACTIVITY_ROWS` rows of it. Times are passed in, never read.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, ScalarSelect, exists, func, select, update
from sqlalchemy.sql.elements import ColumnElement

from gnomon.errors import Conflict, JobNotFound, RunNotFound
from gnomon.events import Event
from gnomon.instants import from_micros, to_micros
from gnomon.models import Job, JobState, Run, RunReason, RunStatus
from gnomon.store import rows
from gnomon.store.sql import SqlStore
from gnomon.store.statements import job_search
from gnomon.store.tables import events, jobs, runs

SCAN = 20_000  # ids one page of the runs list looks at, at most
MAX_ACTIVITY_ROWS = 200_000  # runs the activity chart reads, at most
IN_FLIGHT = (RunStatus.PENDING.value, RunStatus.QUEUED.value, RunStatus.RUNNING.value)
WAITING = (RunStatus.PENDING.value, RunStatus.QUEUED.value)


@dataclass(frozen=True, slots=True)
class RunPage:
    """Runs newest first; ``older`` is the ``before_id`` of the next page (None: no more)."""

    runs: list[Run]
    older: int | None


def find_runs(
    store: SqlStore,
    *,
    statuses: Sequence[RunStatus] = (),
    job_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> RunPage:
    """Runs of every job (or of ``job_id``) with one of ``statuses``, scheduled for a time in
    ``[since, until)``, newest first, with ids below ``before_id``.

    Without a job (whose index finds its runs directly) a page looks at no more than
    :data:`SCAN` ids: it may hold fewer than ``limit`` runs and still have an older page.
    """
    query = select(runs).order_by(runs.c.id.desc()).limit(limit + 1)
    with store._read() as conn:
        top = before_id if before_id is not None else _max_id(conn) + 1
        query = query.where(runs.c.id < top)
        floor = None if job_id is not None else top - SCAN
        if job_id is not None:
            query = query.where(runs.c.job_id == job_id)
        if floor is not None:
            query = query.where(runs.c.id >= floor)
        if statuses:
            query = query.where(runs.c.status.in_([s.value for s in statuses]))
        if since is not None:
            query = query.where(runs.c.scheduled_for >= to_micros(since))
        if until is not None:
            query = query.where(runs.c.scheduled_for < to_micros(until))
        found = [rows.run_from_row(r) for r in conn.execute(query).mappings()]
    if len(found) > limit:
        return RunPage(found[:limit], found[limit - 1].id)
    older = floor if floor is not None and floor > 1 else None
    return RunPage(found, older)


def _max_id(conn: Connection) -> int:
    return int(conn.execute(select(func.max(runs.c.id))).scalar() or 0)


def runs_in_flight(store: SqlStore, limit: int = 500) -> list[Run]:
    """Runs executing (``running``) or handed to a broker (``queued``), oldest first (their
    partial indexes find them)."""
    found: list[Run] = []
    with store._read() as conn:
        for status in (RunStatus.RUNNING, RunStatus.QUEUED):
            query = (
                select(runs).where(runs.c.status == status.value).order_by(runs.c.id).limit(limit)
            )
            found += [rows.run_from_row(r) for r in conn.execute(query).mappings()]
    return found


def first_id_since(conn: Connection, since: datetime) -> int:
    """The smallest run id recorded at or after ``since`` (one past the last id if none):
    a binary search on the primary key, since ids and ``created_at`` grow together."""
    since_us = to_micros(since)
    low = int(conn.execute(select(func.min(runs.c.id))).scalar() or 1)
    high = _max_id(conn) + 1
    probe = select(runs.c.created_at).where(runs.c.id >= 0).order_by(runs.c.id).limit(1)
    while low < high:
        middle = (low + high) // 2
        row = conn.execute(probe.where(runs.c.id >= middle)).first()
        if row is None or row[0] >= since_us:
            high = middle
        else:
            low = middle + 1
    return low


@dataclass(frozen=True, slots=True)
class FinishedSample:
    """One finished run, as the activity chart needs it."""

    finished_at: datetime
    status: RunStatus
    lateness: float | None  # seconds from due to start; None if it never started


def finished_since(
    store: SqlStore, since: datetime, *, recorded_since: datetime
) -> tuple[list[FinishedSample], bool]:
    """Runs finished at or after ``since`` among those recorded at or after
    ``recorded_since``, oldest first; and whether :data:`MAX_ACTIVITY_ROWS` cut the list
    (then it holds the newest ones)."""
    with store._read() as conn:
        first = first_id_since(conn, recorded_since)
        query = (
            select(runs.c.finished_at, runs.c.status, runs.c.started_at, runs.c.due_at)
            .where(runs.c.id >= first, runs.c.finished_at >= to_micros(since))
            .order_by(runs.c.id.desc())
            .limit(MAX_ACTIVITY_ROWS + 1)
        )
        found = conn.execute(query).all()
    cut = len(found) > MAX_ACTIVITY_ROWS
    samples = [
        FinishedSample(
            finished_at=from_micros(finished),
            status=RunStatus(status),
            lateness=None if started is None else max(0, started - due) / 1e6,
        )
        for finished, status, started, due in found[:MAX_ACTIVITY_ROWS]
    ]
    samples.sort(key=lambda s: s.finished_at)
    return samples, cut


def retry_run(store: SqlStore, run_id: int, now: datetime) -> Run:
    """Record a new attempt of the fire of a finished, unsuccessful run, due now (reason
    ``manual``). Raises :class:`Conflict` for a run that succeeded, is not finished, or
    whose fire already has a newer attempt; :class:`JobNotFound` if its job was removed."""
    with store._write() as conn:
        old = _run_row(conn, run_id)
        status = RunStatus(old["status"])
        if not status.finished or status is RunStatus.SUCCEEDED:
            raise Conflict(
                f"run {run_id} is {status.value}: only a finished, unsuccessful run can be retried"
            )
        if conn.execute(select(jobs.c.id).where(jobs.c.id == old["job_id"])).first() is None:
            raise JobNotFound(old["job_id"])
        fire = (runs.c.job_id == old["job_id"]) & (runs.c.scheduled_for == old["scheduled_for"])
        latest = conn.execute(select(func.max(runs.c.attempt)).where(fire)).scalar_one()
        if latest != old["attempt"]:
            raise Conflict(f"run {run_id}'s fire already has a newer attempt ({latest})")
        values = store._retry_values(old["job_id"], old["scheduled_for"], latest + 1, now, now)
        values["reason"] = RunReason.MANUAL.value
        new_id = conn.execute(runs.insert().values(values).returning(runs.c.id)).scalar_one()
        event = Event(
            kind="job.triggered",
            at=now,
            job_id=old["job_id"],
            run_id=new_id,
            data={"reason": RunReason.MANUAL.value, "retry_of": run_id},
        )
        conn.execute(events.insert(), [rows.event_values(event)])
    return store.get_run(new_id)


def cancel_run(store: SqlStore, run_id: int, now: datetime) -> RunStatus:
    """Cancel a run that has not finished. A ``pending`` or ``queued`` run is ``cancelled``
    at once (a Celery worker then refuses to start it); a ``running`` one is asked to stop:
    its worker learns it at its next heartbeat and stops the action (a shell command's
    process group is killed). Returns the run's status after the call. Raises
    :class:`Conflict` for a finished run."""
    with store._write() as conn:
        old = _run_row(conn, run_id)
        status = RunStatus(old["status"])
        if status.finished:
            raise Conflict(f"run {run_id} already ended ({status.value})")
        where = (runs.c.id == run_id) & (runs.c.status == status.value)
        if status is RunStatus.RUNNING:
            conn.execute(update(runs).where(where).values(cancel_requested=True))
            return status
        conn.execute(
            update(runs)
            .where(where)
            .values(
                status=RunStatus.CANCELLED.value,
                finished_at=to_micros(now),
                error="cancelled by a person",
            )
        )
        event = Event(kind="run.cancelled", at=now, job_id=old["job_id"], run_id=run_id)
        conn.execute(events.insert(), [rows.event_values(event)])
    return RunStatus.CANCELLED


def _run_row(conn: Connection, run_id: int) -> Any:
    row = conn.execute(select(runs).where(runs.c.id == run_id)).mappings().first()
    if row is None:
        raise RunNotFound(run_id)
    return row


# -- what ``gnomon list``, ``history`` and ``events`` show ---------------------------------


def _last_run_id(job_id: ColumnElement[str]) -> ScalarSelect[int]:
    """The id of the newest run of ``job_id`` that started or ended (not one still waiting):
    a backward walk of ``ix_gnomon_runs_job`` that stops at the first such run."""
    last = runs.alias("last")
    return (
        select(last.c.id)
        .where(last.c.job_id == job_id, last.c.status.not_in(WAITING))
        .order_by(last.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def jobs_with_last_runs(
    store: SqlStore,
    *,
    state: JobState | None = None,
    search: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[tuple[Job, Run | None]]:
    """Stored jobs by id (as :meth:`SqlStore.list_jobs` pages them), each with its last run
    that started or ended, in one query: each job's is found by an index seek on
    ``ix_gnomon_runs_job``, whatever the size of its history."""
    page = select(jobs).order_by(jobs.c.id).limit(limit).offset(offset)
    if state is not None:
        page = page.where(jobs.c.state == state.value)
    found: list[tuple[Job, Run | None]] = []
    with store._read() as conn:
        if search:
            page = page.where(job_search(conn, search, store.dialect))
        chosen = page.subquery("page")  # the page first: the last runs of its jobs only
        last = runs.alias("last_run")
        query = (
            select(chosen, *[c.label(f"last_{c.name}") for c in last.c])
            .select_from(chosen.outerjoin(last, last.c.id == _last_run_id(chosen.c.id)))
            .order_by(chosen.c.id)
        )
        for row in conn.execute(query).mappings():
            run = None
            if row["last_id"] is not None:
                run = rows.run_from_row({c.name: row[f"last_{c.name}"] for c in last.c})
            found.append((rows.job_from_row(row), run))
    return found


@dataclass(frozen=True, slots=True)
class RemovedJob:
    """A removed job, as its ``job.removed`` event keeps it (an event recorded before this
    was kept, or pruned data, leave ``name``, ``when`` and ``action`` empty)."""

    id: str
    name: str
    when: str
    zone: str
    action: str
    removed_at: datetime
    last_run: Run | None


def removed_jobs(
    store: SqlStore,
    *,
    job_ids: Sequence[str] | None = None,
    search: str | None = None,
    limit: int = 100,
) -> list[RemovedJob]:
    """Removed jobs whose id is not used by a stored job now (the live one wins), the most
    recently removed first, each with its last run: one query for the events, one for the
    runs. With ``job_ids``, those only; ``search`` is a substring of the id or name (in any
    case). Removed jobs are read from their ``job.removed`` events, so they are findable for
    as long as those events are kept (``GNOMON_KEEP_EVENTS_DAYS``)."""
    removals = events.c.kind == "job.removed"
    live = exists().where(jobs.c.id == events.c.job_id)
    newest = select(func.max(events.c.id)).where(removals, ~live)
    if job_ids is not None:
        newest = newest.where(events.c.job_id.in_(list(job_ids)))
    if search and json.dumps(search)[1:-1] == search:  # written as is in the JSON data
        newest = newest.where(
            events.c.job_id.icontains(search, autoescape=True)
            | events.c.data.icontains(search, autoescape=True)
        )  # (else, e.g. "é" stored as "\u00e9", only the check below applies)
    newest = newest.group_by(events.c.job_id)
    query = (
        select(events, _last_run_id(events.c.job_id).label("last_run_id"))
        .where(events.c.id.in_(newest))
        .order_by(events.c.id.desc())
    )
    found: list[tuple[RemovedJob, int | None]] = []
    with store._read() as conn:
        for row in conn.execute(query).mappings():
            event = rows.event_from_row(row)
            data = event.data or {}
            name = str(data.get("name", ""))
            if search and not _matches(search, str(event.job_id), name):
                continue  # the search found it in the event's other data
            removed = RemovedJob(
                id=str(event.job_id),
                name=name,
                when=str(data.get("when", "")),
                zone=str(data.get("tz", "UTC")),
                action=str(data.get("action", "")),
                removed_at=event.at,
                last_run=None,
            )
            found.append((removed, row["last_run_id"]))
            if len(found) == limit:
                break
        wanted = [run_id for _, run_id in found if run_id is not None]
        last = {
            r["id"]: rows.run_from_row(r)
            for r in conn.execute(select(runs).where(runs.c.id.in_(wanted))).mappings()
        }
    return [
        replace(removed, last_run=last.get(run_id) if run_id is not None else None)
        for removed, run_id in found
    ]


def _matches(search: str, *texts: str) -> bool:
    """The one meaning of a job search (see :func:`gnomon.store.statements.job_search`)."""
    return any(search.casefold() in text.casefold() for text in texts)


def loss_counts(store: SqlStore, found: Sequence[Run]) -> dict[int, int]:
    """How often each of these runs was lost (its worker vanished: ``run.lost`` events; the
    run was put back to pending to run again, or dead-lettered ``lost`` after too many), by
    run id; runs never lost are absent. One query, by the events' job index."""
    if not found:
        return {}
    with store._read() as conn:
        return store._losses(conn, found)


def jobs_by_id(store: SqlStore, job_ids: Sequence[str]) -> dict[str, Job]:
    """The stored jobs among ``job_ids``, by id, in one query."""
    if not job_ids:
        return {}
    query = select(jobs).where(jobs.c.id.in_(list(set(job_ids))))
    with store._read() as conn:
        return {r["id"]: rows.job_from_row(r) for r in conn.execute(query).mappings()}


__all__ = [
    "FinishedSample",
    "RemovedJob",
    "RunPage",
    "cancel_run",
    "find_runs",
    "finished_since",
    "first_id_since",
    "jobs_by_id",
    "jobs_with_last_runs",
    "loss_counts",
    "removed_jobs",
    "retry_run",
    "runs_in_flight",
]
