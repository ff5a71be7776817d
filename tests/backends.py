"""The databases every suite runs on: one fixture set, shared (issue 10).

``backend`` is ``sqlite`` or ``postgres`` (parametrize with :data:`BACKENDS`; the postgres
case is marked ``postgres`` and skips with the reason when the local server is absent, except
under ``CI=true``). ``store_url`` is an empty, migrated database on the test's backend: a copy of
a migrated SQLite file, or the session's PostgreSQL database with every gnomon table emptied
(milliseconds, where creating a database takes a second or more). ``new_database`` makes
databases of its own (migrations); ``postgres_url`` is a fresh, empty PostgreSQL database for
tests whose processes own the whole database (reliability).

PostgreSQL isolation: databases have random names, so several sessions (and xdist workers)
can share the server; all are dropped at the end of the session.
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from gnomon.store import SqlStore
from tests.servers import POSTGRES_URL, fresh_postgres_database, require

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]
_TABLES = """
    SELECT tablename FROM pg_tables
    WHERE schemaname = current_schema() AND tablename LIKE 'gnomon%'
      AND tablename <> 'gnomon_alembic_version'
"""


class PostgresDatabases:
    """Throw-away databases on the local server, all dropped at the end of the session."""

    def __init__(self) -> None:
        self.base = make_url(POSTGRES_URL)
        self.admin = psycopg.connect(self.dsn(self.base.database or "test"), autocommit=True)
        self.created: list[str] = []
        self._shared: str | None = None

    def dsn(self, name: str) -> str:
        url = self.base.set(drivername="postgresql", database=name)
        return url.render_as_string(hide_password=False)

    def url(self, name: str) -> str:
        return self.base.set(database=name).render_as_string(hide_password=False)

    def create(self, *, migrated: bool) -> str:
        name = f"gnomon_t_{secrets.token_hex(6)}"
        self.admin.execute(f"CREATE DATABASE {name}")
        self.created.append(name)
        if migrated:
            SqlStore(self.url(name)).close()
        return name

    def shared_empty(self) -> str:
        """The session's migrated database, with every gnomon table emptied."""
        if self._shared is None:
            self._shared = self.create(migrated=True)
        with psycopg.connect(self.dsn(self._shared), autocommit=True) as conn:
            tables = [row[0] for row in conn.execute(_TABLES)]
            if tables:  # TRUNCATE: the audit table's append-only triggers refuse DELETE
                conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY")
        return self.url(self._shared)

    def close(self) -> None:
        for name in self.created:
            self.admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        self.admin.close()


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[PostgresDatabases]:
    require("postgres")
    databases = PostgresDatabases()
    yield databases
    databases.close()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def new_database(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Callable[..., str]:
    """A factory of URLs of new databases on the backend, migrated unless told otherwise."""
    count = iter(range(1000))

    def new(*, migrated: bool = True) -> str:
        if backend == "sqlite":
            url = f"sqlite:///{tmp_path / f'gnomon-{next(count)}.db'}"
            if migrated:
                SqlStore(url).close()
            return url
        databases: PostgresDatabases = request.getfixturevalue("postgres_databases")
        return databases.url(databases.create(migrated=migrated))

    return new


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (faster than migrating each time)."""
    path = tmp_path_factory.mktemp("template") / "gnomon.db"
    SqlStore(f"sqlite:///{path}").close()
    return path


@pytest.fixture
def store_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty, migrated database on each backend."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "gnomon.db"
        shutil.copyfile(template, path)
        return f"sqlite:///{path}"
    databases: PostgresDatabases = request.getfixturevalue("postgres_databases")
    return databases.shared_empty()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty database on the local PostgreSQL server (dropped after the test)."""
    require("postgres")
    with fresh_postgres_database("gnomon_rel") as url:
        yield url
