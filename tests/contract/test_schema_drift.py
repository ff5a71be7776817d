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
                },
            )
            differences = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    assert differences == []
