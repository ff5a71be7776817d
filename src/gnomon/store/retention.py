"""Removing old history in small batches: finished runs and delivered events.

What may go is decided in :mod:`gnomon.retention` (pure); this module reads a window of rows,
asks it, and removes what it says in the same transaction — one window of at most ``limit``
rows per call, so a prune never holds the database for long (the scheduler's steps and the
recorder wait for SQLite's one writer meanwhile). The walks go by primary key, which orders
rows by their recording: no index is added for retention, so recording a run costs the same.

The store enforces what must never go, whatever the caller asks: a run that has not
finished, the newest finished run of its job (checked in the DELETE itself, so a run
recorded meanwhile by another process is seen), an event a sink has not delivered yet, and
the newest event (SQLite hands out the highest id + 1: deleting it would give an id out
twice). On PostgreSQL the rows to delete are claimed with ``SKIP LOCKED``: two replicas
pruning at once share the work instead of waiting on each other. The runs removed are added
to ``gnomon_tallies`` in the same transaction, so the metrics' totals never go down.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, exists, func, select, update

from gnomon.instants import from_micros, to_micros
from gnomon.models import RunReason, RunStatus
from gnomon.retention import (
    FINISHED,
    Retention,
    StoredRun,
    aged_out,
    beyond_count,
    events_to_remove,
)
from gnomon.store.sql import SqlStore
from gnomon.store.tables import events, jobs, runs, sink_cursors, tallies

RUN_FIELDS = (
    runs.c.id,
    runs.c.job_id,
    runs.c.status,
    runs.c.reason,
    runs.c.attempt,
    runs.c.created_at,
    runs.c.finished_at,
)
_newer = runs.alias("newer")
NOT_NEWEST_FINISHED = exists(
    select(_newer.c.id).where(
        _newer.c.job_id == runs.c.job_id,
        _newer.c.id > runs.c.id,
        _newer.c.status.in_(FINISHED),
    )
)
"""A newer finished run of the same job exists: this one is not what its job shows last."""
PRUNED_RUNS = "pruned.runs."  # + status
PRUNED_FIRES = "pruned.fires."  # + reason (first attempts)


@dataclass(frozen=True, slots=True)
class RunBatch:
    """One window of the runs walk: what went (or would go), and where the walk stands."""

    removed: list[StoredRun]
    last_id: int  # the window's last run id: the next window starts after it
    more: bool  # the walk has more windows to look at


@dataclass(frozen=True, slots=True)
class EventBatch:
    removed: int
    last_id: int
    more: bool


@contextmanager
def _transaction(store: SqlStore, dry_run: bool) -> Iterator[Connection]:
    """A dry run only reads: it never waits for the writer."""
    with store._read() if dry_run else store._write() as conn:
        yield conn


def _stored(row: Any) -> StoredRun:
    finished = row.finished_at
    return StoredRun(
        id=row.id,
        job_id=row.job_id,
        status=RunStatus(row.status),
        reason=RunReason(row.reason),
        attempt=row.attempt,
        created_at=from_micros(row.created_at),
        finished_at=None if finished is None else from_micros(finished),
    )


def _window(
    conn: Connection, after: int, limit: int, job_id: str | None = None, upto: int | None = None
) -> list[StoredRun]:
    query = select(*RUN_FIELDS).where(runs.c.id > after).order_by(runs.c.id).limit(limit)
    if job_id is not None:
        query = query.where(runs.c.job_id == job_id)
    if upto is not None:
        query = query.where(runs.c.id <= upto)
    return [_stored(row) for row in conn.execute(query)]


def _remove_runs(
    store: SqlStore, conn: Connection, candidates: list[StoredRun], dry_run: bool
) -> list[StoredRun]:
    """Of ``candidates``, the finished runs that are not their job's newest finished run:
    deleted (in a dry run only found), and tallied."""
    if not candidates:
        return []
    removable = select(runs.c.id).where(
        runs.c.id.in_([r.id for r in candidates]),
        runs.c.status.in_(FINISHED),
        NOT_NEWEST_FINISHED,
    )
    if dry_run:
        gone = set(conn.execute(removable).scalars())
    else:
        claimed = store._locked(removable, runs)
        deleted = runs.delete().where(runs.c.id.in_(claimed)).returning(runs.c.id)
        gone = set(conn.execute(deleted).scalars())
    removed = [r for r in candidates if r.id in gone]
    if not dry_run:
        _tally(store, conn, removed)
    return removed


def _tally(store: SqlStore, conn: Connection, removed: list[StoredRun]) -> None:
    counts: Counter[str] = Counter()
    for run in removed:
        counts[PRUNED_RUNS + run.status.value] += 1
        if run.attempt == 1:
            counts[PRUNED_FIRES + run.reason.value] += 1
    if not counts:
        return
    names = sorted(counts)  # one order for every writer: no deadlock between two pruners
    conn.execute(store._insert_ignore(tallies), [{"name": name, "count": 0} for name in names])
    conn.execute(
        update(tallies)
        .where(tallies.c.name == bindparam("b_name"))
        .values(count=tallies.c.count + bindparam("b_count")),
        [{"b_name": name, "b_count": counts[name]} for name in names],
    )


def prune_aged_runs(
    store: SqlStore,
    *,
    after: int,
    now: datetime,
    retention: Retention,
    limit: int,
    dry_run: bool = False,
) -> RunBatch:
    """The next window of runs after id ``after``: those older than their age go. The walk
    ends at the first window reaching runs recorded after the rules' horizon."""
    horizon = retention.horizon(now)
    with _transaction(store, dry_run) as conn:
        window = _window(conn, after, limit)
        if not window or horizon is None:
            return RunBatch([], after, False)
        removed = _remove_runs(store, conn, aged_out(window, retention, now), dry_run)
    more = len(window) == limit and window[-1].created_at < horizon
    return RunBatch(removed, window[-1].id, more)


def excess_edge(store: SqlStore, job_id: str, keep: int) -> int | None:
    """The id of the newest run of ``job_id`` beyond its ``keep`` newest (None: it has no
    more than ``keep``)."""
    query = (
        select(runs.c.id)
        .where(runs.c.job_id == job_id)
        .order_by(runs.c.id.desc())
        .limit(1)
        .offset(keep)
    )
    with store._read() as conn:
        return conn.execute(query).scalar()


def prune_excess_runs(
    store: SqlStore,
    job_id: str,
    *,
    upto: int,
    after: int,
    now: datetime,
    retention: Retention,
    limit: int,
    dry_run: bool = False,
) -> RunBatch:
    """The next window of the runs of ``job_id`` with ids in ``(after, upto]`` (those beyond
    its newest ``per_job``, see :func:`excess_edge`): the finished ones go. A dry run leaves
    out those the age rule counted already."""
    with _transaction(store, dry_run) as conn:
        window = _window(conn, after, limit, job_id=job_id, upto=upto)
        if not window:
            return RunBatch([], after, False)
        candidates = beyond_count(window, retention, now, counted=dry_run)
        removed = _remove_runs(store, conn, candidates, dry_run)
    return RunBatch(removed, window[-1].id, len(window) == limit)


def run_id_span(store: SqlStore) -> int:
    """How many run ids lie between the oldest and the newest stored run (0 with none): no job
    holds more runs than this. Two primary-key look-ups (one ``min`` and one ``max`` per
    statement, which SQLite answers from the index; together they would scan the table)."""
    newest = select(func.max(runs.c.id)).scalar_subquery()
    oldest = select(func.min(runs.c.id)).scalar_subquery()
    with store._read() as conn:
        span = conn.execute(select(newest - oldest + 1)).scalar()
    return int(span or 0)


def job_ids_after(store: SqlStore, after: str, limit: int) -> list[str]:
    """Stored job ids after ``after``, in order: the per-job limit walks the jobs by pages."""
    query = select(jobs.c.id).where(jobs.c.id > after).order_by(jobs.c.id).limit(limit)
    with store._read() as conn:
        return list(conn.execute(query).scalars())


def prune_events(
    store: SqlStore,
    *,
    after: int,
    cutoff: datetime,
    limit: int,
    dry_run: bool = False,
) -> EventBatch:
    """The next window of events after id ``after``: those recorded before ``cutoff`` that
    every event sink delivered go.

    A sink's cursor holds events back while it is in use: a replica that runs the sink
    renews it every few seconds. A cursor untouched since ``cutoff`` belongs to a sink no
    scheduler runs any more (taken out of the settings), and holds nothing back. The newest
    event is never removed.
    """
    cutoff_us = to_micros(cutoff)
    with _transaction(store, dry_run) as conn:
        floor = conn.execute(
            select(func.min(sink_cursors.c.after_id)).where(sink_cursors.c.updated_at >= cutoff_us)
        ).scalar()
        newest = conn.execute(select(func.max(events.c.id))).scalar()
        if newest is None:
            return EventBatch(0, after, False)
        query = (
            select(events.c.id, events.c.at)
            .where(events.c.id > after, events.c.id < newest)
            .order_by(events.c.id)
            .limit(limit)
        )
        window = [(row.id, from_micros(row.at)) for row in conn.execute(query)]
        if not window:
            return EventBatch(0, after, False)
        ids = events_to_remove(window, cutoff, floor)
        if ids and not dry_run:
            conn.execute(events.delete().where(events.c.id.in_(ids)))
    last_id, last_at = window[-1]
    stop = min(newest - 1, floor if floor is not None else newest)
    more = len(window) == limit and last_at < cutoff and last_id < stop
    return EventBatch(len(ids), last_id, more)


def pruned_counts(store: SqlStore) -> tuple[dict[str, int], dict[str, int]]:
    """``(runs by status, fires by reason)`` removed by retention so far."""
    with store._read() as conn:
        found = conn.execute(select(tallies.c.name, tallies.c.count)).all()
    by_status = {n.removeprefix(PRUNED_RUNS): int(c) for n, c in found if n.startswith(PRUNED_RUNS)}
    by_reason = {
        n.removeprefix(PRUNED_FIRES): int(c) for n, c in found if n.startswith(PRUNED_FIRES)
    }
    return by_status, by_reason


__all__ = [
    "EventBatch",
    "RunBatch",
    "excess_edge",
    "job_ids_after",
    "prune_aged_runs",
    "prune_events",
    "prune_excess_runs",
    "pruned_counts",
]
