"""Runs queued for a broker's workers: an index for the sweep that sends them again.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_gnomon_runs_queued",
        "gnomon_runs",
        ["lease_until"],
        postgresql_where=sa.text("status = 'queued'"),
        sqlite_where=sa.text("status = 'queued'"),
    )


def downgrade() -> None:
    op.drop_index("ix_gnomon_runs_queued", table_name="gnomon_runs")
