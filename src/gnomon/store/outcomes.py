"""Recording outcomes: an attempt's end, accepted only from the worker that holds its run.

An outcome is kept only if its run is still ``running`` for that worker (a run whose lease
was lost meanwhile was taken back, and may be running elsewhere), so a run is never finished
twice. Each kept outcome has its ``run.<status>`` event, and a retry, when the policy asks
for one, is a new pending run with its ``run.retrying`` event. On PostgreSQL, outcomes
without retries are one statement (``FINISH_ONE``, ``FINISH_MANY``): one round trip.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from gnomon import gil
from gnomon.events import Event
from gnomon.instants import to_micros
from gnomon.limits import MAX_NOTE_CHARS
from gnomon.store import rows
from gnomon.store.base import SqlBase
from gnomon.store.prepared import CHUNK
from gnomon.store.statements import (
    FINISH,
    FINISH_MANY,
    FINISH_ONE,
    HELD_IDS,
    HELD_MANY,
    HELD_ONE,
    HeldRun,
    job_exists,
    storable,
)

log = logging.getLogger(__name__)
SMALL_BATCH = 8  # outcomes looked up one by one (SQLite) rather than with an IN list
RETRY_SOON = 1_000_000  # µs: other schedulers' poll (1 s) sees a later retry before it is due
MANY = {
    "id": "ids",
    "worker": "workers",
    "status": "statuses",
    "finished_at": "finished",
    "result": "results",
    "error": "errors",
    "output": "outputs",
    "kind": "kinds",
    "rest": "rests",
}
"""FINISH_ONE's parameters, and the arrays of FINISH_MANY that hold them."""


def outcome_values(item: rows.FinishedRun) -> dict[str, Any]:
    """The run's columns an outcome sets (and the run id and worker that guard it)."""
    return {
        "id": item.run_id,
        "worker": item.worker,
        "status": item.status._value_,  # (``.value`` is slow: once per outcome)
        "finished_at": to_micros(item.finished_at),
        "result": None if item.result is None else rows.dumps(item.result),
        "error": storable(item.error),
        "output": storable(item.output) or None,
    }


_FINISH_NAMES = {k: f"b_{k}" for k in MANY if k not in ("kind", "rest")}
"""FINISH's parameter for each of :func:`outcome_values`' names: prefixed (a bound parameter
may not share its name with a column the statement sets)."""


def finish_values(item: rows.FinishedRun) -> dict[str, Any]:
    """:func:`outcome_values` under FINISH's parameter names (no name formatted per outcome)."""
    return {_FINISH_NAMES[k]: v for k, v in outcome_values(item).items()}


def event_values(item: rows.FinishedRun) -> dict[str, str]:
    """The outcome event's kind, and the end of its JSON data after the attempt (FINISH_ONE
    and FINISH_MANY write ``{"attempt":N`` + ``rest``)."""
    note = item.error[:MAX_NOTE_CHARS] if item.error else None
    rest = "," + rows.dumps({"error": note})[1:] if note else "}"
    return {"kind": f"run.{item.status._value_}", "rest": rest}


def dropped(item: rows.FinishedRun) -> None:
    log.warning("run %s was no longer held by %s; outcome dropped", item.run_id, item.worker)


class OutcomeStore(SqlBase):
    """Recording the outcomes of attempts (see the module docstring)."""

    def finish_runs(self, finished: Sequence[rows.FinishedRun]) -> list[bool]:
        """Record the outcomes of attempts (and their retries) in one transaction.

        An outcome is kept only if the run is still ``running`` for that worker; one whose
        lease was lost in the meantime is refused (False), so a run is never finished twice.
        """
        if not finished:
            return []
        if self.dialect.one_statement_writes and all(i.retry_due is None for i in finished):
            if len(finished) == 1:
                return [self._finish_one(finished[0])]
            return self._finish_many(finished)
        retries: list[dict[str, Any]] = []
        new_events: list[dict[str, Any]] = []
        with self._write() as conn:
            # Which runs does each worker still hold? Read under the write lock (SQLite) or
            # row locks (PostgreSQL), so the answer holds until commit; then one executemany
            # UPDATE records them all (it keeps the same guard) instead of one per run.
            held = self._holders(conn, [i.run_id for i in finished])
            accepted = [
                held.get(i.run_id) is not None and held[i.run_id].worker == i.worker
                for i in finished
            ]
            done = [
                (item, held[item.run_id]) for item, ok in zip(finished, accepted, strict=True) if ok
            ]
            if done:
                FINISH.run(conn, [finish_values(item) for item, _ in done])
            for item, row in done:
                gil.courtesy()  # a run due meanwhile starts on time (gnomon.gil)
                self._finished_events(conn, item, row, retries, new_events)
            self._insert_runs.run(conn, retries)
            self._insert_events.run(conn, new_events)
            if any(r["due_at"] - r["created_at"] < RETRY_SOON for r in retries):
                self.dialect.notify(conn)
        for item, ok in zip(finished, accepted, strict=True):
            if not ok:
                dropped(item)
        return accepted

    def _finish_one(self, item: rows.FinishedRun) -> bool:
        """One outcome without a retry (the Celery worker's case), in one statement run as its
        own transaction (:data:`~gnomon.store.statements.FINISH_ONE`): the same guard and the
        same event as the general path, one round trip instead of five."""
        params = {**outcome_values(item), **event_values(item)}
        with self._write_one() as conn:
            accepted = FINISH_ONE.first(conn, params) is not None
        if not accepted:
            dropped(item)
        return accepted

    def _finish_many(self, finished: Sequence[rows.FinishedRun]) -> list[bool]:
        """Outcomes without retries (a Celery worker's group commit), in one statement run
        as its own transaction (:data:`~gnomon.store.statements.FINISH_MANY`): as
        :meth:`_finish_one` for each."""
        each = [{**outcome_values(item), **event_values(item)} for item in finished]
        # FINISH_ONE's parameters, as one array each (FINISH_MANY's names).
        params = {arrays: [v[key] for v in each] for key, arrays in MANY.items()}
        with self._write_one() as conn:
            kept = {row["id"] for row in FINISH_MANY.all(conn, params)}
        accepted = [item.run_id in kept for item in finished]
        for item, ok in zip(finished, accepted, strict=True):
            if not ok:
                dropped(item)
        return accepted

    def _holders(self, conn: Connection, ids: list[int]) -> dict[int, Any]:
        """The running runs among ``ids``, by id (with their worker and fire).

        On SQLite (a direct driver), a group commit's one or two outcomes are looked up one
        by one (a prepared look-up costs a few microseconds, building an ``IN`` list ~70), and
        a larger batch :data:`~gnomon.store.prepared.CHUNK` at a time, with
        :func:`gnomon.gil.courtesy` between: one query for a few hundred outcomes held the
        GIL for milliseconds, and a run falling due meanwhile started that late."""
        if not self.dialect.direct_driver:
            return {r.id: r for r in conn.execute(self._held, {"ids": ids})}
        if len(ids) <= SMALL_BATCH:
            found = [row for i in ids for row in HELD_ONE.rows(conn, {"id": i})]
            return {row[0]: HeldRun(*row) for row in found}
        held: dict[int, Any] = {}
        for start in range(0, len(ids), CHUNK):
            gil.courtesy()  # a run due meanwhile starts on time (gnomon.gil)
            part = ids[start : start + CHUNK]
            part += [part[0]] * (CHUNK - len(part))  # (an id twice is found once)
            for row in HELD_MANY.rows(conn, dict(zip(HELD_IDS, part, strict=True))):
                held[row[0]] = HeldRun(*row)
        return held

    def _finished_events(
        self,
        conn: Connection,
        item: rows.FinishedRun,
        row: Any,
        retries: list[dict[str, Any]],
        new_events: list[dict[str, Any]],
    ) -> None:
        job_id, scheduled_for, attempt = row.job_id, row.scheduled_for, row.attempt
        # Built as a row directly: this runs once per outcome.
        new_events.append(
            rows.event_row(
                to_micros(item.finished_at),
                f"run.{item.status._value_}",
                job_id,
                item.run_id,
                rows.attempt_data(attempt, item.error and item.error[:MAX_NOTE_CHARS]),
            )
        )
        # A retry of a removed job would stay pending forever (runs of no job are never claimed).
        if item.retry_due is not None and job_exists(conn, job_id):
            retries.append(
                self._retry_values(
                    job_id, scheduled_for, attempt + 1, item.retry_due, item.finished_at
                )
            )
            data = {"next_attempt": attempt + 1, "due_at": item.retry_due.isoformat()}
            new_events.append(
                rows.event_values(
                    Event(
                        kind="run.retrying",
                        at=item.finished_at,
                        job_id=job_id,
                        run_id=item.run_id,
                        data=data,
                    )
                )
            )
