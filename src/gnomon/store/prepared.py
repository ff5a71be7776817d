"""Hot statements compiled once and run straight on the SQLite driver.

SQLAlchemy Core costs tens of microseconds per statement (building the construct, its cache
key, the execution context, result wrapping) where sqlite3 itself needs a few. The scheduler's
steady work — advancing due jobs, starting runs, recording outcomes, finding the next wake-up —
is a handful of statements per fire, so on SQLite that overhead *is* the scheduler's CPU time.

A :class:`Prepared` statement is still written once as a SQLAlchemy construct (so it stays the
same statement on every database); on SQLite it is compiled once and executed on the DBAPI
cursor of the same connection, inside the same transaction. Other databases execute the
construct through SQLAlchemy as usual (the dialect's ``direct_driver`` says which). Only
statements with plain scalar parameters qualify: no expanding ``IN`` lists, no type
processing beyond what sqlite3 does itself (integers, strings, None).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection

from gnomon import gil
from gnomon.store.dialect import DIALECTS, driver_execute

CHUNK = 32
"""Rows per ``executemany`` call of :meth:`Prepared.run`, with :func:`gnomon.gil.courtesy`
between calls. The driver holds the GIL while it binds each row and lets it go only for an
instant while SQLite writes it: too short for a thread that waits for the GIL to wake and
take it. So a run falling due while a step or a batch of outcomes wrote a few hundred rows in
one call waited up to the switch interval (5 ms) for it. The same for the rows a query
reads (:func:`fetch_all`)."""


def inline_constants(
    sql: str, order: tuple[str, ...], binds: Mapping[str, Any]
) -> tuple[str, tuple[str, ...]]:
    """``sql`` (qmark placeholders, ``order`` naming each) with the statement's constants
    written in: ``runs.c.status == 'pending'`` becomes ``status = 'pending'``, not
    ``status = ?``. What stays a parameter is what the caller passes (``bindparam("now")``).

    Why: SQLite recompiles a statement at every execution when the value bound to a
    parameter could change its plan — as a status compared with partial indexes on status
    (``ix_gnomon_runs_pending`` …) can. A status bound as ``?`` made each execution of the
    step's look-up of due runs prepare it again: ~70 us instead of ~10 us, measured, for a
    statement that found nothing. Only plain strings and integers are written in (never
    booleans or None, whose SQL differs); a statement whose text holds a ``?`` of its own
    is left as it is."""
    pieces = sql.split("?")
    if len(pieces) != len(order) + 1:
        return sql, order
    out, kept = [pieces[0]], []
    for name, piece in zip(order, pieces[1:], strict=True):
        bind = binds.get(name)
        value = getattr(bind, "value", None)
        constant = bind is not None and bind.unique and not bind.expanding
        if constant and isinstance(value, str):
            out.append("'" + value.replace("'", "''") + "'")
        elif constant and type(value) is int:
            out.append(str(value))
        else:
            out.append("?")
            kept.append(name)
        out.append(piece)
    return "".join(out), tuple(kept)


def fetch_all(cursor: Any) -> list[Any]:
    """Every row of ``cursor``, :data:`CHUNK` at a time with :func:`gnomon.gil.courtesy`
    between (a step reads a few hundred due jobs: see :data:`CHUNK`)."""
    found: list[Any] = []
    while True:
        part = cursor.fetchmany(CHUNK)
        found += part
        if len(part) < CHUNK:
            return found
        gil.courtesy()  # a run due meanwhile starts on time (gnomon.gil)


class Prepared:
    """One statement; :meth:`rows` for queries, :meth:`run` for writes (``executemany``)."""

    def __init__(self, statement: Any, columns: Sequence[str] | None = None) -> None:
        """``columns``: for an INSERT without values, the columns each parameter set gives."""
        self.statement = statement  # an executable Core construct (select, insert, update)
        self.columns = list(columns) if columns is not None else None
        self._direct: tuple[str, tuple[str, ...], dict[str, Any]] | None = None
        self._take: Callable[[Mapping[str, Any]], Sequence[Any]] | None = None

    def _compiled(self, conn: Connection) -> tuple[str, tuple[str, ...], dict[str, Any]]:
        if self._direct is None:
            compiled = self.statement.compile(dialect=conn.dialect, column_keys=self.columns)
            order = tuple(compiled.positiontup or ())
            sql, order = inline_constants(str(compiled), order, compiled.binds)
            self._direct = (sql, order, dict(compiled.params))
        return self._direct

    def _args(self, conn: Connection, params: Mapping[str, Any]) -> tuple[str, list[Any]]:
        sql, order, defaults = self._compiled(conn)
        return sql, [params[k] if k in params else defaults[k] for k in order]

    def rows(self, conn: Connection, params: Mapping[str, Any] | None = None) -> list[Any]:
        """The result rows (tuples on SQLite, Row objects elsewhere; both index by position)."""
        if not DIALECTS[conn.dialect.name].direct_driver:
            return list(conn.execute(self.statement, dict(params or {})).all())
        sql, args = self._args(conn, params or {})
        cursor = driver_execute(conn, sql, args)
        try:
            return fetch_all(cursor)
        finally:
            cursor.close()

    def mappings(
        self, conn: Connection, params: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """The result rows as dicts keyed by column name."""
        if not DIALECTS[conn.dialect.name].direct_driver:
            return [dict(m) for m in conn.execute(self.statement, dict(params or {})).mappings()]
        sql, args = self._args(conn, params or {})
        cursor = driver_execute(conn, sql, args)
        try:
            found = fetch_all(cursor)
            names = [d[0] for d in cursor.description]
        finally:
            cursor.close()
        return [dict(zip(names, row, strict=True)) for row in found]

    def run(self, conn: Connection, params: Sequence[Mapping[str, Any]]) -> None:
        """Execute once per parameter set (``executemany``)."""
        if not params:
            return
        if not DIALECTS[conn.dialect.name].direct_driver:
            conn.execute(self.statement, [dict(p) for p in params])
            return
        sql, order, defaults = self._compiled(conn)
        take = self._getter(order)
        try:  # each row's values in order, in C (a step writes thousands of rows)
            args: list[Any] = [take(p) for p in params]
        except KeyError:  # a parameter left to its default
            args = [[p[k] if k in p else defaults[k] for k in order] for p in params]
        if len(args) <= CHUNK:
            driver_execute(conn, sql, args, many=True).close()
            return
        for start in range(0, len(args), CHUNK):
            gil.courtesy()  # a run due meanwhile starts on time (gnomon.gil)
            driver_execute(conn, sql, args[start : start + CHUNK], many=True).close()

    def _getter(self, order: tuple[str, ...]) -> Callable[[Mapping[str, Any]], Sequence[Any]]:
        """A function from a parameter set to its values in ``order``: ``itemgetter``, whose
        answer is a tuple for two names or more (wrapped for fewer)."""
        if self._take is None:
            if len(order) > 1:  # (from one name, itemgetter returns the bare value)
                self._take = itemgetter(*order)
            else:
                self._take = lambda p: tuple(p[k] for k in order)
        return self._take


class Compiled:
    """One statement compiled once for each database that executes it, then executed as its
    SQL text on the driver's cursor: no construct walked, no cache key computed and no
    result object built per call. For single statements on a worker's path per run (see
    :data:`gnomon.store.statements.START_QUEUED`). A connection the server dropped fails the
    statement (:class:`StoreUnavailable` at the store's boundary) and is discarded by the
    pool when handed back, whose reset fails on it
    (``tests/integration/celery/test_worker_store.py``)."""

    def __init__(self, statement: Any) -> None:
        self.statement = statement  # an executable construct, e.g. text()
        self._sql: dict[str, tuple[str, tuple[str, ...] | None, dict[str, Any]]] = {}

    def first(self, conn: Connection, params: Mapping[str, Any]) -> dict[str, Any] | None:
        """The first result row (by column name), or None."""
        found = self.all(conn, params, limit=1)
        return found[0] if found else None

    def all(
        self, conn: Connection, params: Mapping[str, Any], *, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """The result rows (by column name), at most ``limit``."""
        found = self._sql.get(conn.dialect.name)
        if found is None:
            compiled = self.statement.compile(dialect=conn.dialect)
            order = tuple(compiled.positiontup) if compiled.positiontup else None
            found = (str(compiled), order, dict(compiled.params))
            self._sql[conn.dialect.name] = found
        sql, order, defaults = found
        values = {**defaults, **params}
        args: Any = values if order is None else tuple(values[k] for k in order)
        cursor = driver_execute(conn, sql, args)
        try:
            got = cursor.fetchall() if limit is None else cursor.fetchmany(limit)
            if not got:
                return []
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in got]
        finally:
            cursor.close()
