"""API tokens, the append-only audit log and scheduler heartbeats.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

``gnomon_audit`` is append-only: on SQLite and PostgreSQL a database trigger refuses UPDATE
and DELETE, so even a bug in gnomon cannot rewrite history.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

_SQLITE_GUARDS = [
    "CREATE TRIGGER gnomon_audit_no_update BEFORE UPDATE ON gnomon_audit "
    "BEGIN SELECT RAISE(ABORT, 'gnomon_audit is append-only'); END",
    "CREATE TRIGGER gnomon_audit_no_delete BEFORE DELETE ON gnomon_audit "
    "BEGIN SELECT RAISE(ABORT, 'gnomon_audit is append-only'); END",
]
_PG_GUARDS = [
    "CREATE FUNCTION gnomon_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'gnomon_audit is append-only'; END $$",
    "CREATE TRIGGER gnomon_audit_append_only BEFORE UPDATE OR DELETE ON gnomon_audit "
    "FOR EACH ROW EXECUTE FUNCTION gnomon_audit_append_only()",
]


def upgrade() -> None:
    op.create_table(
        "gnomon_tokens",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("scope", sa.String(20), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("revoked_at", sa.BigInteger, nullable=True),
    )
    op.create_table(
        "gnomon_audit",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(50), nullable=False),
        sa.Column("target", sa.String(250), nullable=True),
        sa.Column("client", sa.String(100), nullable=True),
        sa.Column("diff", sa.Text, nullable=True),
    )
    op.create_index("ix_gnomon_audit_target", "gnomon_audit", ["target", "id"])
    op.create_table(
        "gnomon_schedulers",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("started_at", sa.BigInteger, nullable=False),
        sa.Column("beat_at", sa.BigInteger, nullable=False),
    )
    dialect = op.get_bind().dialect.name
    guards = (
        _SQLITE_GUARDS if dialect == "sqlite" else _PG_GUARDS if dialect == "postgresql" else []
    )
    for statement in guards:
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("gnomon_schedulers")
    op.drop_table("gnomon_audit")
    op.drop_table("gnomon_tokens")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS gnomon_audit_append_only()")
