"""The schema. Instants are BIGINT microseconds since the epoch (UTC); JSON is TEXT.

``jobs.next_fire_at`` *is* the queue: the scheduler reads due jobs through its index, so
memory and per-tick work do not grow with the number of jobs. It is NULL for paused and
finished jobs, which therefore cost nothing. ``runs`` has one row per attempt at a fire;
``UNIQUE (job_id, scheduled_for, attempt)`` is what makes a fire impossible to record twice.
``events`` is the lifecycle history, ``sink_cursors`` how far each event sink delivered it;
``tokens``, ``audit`` and ``schedulers`` serve the API and status (:mod:`gnomon.store.admin`);
``tallies`` counts the runs pruned away (:mod:`gnomon.store.retention`), so the totals the
metrics report never go down.
Every table is here, in one ``metadata``; a test compares it with what the migrations build.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData()
# SQLite only auto-increments an INTEGER PRIMARY KEY (the rowid alias).
Id = BigInteger().with_variant(Integer(), "sqlite")

jobs = Table(
    "gnomon_jobs",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("name", String(500), nullable=False),
    Column("trigger", Text, nullable=False),
    Column("action_kind", String(100), nullable=False),
    Column("action_config", Text, nullable=False),
    Column("policy", Text, nullable=False),
    Column("overlap", String(20), nullable=False),
    Column("state", String(20), nullable=False),
    Column("next_fire_at", BigInteger, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    # What a job search looks in (gnomon.search_text), written with the job. Its index is
    # not declared here, as it depends on the database: the FTS5 table gnomon_jobs_search
    # (trigram tokenizer, kept by triggers) on SQLite; on PostgreSQL, GIN indexes of a copy
    # kept by a trigger, gnomon_jobs_search, so advancing next_fire_at never touches them
    # (migration 0007).
    Column("search_text", Text, nullable=False, server_default=text("''")),
    Index("ix_gnomon_jobs_next_fire_at", "next_fire_at"),
)

runs = Table(
    "gnomon_runs",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("job_id", String(200), nullable=False),
    Column("scheduled_for", BigInteger, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("due_at", BigInteger, nullable=False),
    Column("reason", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("started_at", BigInteger, nullable=True),
    Column("finished_at", BigInteger, nullable=True),
    Column("worker", String(200), nullable=True),
    Column("lease_until", BigInteger, nullable=True),
    Column("cancel_requested", Boolean, nullable=False, server_default=text("false")),
    Column("result", Text, nullable=True),
    Column("error", Text, nullable=True),
    Column("output", Text, nullable=True),
    UniqueConstraint("job_id", "scheduled_for", "attempt", name="uq_gnomon_runs_fire"),
    Index("ix_gnomon_runs_job", "job_id", "id"),
    Index(
        "ix_gnomon_runs_pending",
        "due_at",
        postgresql_where=text("status = 'pending'"),
        sqlite_where=text("status = 'pending'"),
    ),
    Index(
        "ix_gnomon_runs_running",
        "lease_until",
        postgresql_where=text("status = 'running'"),
        sqlite_where=text("status = 'running'"),
    ),
    Index(
        "ix_gnomon_runs_queued",
        "lease_until",
        postgresql_where=text("status = 'queued'"),
        sqlite_where=text("status = 'queued'"),
    ),
)

events = Table(
    "gnomon_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("at", BigInteger, nullable=False),
    Column("kind", String(50), nullable=False),
    Column("job_id", String(200), nullable=True),
    Column("run_id", BigInteger, nullable=True),
    Column("data", Text, nullable=True),
    Index("ix_gnomon_events_job", "job_id", "id"),
)

sink_cursors = Table(
    "gnomon_sink_cursors",
    metadata,
    Column("name", String(100), primary_key=True),
    # Every event with an id up to this one was delivered (or dropped) by the sink.
    Column("after_id", BigInteger, nullable=False),
    Column("holder", String(200), nullable=True),
    Column("lease_until", BigInteger, nullable=True),
    # How the next event is doing: failed attempts, when to try again, the last error.
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("retry_at", BigInteger, nullable=True),
    Column("error", Text, nullable=True),
    Column("updated_at", BigInteger, nullable=False),
)

tokens = Table(
    "gnomon_tokens",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("scope", String(20), nullable=False),
    # SHA-256 of the whole token (gnomon.store.admin): the secret itself is never stored.
    Column("hash", String(64), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger),
)

# Append-only: the 0002 migration adds database triggers that refuse UPDATE and DELETE.
audit = Table(
    "gnomon_audit",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("at", BigInteger, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(50), nullable=False),
    Column("target", String(250)),
    Column("client", String(100)),
    Column("diff", Text),
    Index("ix_gnomon_audit_target", "target", "id"),
)

# One row per scheduler seen, with its last heartbeat (for status and health).
schedulers = Table(
    "gnomon_schedulers",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("started_at", BigInteger, nullable=False),
    Column("beat_at", BigInteger, nullable=False),
    # The folders it imports ``--python`` references from, os.pathsep-joined (None: unknown).
    Column("imports", Text, nullable=True),
)

# Running totals by name, e.g. ``pruned.runs.missed`` or ``pruned.fires.schedule``: what the
# pruner removed, added back to the counts of the history (gnomon.store.retention).
tallies = Table(
    "gnomon_tallies",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("count", BigInteger, nullable=False),
)

# Named broker destinations (gnomon.destinations); those in the settings are not stored here.
destinations = Table(
    "gnomon_destinations",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("url", Text, nullable=False),
    Column("exchange", String(255), nullable=True),
    Column("queue", String(255), nullable=True),
    Column("routing_key", String(255), nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)
