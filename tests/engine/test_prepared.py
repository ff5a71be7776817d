"""Statements run straight on SQLite's driver have their constants written in their text."""

from __future__ import annotations

from pathlib import Path

import pytest
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


def test_run_writes_each_parameter_set_in_order_with_defaults_and_single_columns(
    tmp_path: Path,
) -> None:
    """``Prepared.run`` takes each row's values in the statement's order (in C, with
    ``itemgetter``); a row that leaves a parameter to its default falls back to it, and a
    statement of one parameter works as well."""
    from sqlalchemy import Column, Integer, MetaData, String, Table, insert

    meta = MetaData()
    things = Table(
        "things",
        meta,
        Column("a", Integer),
        Column("b", String),
        Column("c", String, default="dflt"),
    )
    store = SqlStore(f"sqlite:///{tmp_path / 'g.db'}")
    try:
        with store.engine.begin() as conn:
            meta.create_all(conn)
            three = Prepared(insert(things), ["a", "b", "c"])
            three.run(conn, [{"a": 1, "b": "x", "c": "y"}, {"c": "z", "b": "w", "a": 2}])
            left = Prepared(insert(things).values(c=bindparam("c", "dflt")), ["a", "b"])
            left.run(conn, [{"a": 3, "b": "v"}])  # "c" left to its default
            one = Prepared(insert(things), ["a"])
            one.run(conn, [{"a": 4}, {"a": 5, "ignored": 0}])
            found = conn.execute(select(things).order_by(things.c.a)).all()
    finally:
        store.close()
    assert [tuple(r) for r in found] == [
        (1, "x", "y"),
        (2, "w", "z"),
        (3, "v", "dflt"),
        (4, None, None),  # (a column's own default is SQLAlchemy's, not sqlite3's)
        (5, None, None),
    ]


def test_many_rows_go_in_and_out_in_chunks_letting_a_waiting_thread_run_between_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A step writes hundreds of rows: ``Prepared.run`` hands them to the driver
    :data:`~gnomon.store.prepared.CHUNK` at a time, with :func:`gnomon.gil.courtesy` before
    each, so a run falling due meanwhile does not wait for the GIL until the last row; every
    row is written, in order. A query's rows are read the same way."""
    from sqlalchemy import Column, Integer, MetaData, Table, insert

    from gnomon.store import prepared

    courtesies: list[int] = []
    monkeypatch.setattr(prepared, "CHUNK", 3)
    monkeypatch.setattr(prepared.gil, "courtesy", lambda: courtesies.append(1))
    meta = MetaData()
    things = Table("things", meta, Column("a", Integer))
    store = SqlStore(f"sqlite:///{tmp_path / 'g.db'}")
    try:
        with store.engine.begin() as conn:
            meta.create_all(conn)
            statement = Prepared(insert(things), ["a"])
            statement.run(conn, [{"a": i} for i in range(3)])  # one chunk: no courtesy
            assert courtesies == []
            statement.run(conn, [{"a": i} for i in range(3, 11)])  # 3 + 3 + 2
            assert len(courtesies) == 3
            found = [a for (a,) in conn.execute(select(things.c.a).order_by(things.c.a))]
            # And the rows a query reads, as many at a time.
            query = Prepared(select(things.c.a).order_by(things.c.a))
            courtesies.clear()
            assert [a for (a,) in query.rows(conn)] == list(range(11))
            assert len(courtesies) == 3  # 3 + 3 + 3 + 2
            assert [m["a"] for m in query.mappings(conn)] == list(range(11))
            courtesies.clear()
            assert [a for (a,) in Prepared(select(things.c.a).limit(3)).rows(conn)] == [0, 1, 2]
            assert len(courtesies) == 1  # (a full chunk: one more look, which finds none)
    finally:
        store.close()
    assert found == list(range(11))


def test_finish_values_are_the_outcome_values_under_finishs_names() -> None:
    from datetime import UTC, datetime

    from gnomon.store.outcomes import finish_values, outcome_values
    from gnomon.store.rows import FinishedRun

    item = FinishedRun(
        run_id=7,
        worker="w",
        status=RunStatus.FAILED,
        finished_at=datetime(2026, 1, 1, tzinfo=UTC),
        result={"n": 1},
        error="boom",
        output="out",
    )
    assert finish_values(item) == {f"b_{k}": v for k, v in outcome_values(item).items()}
