"""Initial schema: jobs, runs, events.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "gnomon_jobs",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("trigger", sa.Text, nullable=False),
        sa.Column("action_kind", sa.String(100), nullable=False),
        sa.Column("action_config", sa.Text, nullable=False),
        sa.Column("policy", sa.Text, nullable=False),
        sa.Column("overlap", sa.String(20), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("next_fire_at", sa.BigInteger, nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_gnomon_jobs_next_fire_at", "gnomon_jobs", ["next_fire_at"])
    op.create_table(
        "gnomon_runs",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("job_id", sa.String(200), nullable=False),
        sa.Column("scheduled_for", sa.BigInteger, nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("due_at", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("started_at", sa.BigInteger, nullable=True),
        sa.Column("finished_at", sa.BigInteger, nullable=True),
        sa.Column("worker", sa.String(200), nullable=True),
        sa.Column("lease_until", sa.BigInteger, nullable=True),
        sa.Column("cancel_requested", sa.Boolean, nullable=False, server_default=sa.text("false")),
        sa.Column("result", sa.Text, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("output", sa.Text, nullable=True),
        sa.UniqueConstraint("job_id", "scheduled_for", "attempt", name="uq_gnomon_runs_fire"),
    )
    op.create_index("ix_gnomon_runs_job", "gnomon_runs", ["job_id", "id"])
    pending = sa.text("status = 'pending'")
    running = sa.text("status = 'running'")
    op.create_index(
        "ix_gnomon_runs_pending",
        "gnomon_runs",
        ["due_at"],
        postgresql_where=pending,
        sqlite_where=pending,
    )
    op.create_index(
        "ix_gnomon_runs_running",
        "gnomon_runs",
        ["lease_until"],
        postgresql_where=running,
        sqlite_where=running,
    )
    op.create_table(
        "gnomon_events",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(50), nullable=False),
        sa.Column("job_id", sa.String(200), nullable=True),
        sa.Column("run_id", sa.BigInteger, nullable=True),
        sa.Column("data", sa.Text, nullable=True),
    )
    op.create_index("ix_gnomon_events_job", "gnomon_events", ["job_id", "id"])


def downgrade() -> None:
    op.drop_table("gnomon_events")
    op.drop_table("gnomon_runs")
    op.drop_table("gnomon_jobs")
