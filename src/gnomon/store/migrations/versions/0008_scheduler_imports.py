"""Where each scheduler imports ``--python`` references from (``gnomon_schedulers.imports``),
shown by ``gnomon status``.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("gnomon_schedulers", sa.Column("imports", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("gnomon_schedulers") as batch:
        batch.drop_column("imports")
