"""Statements and small helpers shared by the SQL store's modules (built once)."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import (
    ColumnElement,
    Connection,
    bindparam,
    false,
    func,
    select,
    text,
    update,
)

from gnomon.models import JobState, RunStatus
from gnomon.planning import AHEAD
from gnomon.search_text import SEPARATOR, fold
from gnomon.store.dialect import Dialect
from gnomon.store.prepared import CHUNK, Compiled, Prepared
from gnomon.store.tables import events, jobs, runs


def storable(text: str | None) -> str | None:
    """``text`` without NUL characters, which PostgreSQL TEXT cannot hold (a command's output
    may contain them); the same replacement on every backend."""
    return None if text is None else text.replace("\x00", "\ufffd")


def job_search(
    conn: Connection, text: str, dialect: Dialect, *, indexed: bool = True
) -> ColumnElement[bool]:
    """The one meaning of searching jobs (:mod:`gnomon.search_text`): ``text`` is a literal
    substring (``%``, ``_``, ``"``, ``*`` are not wildcards) of the job's id, name or action
    summary, in any case. Used by every job listing, in its read transaction ``conn``.
    Through the search index where the dialect finds that worth it (``indexed=False``:
    always by a scan, which finds the same jobs)."""
    folded = fold(text)
    if SEPARATOR in folded:  # no field holds it (see SEPARATOR)
        return false()
    if indexed:
        return dialect.search_indexed(conn, folded)
    return dialect.search_scan(folded)


def job_exists(conn: Connection, job_id: str) -> bool:
    return conn.execute(select(jobs.c.id).where(jobs.c.id == job_id)).first() is not None


# Records one attempt's outcome; executed many at once. The guard repeats the check made
# under lock in finish_runs: an outcome only ever comes from the worker holding the run.
FINISH = Prepared(
    update(runs)
    .where(
        runs.c.id == bindparam("b_id"),
        runs.c.status == RunStatus.RUNNING.value,
        runs.c.worker == bindparam("b_worker"),
    )
    .values(
        status=bindparam("b_status"),
        finished_at=bindparam("b_finished_at"),
        result=bindparam("b_result"),
        error=bindparam("b_error"),
        output=bindparam("b_output"),
        lease_until=None,
    )
)


class HeldRun(NamedTuple):
    """A running run as :data:`HELD_ONE` reads it."""

    id: int
    worker: str | None
    job_id: str
    scheduled_for: int
    attempt: int


# One running run, by id (the fields of HeldRun, in order).
HELD_ONE = Prepared(
    select(runs.c.id, runs.c.worker, runs.c.job_id, runs.c.scheduled_for, runs.c.attempt).where(
        runs.c.id == bindparam("id"), runs.c.status == RunStatus.RUNNING.value
    )
)
HELD_IDS = tuple(f"id{k}" for k in range(CHUNK))
"""HELD_MANY's parameters."""
# Up to CHUNK running runs, by id (as HELD_ONE): a batch of outcomes is looked up a chunk at
# a time (see CHUNK), each chunk one statement prepared once; unused places repeat an id.
HELD_MANY = Prepared(
    select(runs.c.id, runs.c.worker, runs.c.job_id, runs.c.scheduled_for, runs.c.attempt).where(
        runs.c.id.in_([bindparam(name) for name in HELD_IDS]),
        runs.c.status == RunStatus.RUNNING.value,
    )
)
# Marks one claimed run as running (or queued, for a broker) for its holder; executed many
# at once.
START = (
    update(runs)
    .where(runs.c.id == bindparam("b_id"))
    .values(
        status=bindparam("b_status"),
        worker=bindparam("b_worker"),
        started_at=bindparam("b_started"),
        lease_until=bindparam("b_lease"),
    )
)
ADVANCE = (
    update(jobs)
    .where(jobs.c.id == bindparam("k"))
    .values(next_fire_at=bindparam("nf"), state=bindparam("st"))
)
NEXT_JOB = Prepared(
    select(func.min(jobs.c.next_fire_at)).where(jobs.c.next_fire_at > bindparam("after"))
)
# The fire of the SPARSE-th job due after ``after`` (none: fewer jobs are due after it): how
# much work the next look-ahead steps have (see StepStore._next_wakeup).
SPARSE = 64
NTH_JOB = Prepared(
    select(jobs.c.next_fire_at)
    .where(jobs.c.next_fire_at > bindparam("after"))
    .order_by(jobs.c.next_fire_at)
    .limit(1)
    .offset(SPARSE - 1)
)
# The next fire in (after, until] of a job a look-ahead step leaves until its fire is due
# (its overlap policy must see the fire's own moment: gnomon.planning.AHEAD).
NEXT_EXACT_JOB = Prepared(
    select(func.min(jobs.c.next_fire_at)).where(
        jobs.c.next_fire_at > bindparam("after"),
        jobs.c.next_fire_at <= bindparam("until"),
        *(jobs.c.overlap != o.value for o in sorted(AHEAD)),
    )
)
# Pending runs due by a tick's ``now`` but recorded since it began (ids above the newest it
# could see): written by another thread or process while the tick ran (a retry from the API),
# so the tick did not see them, and ``NEXT_RUN``'s ``after`` would leave them out.
NEW_RUN = Prepared(
    select(func.min(runs.c.due_at))
    .join(jobs, jobs.c.id == runs.c.job_id)
    .where(
        runs.c.id > bindparam("seen"),
        runs.c.due_at <= bindparam("after"),
        runs.c.status == RunStatus.PENDING.value,
        jobs.c.state != JobState.PAUSED.value,
    )
)
NEXT_RUN = Prepared(
    select(func.min(runs.c.due_at))
    .join(jobs, jobs.c.id == runs.c.job_id)
    .where(
        runs.c.status == RunStatus.PENDING.value,
        jobs.c.state != JobState.PAUSED.value,
        runs.c.due_at > bindparam("after"),
    )
)
MAX_RUN_ID = Prepared(select(func.max(runs.c.id)))
# The runs a step has just inserted claimed for ``worker`` (ids above ``before``), by the
# status it claims them with: one statement per status, a constant in its text (see
# gnomon.store.prepared.inline_constants).
CLAIMED_SINCE = {
    status: Prepared(
        select(runs.c.id, runs.c.job_id, runs.c.scheduled_for).where(
            runs.c.id > bindparam("before"),
            runs.c.worker == bindparam("worker"),
            runs.c.status == status.value,
        )
    )
    for status in (RunStatus.RUNNING, RunStatus.QUEUED)
}
# Is any run's lease expired (its worker vanished)? The cheap look before recovery writes.
LEASE_EXPIRED = Prepared(
    select(runs.c.id)
    .where(runs.c.status == RunStatus.RUNNING.value, runs.c.lease_until < bindparam("now"))
    .limit(1)
)
RUN_COLUMNS = [c.key for c in runs.c if c.key != "id"]
EVENT_COLUMNS = [c.key for c in events.c if c.key != "id"]

# The Celery worker's two writes per run, each one statement (PostgreSQL: data-modifying WITH,
# run as its own transaction; see Dialect.one_statement_writes). Event data is the JSON text
# rows.dumps writes (compact, keys sorted): '{"attempt":N' then ``rest``, the other keys.
# Each finds its run by primary key only: the status it requires is a sub-select, which the
# planner cannot match with the partial indexes on status (ix_gnomon_runs_queued/_running).
# Written as a constant, it let a plan made while the table looked small (a burst's first
# runs, before any ANALYZE) scan the whole queue for each start: ~7,000 index entries per
# start in a burst of 10,000 runs, measured.

# Starts a queued run for a worker, with its event, and returns it with its job's action and
# policy. Only a queued run starts (a duplicate delivery matches nothing); a run whose job is
# gone is cancelled instead, in the same statement.
START_QUEUED = Compiled(
    text(f"""
WITH job AS (
    SELECT j.action_kind, j.action_config, j.policy
    FROM {runs.name} r JOIN {jobs.name} j ON j.id = r.job_id
    WHERE r.id = :id
), started AS (
    UPDATE {runs.name} SET
        status = CASE WHEN EXISTS (SELECT FROM job) THEN 'running' ELSE 'cancelled' END,
        worker = :worker,
        started_at = CAST(:now AS BIGINT),
        lease_until = CASE WHEN EXISTS (SELECT FROM job) THEN CAST(:until AS BIGINT) END,
        finished_at = CASE WHEN EXISTS (SELECT FROM job) THEN NULL
                           ELSE CAST(:now AS BIGINT) END,
        error = CASE WHEN EXISTS (SELECT FROM job) THEN error ELSE 'its job was removed' END
    WHERE id = :id AND status = (SELECT 'queued')
    RETURNING *
), event AS (
    INSERT INTO {events.name} (at, kind, job_id, run_id, data)
    SELECT CAST(:now AS BIGINT), 'run.started', job_id, id,
           '{{"attempt":' || CAST(attempt AS TEXT) || CAST(:rest AS TEXT)
    FROM started WHERE status = 'running'
)
SELECT started.*, job.* FROM started LEFT JOIN job ON TRUE
""")  # noqa: S608 - table names are constants
)

# Records the outcome of one attempt, with its event, if the run is still running for that
# worker (the UPDATE's own guard, re-checked on the latest row after waiting for its lock):
# returns the run's job id, or no row if the outcome is refused.
FINISH_ONE = Compiled(
    text(f"""
WITH done AS (
    UPDATE {runs.name} SET
        status = :status, finished_at = CAST(:finished_at AS BIGINT), result = :result,
        error = :error, output = :output, lease_until = NULL
    WHERE id = :id AND status = (SELECT 'running') AND worker = :worker
    RETURNING job_id, attempt
), event AS (
    INSERT INTO {events.name} (at, kind, job_id, run_id, data)
    SELECT CAST(:finished_at AS BIGINT), :kind, job_id, CAST(:id AS BIGINT),
           '{{"attempt":' || CAST(attempt AS TEXT) || CAST(:rest AS TEXT)
    FROM done
)
SELECT job_id FROM done
""")  # noqa: S608 - table names are constants
)

# Starts several queued runs of one worker at once (a group commit of concurrent deliveries
# in one worker process, see gnomon.dispatch.group_commit): START_QUEUED for each id of
# :ids that is still queued, in one statement. (Two workers holding copies of the same runs
# may lock them in different orders: PostgreSQL then fails one statement as a deadlock, and
# its worker tries again, finding them started. Locking them in order first would cost every
# batch a second write of each row.)
START_QUEUED_MANY = Compiled(
    text(f"""
WITH queued AS (
    SELECT r.id, j.action_kind, j.action_config, j.policy
    FROM {runs.name} r LEFT JOIN {jobs.name} j ON j.id = r.job_id
    WHERE r.id = ANY(CAST(:ids AS BIGINT[])) AND r.status = (SELECT 'queued')
), started AS (
    UPDATE {runs.name} SET
        status = CASE WHEN q.action_kind IS NOT NULL THEN 'running' ELSE 'cancelled' END,
        worker = :worker,
        started_at = CAST(:now AS BIGINT),
        lease_until = CASE WHEN q.action_kind IS NOT NULL THEN CAST(:until AS BIGINT) END,
        finished_at = CASE WHEN q.action_kind IS NOT NULL THEN NULL
                           ELSE CAST(:now AS BIGINT) END,
        error = CASE WHEN q.action_kind IS NOT NULL THEN {runs.name}.error
                     ELSE 'its job was removed' END
    FROM queued q
    WHERE {runs.name}.id = ANY(CAST(:ids AS BIGINT[])) AND {runs.name}.id = q.id
      AND {runs.name}.status = (SELECT 'queued')
    RETURNING {runs.name}.*, q.action_kind, q.action_config, q.policy
), event AS (
    INSERT INTO {events.name} (at, kind, job_id, run_id, data)
    SELECT CAST(:now AS BIGINT), 'run.started', job_id, id,
           '{{"attempt":' || CAST(attempt AS TEXT) || CAST(:rest AS TEXT)
    FROM started WHERE status = 'running'
)
SELECT * FROM started
""")  # noqa: S608 - table names are constants
)

# Records several outcomes without retries at once (FINISH_ONE for each, one statement): the
# outcomes come as parallel arrays; each is kept only if its run is still running for its
# worker. Returns the ids of the runs whose outcome was kept.
FINISH_MANY = Compiled(
    text(f"""
WITH o AS (
    SELECT * FROM unnest(
        CAST(:ids AS BIGINT[]), CAST(:workers AS TEXT[]), CAST(:statuses AS TEXT[]),
        CAST(:finished AS BIGINT[]), CAST(:results AS TEXT[]), CAST(:errors AS TEXT[]),
        CAST(:outputs AS TEXT[]), CAST(:kinds AS TEXT[]), CAST(:rests AS TEXT[])
    ) AS o(id, worker, status, finished_at, result, error, output, kind, rest)
), done AS (
    UPDATE {runs.name} SET
        status = o.status, finished_at = o.finished_at, result = o.result,
        error = o.error, output = o.output, lease_until = NULL
    FROM o
    WHERE {runs.name}.id = ANY(CAST(:ids AS BIGINT[])) AND {runs.name}.id = o.id
      AND {runs.name}.status = (SELECT 'running')
      AND {runs.name}.worker = o.worker
    RETURNING {runs.name}.id, {runs.name}.job_id, {runs.name}.attempt, o.finished_at, o.kind,
              o.rest
), event AS (
    INSERT INTO {events.name} (at, kind, job_id, run_id, data)
    SELECT finished_at, kind, job_id, id, '{{"attempt":' || CAST(attempt AS TEXT) || rest
    FROM done
)
SELECT id FROM done
""")  # noqa: S608 - table names are constants
)
