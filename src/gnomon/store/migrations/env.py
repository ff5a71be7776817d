"""Alembic environment: gnomon runs migrations itself on start, on a given connection."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    render_as_batch=connection.dialect.name == "sqlite",
    version_table="gnomon_alembic_version",
)
with context.begin_transaction():
    context.run_migrations()
