"""Opening a database: URL handling, connection settings, and migrations on start.

SQLite runs in WAL mode with ``synchronous=NORMAL`` and a 30 s busy timeout. Transactions
that write start with ``BEGIN IMMEDIATE``, so a reader never has to upgrade to a writer
mid-transaction (which fails with ``SQLITE_BUSY_SNAPSHOT`` whatever the busy timeout);
read-only transactions start with a plain ``BEGIN`` and never block writers.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import (
    ArgumentError,
    DatabaseError,
    IntegrityError,
    OperationalError,
    SQLAlchemyError,
)

from gnomon.errors import ConfigError, Conflict, MigrationError, StoreError, StoreUnavailable
from gnomon.store.dialect import WRITE, dialect_named, dialect_of

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).parent / "migrations"


def error_line(exc: BaseException) -> str:
    """A driver error as one line (psycopg's connection errors span several)."""
    return " ".join(str(getattr(exc, "orig", None) or exc).split())


@contextmanager
def driver_errors() -> Iterator[None]:
    """Translate the driver's errors into gnomon's at the store's boundary: a connection
    that fails is :class:`StoreUnavailable`, a unique key already taken is :class:`Conflict`,
    any other database error is :class:`StoreError`. Nothing of SQLAlchemy's gets out."""
    try:
        yield
    except OperationalError as exc:
        raise StoreUnavailable(f"database unavailable: {error_line(exc)}") from exc
    except IntegrityError as exc:
        raise Conflict(f"the change conflicts with what is stored: {error_line(exc)}") from exc
    except SQLAlchemyError as exc:
        raise StoreError(f"database error: {error_line(exc)}") from exc


def normalise_url(url: str) -> str:
    """Accept a SQLAlchemy URL, ``postgresql://…`` (psycopg 3 is used) or a SQLite path."""
    if "://" not in url:
        return f"sqlite:///{Path(url).expanduser()}"
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def create_store_engine(url: str, *, pre_ping: bool = True) -> Engine:
    """An engine for ``url`` with gnomon's connection settings (its dialect's). Without
    ``pre_ping``, a connection taken from the pool is not tested first (one round trip less
    per transaction): a connection the server dropped then fails its first statement, as
    :class:`StoreUnavailable`, which the caller must retry."""
    full = normalise_url(url)
    try:
        parsed = make_url(full)
    except ArgumentError:
        raise ConfigError(f"database URL {url!r} is not valid") from None
    try:
        dialect = dialect_named(parsed.get_backend_name())
    except ConfigError as exc:
        raise ConfigError(f"cannot use database URL {url!r}: {exc}") from None
    kwargs = dialect.engine_options(parsed)
    if not pre_ping:
        kwargs.pop("pool_pre_ping", None)
    try:
        engine = create_engine(full, **kwargs)
    except Exception as exc:  # unknown dialect, missing driver
        raise ConfigError(f"cannot use database URL {url!r}: {error_line(exc)}") from None
    dialect.configure(engine)
    return engine


SCHEMA_HEAD = "0008"
"""The newest migration's revision (a test checks it is Alembic's head). A database already
there is opened without importing Alembic at all: CLI commands start faster."""
VERSION_TABLE = "gnomon_alembic_version"


def schema_is_current(engine: Engine) -> bool:
    try:
        with engine.connect() as conn, conn.begin():
            if not inspect(conn).has_table(VERSION_TABLE):
                return False
            current = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()  # noqa: S608 - a constant table name
    except OperationalError as exc:
        raise StoreUnavailable(f"database unavailable: {error_line(exc)}") from exc
    except DatabaseError as exc:  # e.g. --db pointing at a file that is not a database
        where = engine.url.render_as_string(hide_password=True)
        raise StoreError(f"cannot use database {where}: {error_line(exc)}") from exc
    return bool(current == SCHEMA_HEAD)


def upgrade_schema(engine: Engine) -> None:
    """Bring the schema to the newest migration; safe with several processes starting."""
    if schema_is_current(engine):
        return
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    try:
        with engine.connect().execution_options(**{WRITE: True}) as conn, conn.begin():
            dialect_of(conn).migration_lock(conn)
            context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
            if context.get_current_revision() == head:
                return
            from alembic import command

            config.attributes["connection"] = conn
            log.info("migrating database schema to revision %s", head)
            command.upgrade(config, "head")
    except OperationalError as exc:
        raise StoreUnavailable(f"database unavailable: {error_line(exc)}") from exc
    except Exception as exc:
        raise MigrationError(f"could not migrate the database schema: {error_line(exc)}") from exc
