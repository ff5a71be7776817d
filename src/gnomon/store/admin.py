"""API tokens, the audit log, scheduler heartbeats and the counts the API and status show.

Kept apart from :mod:`gnomon.store.sql` (the scheduler's hot path). Every function takes the
:class:`~gnomon.store.SqlStore` and goes through its transactions (its writer lock, its error
translation: only gnomon's errors come out); the tables are in :mod:`gnomon.store.tables`.
Times are passed in (``now``), never read.

Tokens look like ``gnm_<id>_<secret>``. Only the SHA-256 of the whole token is stored; the
``id`` part finds the row and the hash is compared in constant time. A token is shown once,
when it is created. The audit table is append-only (the 0002 migration adds database
triggers that refuse UPDATE and DELETE); this module only appends to it and reads it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, String, func, select, update

from gnomon.errors import InvalidSpec
from gnomon.instants import from_micros, to_micros
from gnomon.models import Job, JobState, Run, RunStatus
from gnomon.store import rows
from gnomon.store.retention import pruned_counts
from gnomon.store.sql import SqlStore
from gnomon.store.statements import job_search
from gnomon.store.tables import audit, jobs, runs, schedulers, tokens


class Scope(StrEnum):
    """What a token may do; each scope includes the ones before it."""

    READ = "read"
    WRITE = "write"
    ADMIN = "admin"

    def allows(self, needed: Scope) -> bool:
        order = list(Scope)
        return order.index(self) >= order.index(needed)


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenInfo:
    id: str
    name: str
    scope: Scope
    created_at: datetime
    revoked_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    target: str | None
    client: str | None
    diff: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class Heartbeat:
    id: str
    started_at: datetime
    beat_at: datetime
    imports: tuple[str, ...] | None = None  # where it imports --python references from


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# -- tokens ---------------------------------------------------------------------------------


def create_token(
    store: SqlStore, name: str, scope: Scope | str, now: datetime
) -> tuple[str, TokenInfo]:
    """Store a new token; return ``(secret, info)``. The secret is never stored or shown again."""
    try:
        scope = Scope(scope)
    except ValueError:
        raise InvalidSpec(f"token scope {scope!r} is not one of read, write, admin") from None
    if not name.strip() or len(name) > 200:
        raise InvalidSpec("token name: give 1-200 characters")
    token_id = secrets.token_hex(6)
    secret = f"gnm_{token_id}_{secrets.token_urlsafe(32)}"
    with store._write() as conn:
        conn.execute(
            tokens.insert().values(
                id=token_id,
                name=name,
                scope=scope.value,
                hash=_digest(secret),
                created_at=to_micros(now),
                revoked_at=None,
            )
        )
    return secret, TokenInfo(id=token_id, name=name, scope=scope, created_at=now)


def _info(row: Any) -> TokenInfo:
    revoked = row["revoked_at"]
    return TokenInfo(
        id=row["id"],
        name=row["name"],
        scope=Scope(row["scope"]),
        created_at=from_micros(row["created_at"]),
        revoked_at=None if revoked is None else from_micros(revoked),
    )


def verify_token(store: SqlStore, secret: str) -> TokenInfo | None:
    """The live token ``secret`` belongs to, or None (unknown, malformed or revoked)."""
    parts = secret.split("_", 2)
    if len(parts) != 3 or parts[0] != "gnm":
        return None
    with store._read() as conn:
        row = conn.execute(select(tokens).where(tokens.c.id == parts[1])).mappings().first()
    if row is None or row["revoked_at"] is not None:
        return None
    if not hmac.compare_digest(row["hash"], _digest(secret)):
        return None
    return _info(row)


def revoke_token(store: SqlStore, id_or_name: str, now: datetime) -> list[TokenInfo]:
    """Revoke the live tokens with this id or name; return those revoked (may be empty)."""
    match = (tokens.c.id == id_or_name) | (tokens.c.name == id_or_name)
    with store._write() as conn:
        found = [
            _info(r)
            for r in conn.execute(
                select(tokens).where(match, tokens.c.revoked_at.is_(None))
            ).mappings()
        ]
        if found:
            conn.execute(
                update(tokens)
                .where(tokens.c.id.in_([t.id for t in found]))
                .values(revoked_at=to_micros(now))
            )
    return found


def list_tokens(store: SqlStore, *, include_revoked: bool = False) -> list[TokenInfo]:
    query = select(tokens).order_by(tokens.c.created_at)
    if not include_revoked:
        query = query.where(tokens.c.revoked_at.is_(None))
    with store._read() as conn:
        return [_info(r) for r in conn.execute(query).mappings()]


def live_token_count(store: SqlStore) -> int:
    with store._read() as conn:
        query = select(func.count()).select_from(tokens).where(tokens.c.revoked_at.is_(None))
        return int(conn.execute(query).scalar_one())


# -- audit ----------------------------------------------------------------------------------


def append_audit(
    store: SqlStore,
    *,
    at: datetime,
    actor: str,
    action: str,
    target: str | None,
    client: str | None = None,
    diff: dict[str, Any] | None = None,
) -> None:
    """Append one entry. ``diff`` must already be redacted by the caller."""
    with store._write() as conn:
        conn.execute(
            audit.insert().values(
                at=to_micros(at),
                actor=_fit(audit.c.actor, actor),
                action=_fit(audit.c.action, action),
                target=None if target is None else _fit(audit.c.target, target),
                client=None if client is None else _fit(audit.c.client, client),
                diff=rows.dumps(diff) if diff else None,
            )
        )


def list_audit(
    store: SqlStore, *, target: str | None = None, before_id: int | None = None, limit: int = 50
) -> list[AuditEntry]:
    """Newest first; ``before_id`` pages back through older entries."""
    query = select(audit).order_by(audit.c.id.desc()).limit(limit)
    if target is not None:
        query = query.where(audit.c.target == target)
    if before_id is not None:
        query = query.where(audit.c.id < before_id)
    with store._read() as conn:
        return [
            AuditEntry(
                id=r["id"],
                at=from_micros(r["at"]),
                actor=r["actor"],
                action=r["action"],
                target=r["target"],
                client=r["client"],
                diff=json.loads(r["diff"]) if r["diff"] else {},
            )
            for r in conn.execute(query).mappings()
        ]


# -- scheduler heartbeats -------------------------------------------------------------------


def beat(
    store: SqlStore, scheduler_id: str, now: datetime, imports: Sequence[str] | None = None
) -> None:
    """Record that the scheduler ``scheduler_id`` is alive at ``now`` (call every few seconds),
    importing ``--python`` references from the folders ``imports`` (when given)."""
    now_us = to_micros(now)
    where = None if imports is None else os.pathsep.join(imports)
    values: dict[str, Any] = {"beat_at": now_us}
    if where is not None:
        values["imports"] = where
    with store._write() as conn:
        done = conn.execute(
            update(schedulers).where(schedulers.c.id == scheduler_id).values(**values)
        )
        if done.rowcount == 0:  # a first beat; two at once (same id) store one row
            conn.execute(
                store._insert_ignore(schedulers).values(
                    id=scheduler_id, started_at=now_us, **values
                )
            )


def heartbeats(store: SqlStore, limit: int = 20) -> list[Heartbeat]:
    """The most recently seen schedulers, newest beat first."""
    query = select(schedulers).order_by(schedulers.c.beat_at.desc()).limit(limit)
    with store._read() as conn:
        return [
            Heartbeat(
                id=r["id"],
                started_at=from_micros(r["started_at"]),
                beat_at=from_micros(r["beat_at"]),
                imports=None if r["imports"] is None else tuple(r["imports"].split(os.pathsep)),
            )
            for r in conn.execute(query).mappings()
        ]


# -- counts and views for the API, metrics and dashboard ------------------------------------


def run_counts(store: SqlStore) -> dict[str, int]:
    """Stored runs by status."""
    query = select(runs.c.status, func.count()).group_by(runs.c.status)
    with store._read() as conn:
        return {status: int(n) for status, n in conn.execute(query).all()}


def fire_counts(store: SqlStore) -> dict[str, int]:
    """Recorded fires (first attempts) by reason: schedule, manual, backfill — those pruned
    since included, so the totals never go down."""
    query = select(runs.c.reason, func.count()).where(runs.c.attempt == 1).group_by(runs.c.reason)
    with store._read() as conn:
        stored = {reason: int(n) for reason, n in conn.execute(query).all()}
    return _plus(stored, pruned_counts(store)[1])


def run_totals(store: SqlStore) -> dict[str, int]:
    """Runs ever recorded, by status: those stored and those pruned since (for counters)."""
    return _plus(run_counts(store), pruned_counts(store)[0])


def _plus(counts: dict[str, int], more: dict[str, int]) -> dict[str, int]:
    return {key: counts.get(key, 0) + more.get(key, 0) for key in sorted({*counts, *more})}


def job_counts(store: SqlStore) -> dict[str, int]:
    query = select(jobs.c.state, func.count()).group_by(jobs.c.state)
    with store._read() as conn:
        return {state: int(n) for state, n in conn.execute(query).all()}


def queue_depth(store: SqlStore, now: datetime) -> int:
    """Pending runs already due: work waiting for a worker."""
    query = (
        select(func.count())
        .select_from(runs)
        .where(runs.c.status == RunStatus.PENDING.value, runs.c.due_at <= to_micros(now))
    )
    with store._read() as conn:
        return int(conn.execute(query).scalar_one())


@dataclass(frozen=True, slots=True)
class BrokerBacklog:
    """Runs sent to a broker's workers and not started yet, and the workers' last start."""

    queued: int
    oldest_due: datetime | None  # the due time of the longest-waiting one
    last_start: datetime | None  # the latest start of a run by a Celery worker


def broker_backlog(store: SqlStore) -> BrokerBacklog:
    """How the Celery workers keep up: what waits for them, and when one last started a
    run (a worker connected to the broker but not consuming shows here, not in its
    process's health)."""
    queued = runs.c.status == RunStatus.QUEUED.value
    waiting = select(func.count(), func.min(runs.c.due_at)).where(queued)
    started = select(func.max(runs.c.started_at)).where(
        runs.c.worker.startswith("celery@"), runs.c.started_at.is_not(None)
    )
    with store._read() as conn:
        count, oldest = conn.execute(waiting).one()
        last = conn.execute(started).scalar()
    return BrokerBacklog(
        int(count), from_micros(oldest) if oldest else None, from_micros(last) if last else None
    )


def oldest_due(store: SqlStore, now: datetime) -> datetime | None:
    """The earliest ``next_fire_at`` at or before ``now``: how far the scheduler lags."""
    query = select(func.min(jobs.c.next_fire_at)).where(jobs.c.next_fire_at <= to_micros(now))
    with store._read() as conn:
        value = conn.execute(query).scalar()
    return None if value is None else from_micros(value)


def jobs_after(
    store: SqlStore,
    after: str,
    *,
    limit: int,
    state: JobState | None = None,
    search: str | None = None,
) -> list[Job]:
    """Jobs with an id greater than ``after``, by id: a cursor page (cost does not grow with
    how deep the page is, unlike an offset). ``state`` and ``search`` filter as in
    :meth:`~gnomon.store.SqlStore.list_jobs`."""
    query = select(jobs).where(jobs.c.id > after).order_by(jobs.c.id).limit(limit)
    if state is not None:
        query = query.where(jobs.c.state == state.value)
    with store._read() as conn:
        if search:
            query = query.where(job_search(conn, search, store.dialect))
        return [rows.job_from_row(r) for r in conn.execute(query).mappings()]


def upcoming_jobs(store: SqlStore, until: datetime, limit: int = 30) -> list[Job]:
    """Active jobs whose next fire is before ``until``, soonest first (uses the queue index)."""
    query = (
        select(jobs)
        .where(jobs.c.next_fire_at <= to_micros(until))
        .order_by(jobs.c.next_fire_at)
        .limit(limit)
    )
    with store._read() as conn:
        return [rows.job_from_row(r) for r in conn.execute(query).mappings()]


def recent_runs(store: SqlStore, job_ids: Sequence[str], per_job: int = 12) -> dict[str, list[Run]]:
    """The newest ``per_job`` runs of each job, newest first, in one query."""
    if not job_ids:
        return {}
    rank = func.row_number().over(partition_by=runs.c.job_id, order_by=runs.c.id.desc())
    inner = select(runs, rank.label("rank")).where(runs.c.job_id.in_(list(job_ids))).subquery()
    query = select(inner).where(inner.c.rank <= per_job).order_by(inner.c.job_id, inner.c.id.desc())
    found: dict[str, list[Run]] = {job_id: [] for job_id in job_ids}
    with store._read() as conn:
        for r in conn.execute(query).mappings():
            found[r["job_id"]].append(rows.run_from_row(r))
    return found


def schema_revision(store: SqlStore) -> tuple[str | None, str | None]:
    """``(current, newest)`` Alembic revisions of the database and of this gnomon."""
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from gnomon.store.engine import MIGRATIONS, VERSION_TABLE

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    with store._read() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision(), head


def _fit(column: Column[Any], text: str) -> str:
    """``text`` cut to ``column``'s size (an audit entry is kept, never refused for its length)."""
    size = column.type.length if isinstance(column.type, String) else None
    return text if size is None else text[:size]


__all__ = [
    "AuditEntry",
    "Heartbeat",
    "JobState",
    "Scope",
    "TokenInfo",
    "append_audit",
    "beat",
    "create_token",
    "fire_counts",
    "heartbeats",
    "job_counts",
    "jobs_after",
    "list_audit",
    "list_tokens",
    "live_token_count",
    "oldest_due",
    "queue_depth",
    "recent_runs",
    "revoke_token",
    "run_counts",
    "run_totals",
    "schema_revision",
    "upcoming_jobs",
    "verify_token",
]


# -- which database this is -----------------------------------------------------------------


def database_identity(store: SqlStore) -> str:
    """A short digest that names this database, equal in every process that opens it and
    revealing nothing of its URL (no host, user or password): for SQLite the real path of
    the file; for PostgreSQL the database's name and oid, and the server's port and start
    time, as the server reports them (so ``localhost`` and ``127.0.0.1`` agree)."""
    with store._read() as conn:
        where = store.dialect.whereabouts(conn)
    return hashlib.sha256(where.encode()).hexdigest()[:16]
