"""Everything that differs between the databases gnomon stores in, in one place.

The rest of the store writes one statement for every database and asks its :class:`Dialect`
(``store.dialect``) only where the databases differ:

============================  ==============================  ================================
difference                    SQLite                          PostgreSQL
============================  ==============================  ================================
opening (:meth:`engine_        a file (its folder created),    a pool of 10 (+20), pinged
options`, :meth:`configure`)  WAL pragmas, ``BEGIN            before use; a session idle in a
                              IMMEDIATE`` for writes          transaction is ended after
                                                              ``IDLE_IN_TRANSACTION``
writers of one process        queue on a lock (one writer     run at once (row locks)
(:meth:`writer_lock`)         per database anyway)
insert unless the key is      ``INSERT … ON CONFLICT DO       the same, PostgreSQL's construct
taken (:meth:`insert_ignore`) NOTHING``
claim rows others may claim   no clause: the write            ``FOR UPDATE SKIP LOCKED``
(:meth:`skip_locked`,         transaction excludes every
:meth:`owned`)                other writer
read rows that must not       no clause                       ``FOR UPDATE`` (waits)
change before commit
(:meth:`wait_locked`)
hot statements                straight on the driver cursor   through SQLAlchemy
(:attr:`direct_driver`)       (see :mod:`~gnomon.store.
                              prepared`)
event ids                     visible in id order (one        may commit out of order, and a
(:attr:`ids_in_commit_order`) writer): a relay never waits    rollback leaves gaps: a relay
                                                              waits at a gap (see
                                                              :mod:`gnomon.events.relay`)
migrations by several         the write transaction           an advisory transaction lock
processes at once
(:meth:`migration_lock`)
WAL checkpoint                ``PRAGMA wal_checkpoint``       nothing to do
(:meth:`checkpoint`)
scheduler identity lock       ``flock`` beside the file       session advisory lock
(:meth:`try_hold`)            (:mod:`~gnomon.store.locks`)
outcome journal folder        beside the database file        ``GNOMON_STATE_DIR``, one
(:meth:`journal_folder`)                                      folder per database
wake other processes on a     nothing: they poll              ``NOTIFY`` in the transaction,
change (:meth:`notify`,                                       a ``LISTEN`` connection per
:meth:`listen`)                                               scheduler (:mod:`~gnomon.store.
                                                              listen`)
job search (:meth:`search_    FTS5 table ``gnomon_jobs_       a copy in ``gnomon_jobs_
scan`, :meth:`search_         search`` (trigram) and its      search``: ``LIKE`` (pg_trgm GIN)
indexed`)                     terms; ``instr`` for a scan     or ``@>`` (GIN of 1-2 character
                                                              pieces); ``strpos`` for a scan
a worker's start and outcome  several statements in one       one statement each (its writes
of one run (:attr:`one_       transaction (in process: no     in ``WITH``), committed by
statement_writes`)            round trips to save)            itself: one round trip
============================  ==============================  ================================

The schema's few dialect keywords (SQLite's INTEGER row ids, partial-index ``WHERE`` clauses)
are declared with the tables, in :mod:`gnomon.store.tables`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import sys
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import (
    ColumnClause,
    ColumnElement,
    Connection,
    Engine,
    Select,
    Table,
    Text,
    cast,
    column,
    event,
    false,
    func,
    literal,
    literal_column,
    select,
    table,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError

from gnomon.errors import ConfigError
from gnomon.store.listen import KEEPALIVE, NOTIFY, Subscription, WakeListener
from gnomon.store.locks import IdentityHold, try_advisory, try_flock
from gnomon.store.tables import jobs

log = logging.getLogger(__name__)
WRITE = "gnomon_write"  # execution option: this transaction writes (BEGIN IMMEDIATE)
MIGRATION_LOCK = 4774663  # PostgreSQL advisory lock id of schema migrations ('gnomon')
IDLE_IN_TRANSACTION = 10_000
"""Milliseconds a PostgreSQL session of gnomon may sit idle inside a transaction before the
server ends it (``idle_in_transaction_session_timeout``). gnomon's transactions take
milliseconds; a process frozen inside one (SIGSTOP, a paused VM, a debugger) would otherwise
keep its row locks and stall every other replica until it continues. Once the server has ended
the session, the frozen process's transaction fails when it wakes, and the lease hands its runs
to the others. A URL that sets its own ``options`` keeps them instead."""


def driver_execute(conn: Connection, sql: str, args: Any = (), *, many: bool = False) -> Any:
    """Run ``sql`` on the driver cursor of ``conn``; return the cursor (fetch, then close).

    Driver errors become SQLAlchemy's (``OperationalError``, ``IntegrityError`` …), exactly
    as if SQLAlchemy had executed the statement, so the store translates them as usual.
    """
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        if many:
            cursor.executemany(sql, args)
        else:
            cursor.execute(sql, args)
    except conn.dialect.loaded_dbapi.Error as exc:
        cursor.close()
        raise DBAPIError.instance(
            sql, args, exc, conn.dialect.loaded_dbapi.Error, dialect=conn.dialect
        ) from exc
    return cursor


class Dialect:
    """How one kind of database does what the store needs (see the module docstring)."""

    name: ClassVar[str]
    direct_driver: ClassVar[bool] = False
    ids_in_commit_order: ClassVar[bool] = False
    one_statement_writes: ClassVar[bool] = False
    """Whether a transaction of several writes may be one statement (data-modifying ``WITH``)
    run as its own transaction (autocommit): one round trip to the server where ``BEGIN``,
    the statements and ``COMMIT`` take one each. The Celery worker's start and outcome of a
    run use it (see :meth:`SqlBase._write_one`)."""
    pins_connections: ClassVar[bool] = False
    """Whether a thread that runs transactions all its life (the scheduler's loop, the
    recorder) keeps connections of its own instead of taking one from the pool for each (see
    :meth:`SqlBase.pinned`)."""
    checkpoints: ClassVar[bool] = False
    """Whether :meth:`checkpoint` does anything (a write-ahead log of the process's own to
    fold back): if not, the recorder is never woken for it."""

    def engine_options(self, url: URL) -> dict[str, Any]:
        """Keyword arguments of ``create_engine`` for ``url``."""
        return {}

    def whereabouts(self, conn: Connection) -> str:
        """What names this database among all others, the same from every process that
        opens it (credentials never part of it): digested into its identity."""
        raise NotImplementedError

    def configure(self, engine: Engine) -> None:
        """Set up a new engine (connection hooks)."""

    def writer_lock(self) -> AbstractContextManager[Any]:
        """What the writing transactions of one store queue on."""
        return nullcontext()

    def insert_ignore(self, table: Table) -> Any:
        """``INSERT`` that skips rows whose unique key is taken (ON CONFLICT DO NOTHING)."""
        raise NotImplementedError

    def skip_locked(self, query: Select[Any], *of: Any) -> Select[Any]:
        """``query`` claiming the rows it reads; rows another transaction claimed are skipped."""
        return query

    def wait_locked(self, query: Select[Any], *of: Any) -> Select[Any]:
        """``query`` holding the rows it reads until commit, waiting for other holders."""
        return query

    def owned(self, conn: Connection, query: Select[Any], wanted: set[Any]) -> set[Any]:
        """Of ``wanted`` (the values ``query`` selects), those this transaction now owns."""
        return wanted

    def migration_lock(self, conn: Connection) -> None:
        """Keep other processes from migrating the schema until this transaction ends."""

    def checkpoint(self, engine: Engine) -> int | None:
        """Fold a write-ahead log back into the database, without waiting; the size of the
        log it found, in pages (None: no log, or the checkpoint could not run)."""
        return None

    def try_hold(self, engine: Engine, identity: str) -> IdentityHold | None:
        """Hold ``identity`` on this database until the process dies, or None if held."""
        raise ConfigError(f"scheduler identities are not supported on {self.name}")

    def journal_folder(self, engine: Engine, state_dir: str | None) -> Path:
        """Where a scheduler of this database keeps its outcome journal."""
        url = engine.url.render_as_string(hide_password=True)
        digest = hashlib.sha256(url.encode()).hexdigest()[:16]
        return Path(state_dir or "~/.local/state/gnomon").expanduser() / digest

    def notify(self, conn: Connection) -> None:
        """Tell the processes listening on this database (:meth:`listen`) that what they
        should do next may have changed; sent when, and only if, this transaction commits."""

    def listen(self, engine: Engine, callback: Callable[[], None]) -> Subscription | None:
        """Call ``callback`` soon after each :meth:`notify` of another transaction commits
        (and once after reconnecting), in a thread of its own, until closed; None where the
        database has no such channel (callers poll)."""
        return None

    def search_scan(self, folded: str) -> ColumnElement[bool]:
        """Jobs whose ``search_text`` holds ``folded`` (exact case), by reading every job."""
        return func.strpos(jobs.c.search_text, folded) > 0

    def search_indexed(self, conn: Connection, folded: str) -> ColumnElement[bool]:
        """The jobs :meth:`search_scan` finds, through the search index where that is
        faster (PostgreSQL; SQLite overrides it)."""
        text_copy = _JOB_SEARCH_COPY.c.search_text
        match: ColumnElement[bool]
        if _WORD_TRIGRAM.search(folded):  # pg_trgm's index
            match = text_copy.like(f"%{escape_like(folded)}%", escape="\\")
        else:
            # pg_trgm indexes the trigrams of words (letters and digits): it can look up
            # nothing of "ab", "a_b" or "50%". The GIN index of every 1-2 character piece
            # of the texts finds the jobs holding all the pieces of the text; the substring
            # test then keeps those holding the text itself.
            if len(folded) == 1:
                wanted = [folded]
            else:
                wanted = sorted({folded[i : i + 2] for i in range(len(folded) - 1)})
            array = postgresql.array([cast(literal(p), Text) for p in wanted])
            pieces = func.gnomon_search_pieces(text_copy).op("@>")(array)
            match = pieces & (func.strpos(text_copy, folded) > 0)
        # As on SQLite, the index first says how many jobs hold the text (up to FEW):
        # more, and jobs are read in id order, which fills a page at once (1,400 matches
        # gathered through the copy cost 20-40 ms at 100k jobs; in id order ~3 ms).
        found = select(_JOB_SEARCH_COPY.c.job_id).where(match)
        probe = select(func.count()).select_from(found.limit(FEW + 1).subquery())
        if conn.execute(probe).scalar_one() > FEW:
            return self.search_scan(folded)
        return jobs.c.id.in_(found)


def escape_like(text: str) -> str:
    """``text`` as a literal inside a ``LIKE`` pattern whose escape character is ``\\``."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# How a search reads jobs, by how many hold the text (see the dialects' search_indexed).
FEW = 200
COMMON = 2000
# The FTS5 table (trigram tokenizer) over gnomon_jobs.search_text: migration 0007.
_JOB_FTS = table("gnomon_jobs_search", column("rowid"), column("gnomon_jobs_search"))
# PostgreSQL's indexed copy of gnomon_jobs.search_text (migration 0007).
_JOB_SEARCH_COPY = table("gnomon_jobs_search", column("job_id"), column("search_text"))
_JOB_TERMS = table("gnomon_jobs_search_terms", column("term"), column("doc"))  # fts5vocab
TRIGRAM = 3  # the shortest text a trigram index holds
_WORD_TRIGRAM = re.compile(r"[^\W_]{3}")  # a trigram pg_trgm can look up


class SqliteDialect(Dialect):
    """One file, one writer at a time: claims need no row locks, ids appear in order."""

    name = "sqlite"
    direct_driver = True
    ids_in_commit_order = True
    # A connection of the pool costs ~25 us per transaction to take and give back (~100 us
    # with cold caches, as in an idle scheduler); a file database has no server to lose it.
    pins_connections = True
    checkpoints = True

    def engine_options(self, url: URL) -> dict[str, Any]:
        database = url.database or ""
        if database in ("", ":memory:"):
            raise ConfigError("an in-memory SQLite database is not durable; give a file path")
        folder = Path(database).expanduser().parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"database file {database!r}: cannot create the folder {str(folder)!r} "
                f"({exc.strerror or exc})"
            ) from None
        return {"connect_args": {"check_same_thread": False, "timeout": 30}}

    def configure(self, engine: Engine) -> None:
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)

    def writer_lock(self) -> AbstractContextManager[Any]:
        # SQLite has one writer at a time. Threads of this process (scheduler, recorder,
        # heartbeat, API) queue for it on a lock, instead of colliding in BEGIN IMMEDIATE and
        # sleeping in SQLite's busy handler (1-100 ms steps). Other processes still meet at
        # the busy timeout.
        return threading.Lock()

    def insert_ignore(self, table: Table) -> Any:
        return sqlite.insert(table).on_conflict_do_nothing()

    def checkpoint(self, engine: Engine) -> int | None:
        raw = engine.raw_connection()
        try:
            cursor = raw.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)")  # type: ignore[union-attr]
            busy, frames, _copied = cursor.fetchone()
        except Exception as exc:  # busy or locked: the next checkpoint (or autocheckpoint) will do
            log.debug("checkpoint skipped: %s", exc)
            return None
        finally:
            raw.close()
        return None if busy else int(frames)

    def try_hold(self, engine: Engine, identity: str) -> IdentityHold | None:
        if os.name != "posix":
            return super().try_hold(engine, identity)
        return try_flock(engine, identity)

    def journal_folder(self, engine: Engine, state_dir: str | None) -> Path:
        # Every process of a SQLite database shares its host: the journal lives beside it.
        return Path(f"{engine.url.database}.schedulers")

    def whereabouts(self, conn: Connection) -> str:
        path = conn.engine.url.database or ":memory:"
        return f"sqlite:{path if path == ':memory:' else os.path.realpath(path)}"

    def search_scan(self, folded: str) -> ColumnElement[bool]:
        return func.instr(jobs.c.search_text, folded) > 0

    def search_indexed(self, conn: Connection, folded: str) -> ColumnElement[bool]:
        # SQLite's planner cannot tell a rare text from a common one, so the index is asked
        # first how many jobs hold the text (up to COMMON), and the plan follows (at 100k
        # jobs, a page of 51):
        # - up to FEW: the jobs are fetched by the rowids the index gives, then sorted by id
        #   (0.3-2 ms; for 18k matches it would be 25 ms);
        # - up to COMMON: the id index is walked in order, keeping the rowids the index gave
        #   (the unary + keeps SQLite from using them to drive the query), until a page is
        #   full: 2-5 ms, at worst a walk of the whole id index (8 ms);
        # - more: jobs are read in id order and tested, which fills a page at once (the
        #   rowids of the matches would cost more than the page: 25 ms at 18k).
        if len(folded) >= TRIGRAM:
            query = _phrase(folded)
            found = select(_JOB_FTS.c.rowid).where(_JOB_FTS.c.gnomon_jobs_search.op("MATCH")(query))
            # counted in SQL: 2,001 rows brought into Python cost allocations (and with
            # them garbage collections) that showed in an API server's p99
            probe = select(func.count()).select_from(found.limit(COMMON + 1).subquery())
            holding = conn.execute(probe).scalar_one()
        else:
            terms, holding = _trigrams_starting(conn, folded)
            if not terms:  # no job holds the text, or too many to list their trigrams
                return false() if holding == 0 else self.search_scan(folded)
            query = " OR ".join(_phrase(t) for t in terms)
            found = select(_JOB_FTS.c.rowid).where(_JOB_FTS.c.gnomon_jobs_search.op("MATCH")(query))
        if holding > COMMON:
            return self.search_scan(folded)
        rowid: ColumnClause[int] = literal_column(
            "gnomon_jobs.rowid" if holding <= FEW else "+gnomon_jobs.rowid"
        )
        # The FTS table points at jobs by rowid; the scan's test is repeated on the rows
        # found, so a stale index entry can never show a job.
        return rowid.in_(found) & self.search_scan(folded)


def _phrase(text: str) -> str:
    """A literal FTS5 phrase (a quote doubled); with the trigram tokenizer, a substring."""
    return '"' + text.replace('"', '""') + '"'


def _trigrams_starting(conn: Connection, prefix: str) -> tuple[list[str], int]:
    """The indexed trigrams that start with ``prefix`` (1 or 2 characters), and how many jobs
    hold them, counted once per trigram (an upper bound); past COMMON jobs, ``([], count)``.
    Every occurrence of such a text in a search text starts a trigram (search texts end with
    two separators: :data:`gnomon.search_text.SEPARATOR`), so the jobs holding one of these
    trigrams are exactly the jobs holding ``prefix``."""
    after = ord(prefix[-1]) + 1  # terms sort by code point (their UTF-8 bytes)
    if after > sys.maxunicode:
        return [], COMMON + 1
    if 0xD800 <= after <= 0xDFFF:  # surrogates are no characters: the next one is U+E000
        after = 0xE000
    upper = prefix[:-1] + chr(after)
    rows = conn.execute(
        select(_JOB_TERMS.c.term, _JOB_TERMS.c.doc).where(
            _JOB_TERMS.c.term >= prefix, _JOB_TERMS.c.term < upper
        )
    )
    terms, holding = [], 0
    try:
        for term, doc in rows:  # read lazily: a common prefix stops early
            holding += doc
            if holding > COMMON:
                return [], holding
            terms.append(term)
    finally:
        rows.close()
    return terms, holding


class PostgresDialect(Dialect):
    """A server with row locks: replicas claim with SKIP LOCKED; ids may commit out of order."""

    name = "postgresql"
    one_statement_writes = True

    def engine_options(self, url: URL) -> dict[str, Any]:
        options: dict[str, Any] = {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 20}
        if "options" not in url.query:
            timeout = f"-c idle_in_transaction_session_timeout={IDLE_IN_TRANSACTION}"
            options["connect_args"] = {"options": timeout}
        return options

    def insert_ignore(self, table: Table) -> Any:
        return postgresql.insert(table).on_conflict_do_nothing()

    def skip_locked(self, query: Select[Any], *of: Any) -> Select[Any]:
        return query.with_for_update(skip_locked=True, of=list(of) or None)

    def wait_locked(self, query: Select[Any], *of: Any) -> Select[Any]:
        return query.with_for_update(of=list(of) or None)

    def owned(self, conn: Connection, query: Select[Any], wanted: set[Any]) -> set[Any]:
        return set(conn.execute(query.with_for_update(skip_locked=True)).scalars())

    def migration_lock(self, conn: Connection) -> None:
        conn.execute(text(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))

    def try_hold(self, engine: Engine, identity: str) -> IdentityHold | None:
        return try_advisory(engine, identity)

    def whereabouts(self, conn: Connection) -> str:
        # As the server reports it, so that 'localhost' and '127.0.0.1' agree.
        name, oid, port, started = conn.execute(
            text(
                "SELECT current_database(), (SELECT oid FROM pg_database WHERE datname = "
                "current_database()), inet_server_port(), pg_postmaster_start_time()"
            )
        ).one()
        return f"postgresql:{name}:{oid}:{port}:{started.isoformat()}"

    def notify(self, conn: Connection) -> None:
        conn.exec_driver_sql(NOTIFY)

    def listen(self, engine: Engine, callback: Callable[[], None]) -> Subscription | None:
        cargs, cparams = engine.dialect.create_connect_args(engine.url)
        options = {**KEEPALIVE, **cparams, "autocommit": True}
        dbapi = engine.dialect.loaded_dbapi
        return WakeListener(lambda: dbapi.connect(*cargs, **options), callback).start()


DIALECTS: dict[str, Dialect] = {d.name: d for d in (SqliteDialect(), PostgresDialect())}


def dialect_named(name: str) -> Dialect:
    """The dialect of a SQLAlchemy backend name; :class:`ConfigError` for one gnomon lacks."""
    try:
        return DIALECTS[name]
    except KeyError:
        raise ConfigError(f"gnomon stores its data in SQLite or PostgreSQL, not {name}") from None


def dialect_of(bind: Engine | Connection) -> Dialect:
    """The dialect of an engine or connection."""
    return dialect_named(bind.dialect.name)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (see the begin hook)
    cursor = dbapi_conn.cursor()
    for pragma in (
        "journal_mode=WAL",
        "synchronous=NORMAL",
        "busy_timeout=30000",
        "temp_store=MEMORY",
        "foreign_keys=ON",
        # Checkpoint the WAL every ~40 MB instead of every ~4 MB: each commit of a step
        # touches ~10 pages, and frequent checkpoints (page copies + fsync) were ~15% of a
        # step's CPU. The WAL file is trimmed back to 64 MB at most after a checkpoint.
        "wal_autocheckpoint=10000",
        "journal_size_limit=67108864",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    mode = "BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE) else "BEGIN"
    # Straight to the driver: a full SQLAlchemy execution here cost ~50 us per transaction.
    driver_execute(conn, mode).close()


__all__ = ["DIALECTS", "WRITE", "Dialect", "dialect_named", "dialect_of", "driver_execute"]
