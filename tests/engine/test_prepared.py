"""Statements run straight on SQLite's driver have their constants written in their text."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import bindparam, literal, select
from sqlalchemy.dialects import sqlite

from gnomon.models import RunStatus
from gnomon.store.prepared import Prepared, inline_constants
from gnomon.store.sql import SqlStore
from gnomon.store.statements import CLAIMED_SINCE, LEASE_EXPIRED, NEXT_RUN
from gnomon.store.tables import runs


def compiled_sql(statement: Prepared, tmp_path: Path) -> tuple[str, tuple[str, ...]]:
    store = SqlStore(f"sqlite:///{tmp_path / 'g.db'}")
    try:
        with store.engine.connect() as conn:
            sql, order, _defaults = statement._compiled(conn)
    finally:
        store.close()
    return sql, order


def test_a_status_compared_with_a_constant_is_written_in_and_the_callers_values_stay_bound(
    tmp_path: Path,
) -> None:
    # SQLite recompiles a statement at each execution when a bound value could change its
    # plan, as a status can with the partial indexes on status (measured: ~7x slower).
    sql, order = compiled_sql(LEASE_EXPIRED, tmp_path)
    assert "status = 'running'" in sql
    assert "LIMIT 1" in sql
    assert order == ("now",)
    sql, order = compiled_sql(NEXT_RUN, tmp_path)
    assert "status = 'pending'" in sql
    assert "state != 'paused'" in sql
    assert order == ("after",)
    for status, statement in CLAIMED_SINCE.items():
        sql, order = compiled_sql(statement, tmp_path)
        assert f"status = '{status.value}'" in sql
        assert order == ("before", "worker")


def test_only_plain_strings_and_integers_are_written_in_and_quotes_are_escaped() -> None:
    query = select(runs.c.id).where(
        runs.c.error == "it's",
        runs.c.attempt == 3,
        runs.c.cancel_requested == literal(True),  # a boolean stays bound
        runs.c.due_at < bindparam("now"),
    )
    compiled = query.compile(dialect=sqlite.dialect())
    sql, order = inline_constants(str(compiled), tuple(compiled.positiontup or ()), compiled.binds)
    assert "error = 'it''s'" in sql
    assert "attempt = 3" in sql
    assert sql.count("?") == len(order) == 2
    assert order[-1] == "now"


def test_a_statement_with_a_question_mark_of_its_own_is_left_as_it_is() -> None:
    sql = "SELECT '?' FROM t WHERE a = ?"
    assert inline_constants(sql, ("a_1",), {}) == (sql, ("a_1",))


def test_the_written_in_statements_find_what_the_bound_ones_did(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'h.db'}")
    try:
        with store.engine.begin() as conn:
            conn.execute(
                runs.insert(),
                [
                    {
                        "job_id": "j",
                        "scheduled_for": i,
                        "attempt": 1,
                        "due_at": i,
                        "reason": "schedule",
                        "status": status.value,
                        "created_at": 0,
                        "worker": "w",
                        "lease_until": 100 + i,
                        "cancel_requested": False,
                    }
                    for i, status in enumerate(
                        [RunStatus.RUNNING, RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.PENDING]
                    )
                ],
            )
        with store.engine.connect() as conn:
            running = CLAIMED_SINCE[RunStatus.RUNNING].rows(conn, {"before": 0, "worker": "w"})
            queued = CLAIMED_SINCE[RunStatus.QUEUED].rows(conn, {"before": 0, "worker": "w"})
            assert [r[1:] for r in running] == [("j", 0), ("j", 2)]
            assert [r[1:] for r in queued] == [("j", 1)]
            assert LEASE_EXPIRED.rows(conn, {"now": 101}) == [(running[0][0],)]
            assert LEASE_EXPIRED.rows(conn, {"now": 100}) == []
    finally:
        store.close()
