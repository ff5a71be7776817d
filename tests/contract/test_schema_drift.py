"""The tables the code uses (store/tables.py) are the tables the migrations build.

Alembic compares ``tables.metadata`` with a database brought to the newest revision by the
migrations alone, on SQLite and PostgreSQL: any difference (a column, a type, a nullability, a
server default, an index, a unique constraint) means a migration or a table definition is missing.
"""

from __future__ import annotations

from collections.abc import Callable

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine

from gnomon.store.engine import VERSION_TABLE, normalise_url
from gnomon.store.tables import metadata

# The job-search index depends on the database (migration 0007), so it is not declared in
# the tables: on SQLite an FTS5 virtual table and the shadow tables FTS5 keeps for it, on
# PostgreSQL two GIN indexes (the pg_trgm one absent when the extension cannot be created).
SEARCH_INDEX = "ix_gnomon_jobs_search"
FTS_TABLE = "gnomon_jobs_search"


def is_compared(name: str | None, type_: str, parent_names: object) -> bool:
    if type_ == "table":
        return not (name or "").startswith(FTS_TABLE)
    return not (type_ == "index" and (name or "").startswith(SEARCH_INDEX))


def test_the_migrations_build_exactly_the_tables_of_the_code(
    new_database: Callable[..., str],
) -> None:
    url = new_database(migrated=True)  # SqlStore ran every migration on it
    engine = create_engine(normalise_url(url))
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn,
                opts={
                    "version_table": VERSION_TABLE,
                    "compare_type": True,
                    "compare_server_default": True,
                    "include_name": is_compared,
                },
            )
            differences = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    assert differences == []
