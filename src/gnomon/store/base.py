"""The SQL store's foundation: engine, transactions, statements built once.

See :mod:`gnomon.store.sql` for what the store guarantees, :mod:`gnomon.store.dialect` for
what differs between databases.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, bindparam, func, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from gnomon.instants import to_micros
from gnomon.models import JobState, RunReason, RunStatus
from gnomon.planning import AHEAD
from gnomon.redaction import redact_text
from gnomon.store.dialect import WRITE, dialect_of
from gnomon.store.engine import create_store_engine, driver_errors, upgrade_schema
from gnomon.store.listen import Subscription
from gnomon.store.prepared import Prepared
from gnomon.store.statements import ADVANCE, EVENT_COLUMNS, RUN_COLUMNS, START
from gnomon.store.tables import events, jobs, runs

log = logging.getLogger(__name__)

SMALL_WAL_FRAMES = 1000
"""A write-ahead log of fewer pages (4 MB) than this is folded back less often."""
MAX_CHECKPOINT_EVERY = 16.0
"""Seconds between two checkpoints at most while the log stays small (see
:meth:`SqlBase.checkpoint`)."""
_monotonic = time.monotonic  # (tests drive the checkpoints' cadence with their own)


class SqlBase:
    """One database: its engine, how transactions begin, and the statements built once."""

    def __init__(self, url: str, *, migrate: bool = True, pre_ping: bool = True) -> None:
        self.engine = create_store_engine(url, pre_ping=pre_ping)
        self.dialect = dialect_of(self.engine)
        self.url = redact_text(self.engine.url.render_as_string(hide_password=True))
        self._writer = self.dialect.writer_lock()
        self._pins = threading.local()  # a pinned thread's reading connection
        # The writing connection the pinned threads share (SQLite), used under self._writer,
        # and how many pinned threads hold it (see pinned).
        self._shared: Connection | None = None
        self._sharing = 0
        self._checkpoint_every = 0.0  # seconds (see checkpoint())
        self._checkpoint_next = 0.0  # _monotonic() from which a checkpoint may run
        if migrate:
            upgrade_schema(self.engine)
        # The scheduler's hot statements, built once (see gnomon.store.prepared).
        # Due jobs: those due at ``now``, and those due by ``until`` whose fires may be
        # planned ahead (see gnomon.planning.AHEAD). Both bounds walk the same index range.
        due = (
            jobs.c.next_fire_at <= bindparam("until"),
            or_(
                jobs.c.next_fire_at <= bindparam("now"),
                *(jobs.c.overlap == o.value for o in sorted(AHEAD)),
            ),
        )
        self._due_jobs = Prepared(
            self._locked(
                select(jobs).where(*due).order_by(jobs.c.next_fire_at).limit(bindparam("limit"))
            )
        )
        self._missed_due = Prepared(select(func.min(jobs.c.next_fire_at)).where(*due))
        self._due_runs = Prepared(
            self._locked(
                select(
                    runs, jobs.c.action_kind, jobs.c.action_config, jobs.c.policy, jobs.c.overlap
                )
                .join(jobs, jobs.c.id == runs.c.job_id)
                .where(
                    runs.c.status == RunStatus.PENDING.value,
                    runs.c.due_at <= bindparam("now"),
                    jobs.c.state != JobState.PAUSED.value,
                )
                .order_by(runs.c.due_at)
                .limit(bindparam("limit")),
                runs,
            )
        )
        self._insert_runs = Prepared(self._insert_ignore(runs), RUN_COLUMNS)
        self._insert_events = Prepared(events.insert(), EVENT_COLUMNS)
        self._insert_jobs = Prepared(jobs.insert(), [c.key for c in jobs.c])
        self._advance = Prepared(ADVANCE)
        # Built once: SQLAlchemy caches its compiled form and only expands the id list.
        self._held = select(
            runs.c.id, runs.c.worker, runs.c.job_id, runs.c.scheduled_for, runs.c.attempt
        ).where(
            runs.c.id.in_(bindparam("ids", expanding=True)),
            runs.c.status == RunStatus.RUNNING.value,
        )
        # Wait for row locks, never skip: a heartbeat holding one is no reason to refuse.
        self._held = self.dialect.wait_locked(self._held, runs)
        self._start = Prepared(START)

    def checkpoint_due(self) -> bool:
        """Would :meth:`checkpoint` do anything now? (Not while a small log waits; never on
        a database without a log of its own to fold back.)"""
        return self.dialect.checkpoints and _monotonic() >= self._checkpoint_next

    def checkpoint(self) -> None:
        """Fold SQLite's write-ahead log back into the database file, without waiting.

        Called off the scheduler's path (by the recorder thread), so the copy does not stall
        a step: left to autocheckpoint, it runs inside whichever commit crosses the WAL size
        limit (a scheduler step, for ~0.1-0.3 s). A no-op on other databases.

        The recorder calls this every second or so, when :meth:`checkpoint_due`. A
        checkpoint that finds a small log (under :data:`SMALL_WAL_FRAMES`) makes the next
        one wait, twice as long each time (1, 2, 4 … s) up to :data:`MAX_CHECKPOINT_EVERY`:
        a checkpoint costs two ``fsync`` calls however little it copies, and while few fires
        are due it copied a few dozen pages a second (~5% of an idle scheduler's CPU). A
        large log brings it back to every call.
        """
        if not self.checkpoint_due():
            return
        with driver_errors():
            frames = self.dialect.checkpoint(self.engine)
        if frames is not None and frames < SMALL_WAL_FRAMES:
            self._checkpoint_every = min(max(1.0, self._checkpoint_every * 2), MAX_CHECKPOINT_EVERY)
        else:
            self._checkpoint_every = 0.0
        # (A little early: a caller's own cadence of ~1 s must not miss it by a hair.)
        self._checkpoint_next = _monotonic() + max(0.0, self._checkpoint_every - 0.1)

    def listen(self, callback: Callable[[], None]) -> Subscription | None:
        """Call ``callback`` when another process commits a change that may move the next
        wake-up earlier (see :mod:`gnomon.store.listen`); None on SQLite."""
        return self.dialect.listen(self.engine, callback)

    def close(self) -> None:
        self.engine.dispose()

    # -- transactions -----------------------------------------------------------------

    # Every public method of the store reads or writes through these two, so the driver's
    # errors are translated into gnomon's here and nowhere else (see driver_errors).

    @contextmanager
    def pinned(self) -> Iterator[None]:
        """Within it, this thread's transactions use kept connections instead of taking one
        from the pool for each: for a thread that runs transactions all its life, such as the
        scheduler's loop and the recorder. It reads on a connection of its own; it writes —
        as every thread of the process does meanwhile — on one writing connection the pinned
        threads share, under the writer lock that serialises this process's writes anyway.

        Shared, because SQLite empties a connection's page cache whenever another connection
        has written since its last transaction: the loop's steps and the recorder's batches
        on connections of their own each began with a cold cache, which cost a step ~15%
        more per fire (bench/step_bench.py with the outcomes recorded on another
        connection: 27.5-28.0 against 23.6-24.7 µs). Only where the dialect says so
        (:attr:`Dialect.pins_connections`: SQLite); a no-op elsewhere, and inside another
        ``pinned``."""
        if not self.dialect.pins_connections or getattr(self._pins, "reader", None):
            yield
            return
        try:
            reader = self.engine.connect()
        except SQLAlchemyError:  # (the database is away: each transaction connects anew)
            yield
            return
        try:
            with self._writer:
                if self._shared is None:
                    self._shared = self.engine.connect().execution_options(**{WRITE: True})
                self._sharing += 1
        except SQLAlchemyError:
            self._close_all([reader])
            yield
            return
        self._pins.reader = reader
        try:
            yield
        finally:
            self._pins.reader = None
            closing = [reader]
            with self._writer:  # the last pinned thread out closes the shared connection
                self._sharing -= 1
                if not self._sharing and self._shared is not None:
                    closing.append(self._shared)
                    self._shared = None
            self._close_all(closing)

    @staticmethod
    def _close_all(connections: list[Connection]) -> None:
        for conn in connections:
            with contextlib.suppress(SQLAlchemyError):
                conn.close()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A write transaction: queued on the dialect's writer lock (SQLite: one writer per
        database), begun as a writer (``BEGIN IMMEDIATE``), committed at the end; on the
        pinned threads' shared connection while there is one (see :meth:`pinned`)."""
        with driver_errors(), self._writer:
            shared = self._shared
            if shared is not None:
                with shared.begin():
                    yield shared
                return
            conn_ = self.engine.connect().execution_options(**{WRITE: True})
            with conn_ as conn, conn.begin():
                yield conn

    @contextmanager
    def _write_one(self) -> Iterator[Connection]:
        """A write transaction that is exactly one statement, committed by the server as it
        ends (autocommit): no ``BEGIN`` and no ``COMMIT`` round trips. Only where the
        dialect has :attr:`~gnomon.store.dialect.Dialect.one_statement_writes`; the caller
        executes one statement, and only one."""
        with driver_errors():
            conn_ = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            with self._writer, conn_ as conn:
                yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        """A read-only transaction; never blocks writers."""
        reader = getattr(self._pins, "reader", None)
        if reader is not None and not reader.in_transaction():  # (else: nested)
            with driver_errors(), reader.begin():
                yield reader
            return
        with driver_errors(), self.engine.connect() as conn, conn.begin():
            yield conn

    def _insert_ignore(self, table: Any) -> Any:
        return self.dialect.insert_ignore(table)

    def _locked(self, query: Select[Any], *of: Any) -> Select[Any]:
        return self.dialect.skip_locked(query, *of)

    # -- jobs ---------------------------------------------------------------------------

    def _cancel_pending(self, conn: Connection, job_id: str, now: datetime) -> None:
        conn.execute(
            update(runs)
            .where(
                runs.c.job_id == job_id,
                runs.c.status.in_((RunStatus.PENDING.value, RunStatus.QUEUED.value)),
            )
            .values(
                status=RunStatus.CANCELLED.value,
                finished_at=to_micros(now),
                error="job removed or rescheduled",
            )
        )

    # -- the scheduler's work -----------------------------------------------------------

    @staticmethod
    def _retry_values(
        job_id: str, scheduled_for: int, attempt: int, due: datetime, now: datetime
    ) -> dict[str, Any]:
        return {
            "job_id": job_id,
            "scheduled_for": scheduled_for,
            "attempt": attempt,
            "due_at": to_micros(due),
            "reason": RunReason.RETRY.value,
            "status": RunStatus.PENDING.value,
            "created_at": to_micros(now),
            "started_at": None,
            "finished_at": None,
            "worker": None,
            "lease_until": None,
            "cancel_requested": False,
            "result": None,
            "error": None,
            "output": None,
        }
