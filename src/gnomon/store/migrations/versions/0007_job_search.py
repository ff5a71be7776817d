"""Job search over id, name and action summary, index-backed (issue 15).

``gnomon_jobs.search_text`` holds what a search looks in (:mod:`gnomon.search_text`), filled
here for the jobs already stored. SQLite indexes it with an FTS5 table (trigram tokenizer,
external content, kept by triggers) and reads its terms for 1-2 character searches;
PostgreSQL copies it into ``gnomon_jobs_search`` (a trigger, when it changes) and indexes
the copy with a pg_trgm GIN index, if the extension can be created (without it, searches of
3 letters or digits in a row scan: a warning says so), and a GIN index of the 1-2 character
pieces of each text for other searches.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""

import json
import logging

import sqlalchemy as sa
from alembic import op

from gnomon.models import ActionSpec
from gnomon.search_text import text_of

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None
log = logging.getLogger("gnomon.store.migrations")
BATCH = 1000

SQLITE_FTS = [
    "CREATE VIRTUAL TABLE gnomon_jobs_search USING fts5("
    "search_text, content='gnomon_jobs', tokenize='trigram case_sensitive 1')",
    "CREATE TRIGGER gnomon_jobs_search_insert AFTER INSERT ON gnomon_jobs BEGIN "
    "INSERT INTO gnomon_jobs_search(rowid, search_text) VALUES (new.rowid, new.search_text); "
    "END",
    "CREATE TRIGGER gnomon_jobs_search_delete AFTER DELETE ON gnomon_jobs BEGIN "
    "INSERT INTO gnomon_jobs_search(gnomon_jobs_search, rowid, search_text) "
    "VALUES ('delete', old.rowid, old.search_text); END",
    # Only when the text changes: advancing a job's next fire must not touch the index.
    "CREATE TRIGGER gnomon_jobs_search_update AFTER UPDATE OF search_text ON gnomon_jobs "
    "WHEN old.search_text IS NOT new.search_text BEGIN "
    "INSERT INTO gnomon_jobs_search(gnomon_jobs_search, rowid, search_text) "
    "VALUES ('delete', old.rowid, old.search_text); "
    "INSERT INTO gnomon_jobs_search(rowid, search_text) VALUES (new.rowid, new.search_text); "
    "END",
    # Its terms (trigrams) with the number of jobs holding each: searches of 1-2 characters.
    "CREATE VIRTUAL TABLE gnomon_jobs_search_terms USING fts5vocab(gnomon_jobs_search, row)",
    "INSERT INTO gnomon_jobs_search(gnomon_jobs_search) VALUES ('rebuild')",
]

# PostgreSQL: the text is copied into gnomon_jobs_search by a trigger, and indexed there.
# Not on gnomon_jobs itself: every fire updates a job's next_fire_at, an indexed column, so
# the update is never HOT and would insert every GIN entry of the row again (0.03 → 0.25 ms
# an advance, measured). The copy changes only when the text does.
POSTGRES_SEARCH = [
    "CREATE TABLE gnomon_jobs_search (job_id VARCHAR(200) PRIMARY KEY "
    "REFERENCES gnomon_jobs (id) ON DELETE CASCADE, search_text TEXT NOT NULL)",
    "INSERT INTO gnomon_jobs_search (job_id, search_text) SELECT id, search_text FROM gnomon_jobs",
    "CREATE FUNCTION gnomon_jobs_search_copy() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "INSERT INTO gnomon_jobs_search (job_id, search_text) VALUES (NEW.id, NEW.search_text) "
    "ON CONFLICT (job_id) DO UPDATE SET search_text = EXCLUDED.search_text; RETURN NULL; END $$",
    "CREATE TRIGGER gnomon_jobs_search_insert AFTER INSERT ON gnomon_jobs "
    "FOR EACH ROW EXECUTE FUNCTION gnomon_jobs_search_copy()",
    "CREATE TRIGGER gnomon_jobs_search_update AFTER UPDATE OF search_text ON gnomon_jobs "
    "FOR EACH ROW WHEN (OLD.search_text IS DISTINCT FROM NEW.search_text) "
    "EXECUTE FUNCTION gnomon_jobs_search_copy()",
    # pg_trgm indexes the trigrams of words: it cannot look up "ab", "a_b" or "50%". A GIN
    # index of every 1- and 2-character piece of the text answers those
    # (gnomon.store.dialect.PostgresDialect.search_indexed).
    "CREATE FUNCTION gnomon_search_pieces(t text) RETURNS text[] LANGUAGE sql IMMUTABLE STRICT "
    "PARALLEL SAFE AS $$ SELECT ARRAY(SELECT DISTINCT substr(t, i, n) "
    "FROM generate_series(1, length(t)) AS i, (VALUES (1), (2)) AS k(n) "
    "WHERE i + n - 1 <= length(t)) $$",
    "CREATE INDEX ix_gnomon_jobs_search_short ON gnomon_jobs_search "
    "USING gin (gnomon_search_pieces(search_text))",
]


def _fill(conn: sa.Connection) -> None:
    jobs = sa.table(
        "gnomon_jobs",
        sa.column("id"),
        sa.column("name"),
        sa.column("action_kind"),
        sa.column("action_config"),
        sa.column("search_text"),
    )
    query = sa.select(jobs.c.id, jobs.c.name, jobs.c.action_kind, jobs.c.action_config)
    found = conn.execute(query.order_by(jobs.c.id)).all()
    change = sa.update(jobs).where(jobs.c.id == sa.bindparam("b_id"))
    change = change.values(search_text=sa.bindparam("b_text"))
    for start in range(0, len(found), BATCH):
        values = []
        for row in found[start : start + BATCH]:
            try:
                config = json.loads(row.action_config)
            except ValueError:
                config = {}
            action = ActionSpec(kind=row.action_kind, config=config)
            values.append({"b_id": row.id, "b_text": text_of(row.id, row.name, action)})
        conn.execute(change, values)


def upgrade() -> None:
    conn = op.get_bind()
    op.add_column(
        "gnomon_jobs",
        sa.Column("search_text", sa.Text, nullable=False, server_default=sa.text("''")),
    )
    _fill(conn)
    if conn.dialect.name == "sqlite":
        for statement in SQLITE_FTS:
            conn.exec_driver_sql(statement)
        return
    for statement in POSTGRES_SEARCH:
        conn.exec_driver_sql(statement)
    try:
        with conn.begin_nested():
            conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except sa.exc.DBAPIError as exc:
        log.warning(
            "job search is not indexed: cannot create the pg_trgm extension (%s); searches "
            "read every job",
            str(exc.orig).splitlines()[0],
        )
        return
    op.create_index(
        "ix_gnomon_jobs_search",
        "gnomon_jobs_search",
        ["search_text"],
        postgresql_using="gin",
        postgresql_ops={"search_text": "gin_trgm_ops"},
    )


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        for name in ("insert", "delete", "update"):
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS gnomon_jobs_search_{name}")
        conn.exec_driver_sql("DROP TABLE IF EXISTS gnomon_jobs_search_terms")
        conn.exec_driver_sql("DROP TABLE IF EXISTS gnomon_jobs_search")
    else:
        conn.exec_driver_sql("DROP TABLE gnomon_jobs_search")
        conn.exec_driver_sql("DROP TRIGGER gnomon_jobs_search_insert ON gnomon_jobs")
        conn.exec_driver_sql("DROP TRIGGER gnomon_jobs_search_update ON gnomon_jobs")
        conn.exec_driver_sql("DROP FUNCTION gnomon_jobs_search_copy()")
        conn.exec_driver_sql("DROP FUNCTION gnomon_search_pieces(text)")
    op.drop_column("gnomon_jobs", "search_text")
