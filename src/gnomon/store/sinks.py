"""Durable cursors of the event sinks, each held by one replica at a time under a lease.

A sink's row (``gnomon_sink_cursors``, one per sink name) says how far it has delivered
(``after_id``: every event with an id up to it was delivered or dropped), who holds it
(``holder``, until ``lease_until``) and how the next event is doing (``attempts`` failed so
far, not to be tried again before ``retry_at``, the last ``error``). The delivery logic is in
:mod:`gnomon.events.relay`; this module only keeps the rows.

A replica takes a cursor whose lease is free or expired with one conditional UPDATE: on
SQLite the write transaction (``BEGIN IMMEDIATE``) excludes other takers, on PostgreSQL the
row lock makes a concurrent UPDATE re-check the condition, so exactly one taker wins. Every
later write is conditional on the holder *and* on the cursor still being where the holder
last saw it, so a replica whose lease was taken over can no longer move it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, or_, select, update

from gnomon.events import Event
from gnomon.instants import to_micros
from gnomon.store import rows
from gnomon.store.base import SqlBase
from gnomon.store.tables import events, sink_cursors

RENEW_AFTER = 1 / 3
"""A holder renews its lease once this fraction of it has passed."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SinkCursor:
    """Where a sink stands: delivered up to ``after_id``; the next event's failures so far."""

    name: str
    after_id: int
    holder: str | None = None
    lease_until: datetime | None = None
    attempts: int = 0
    retry_at: datetime | None = None
    error: str | None = None

    def held_by(self, holder: str, now: datetime) -> bool:
        """``holder`` holds it, or may take it: free, or its lease expired."""
        return self.holder == holder or self.lease_until is None or self.lease_until <= now

    def renewal_due(self, now: datetime, lease: float) -> bool:
        """A third of a ``lease``-second lease has passed (or none runs)."""
        left = timedelta(seconds=lease * (1 - RENEW_AFTER))
        return self.lease_until is None or self.lease_until - now <= left


def _cursor(row: Any) -> SinkCursor:
    return SinkCursor(
        name=row["name"],
        after_id=row["after_id"],
        holder=row["holder"],
        lease_until=rows.instant(row["lease_until"]),
        attempts=row["attempts"],
        retry_at=rows.instant(row["retry_at"]),
        error=row["error"],
    )


class SinkCursorStore(SqlBase):
    """The sink cursors: created at the newest event, taken with a lease, moved by the holder."""

    def sink_cursor(self, name: str) -> SinkCursor | None:
        with self._read() as conn:
            return self._sink_cursor(conn, name)

    def _sink_cursor(self, conn: Connection, name: str) -> SinkCursor | None:
        row = conn.execute(select(sink_cursors).where(sink_cursors.c.name == name)).mappings()
        found = row.first()
        return None if found is None else _cursor(found)

    def open_sink_cursor(self, name: str, now: datetime) -> SinkCursor:
        """The cursor of sink ``name``; a sink seen for the first time starts after the newest
        event, so enabling a sink on an old database does not replay its history."""
        cursor = self.sink_cursor(name)
        if cursor is not None:
            return cursor
        with self._write() as conn:
            self._create_sink_cursor(conn, name, now)
            created = self._sink_cursor(conn, name)
        assert created is not None
        return created

    def _create_sink_cursor(self, conn: Connection, name: str, now: datetime) -> None:
        newest = conn.execute(select(func.max(events.c.id))).scalar() or 0
        conn.execute(
            self._insert_ignore(sink_cursors).values(
                name=name,
                after_id=newest,
                holder=None,
                lease_until=None,
                attempts=0,
                retry_at=None,
                error=None,
                updated_at=to_micros(now),
            )
        )

    def take_sink_cursor(
        self, name: str, holder: str, now: datetime, lease: float
    ) -> SinkCursor | None:
        """The cursor of sink ``name`` with its lease held by ``holder`` (taken if free or
        expired, renewed when a third of it has passed); None while another holder's lease
        runs. An idle holder writes once per renewal, the others only read."""
        cursor = self.sink_cursor(name)
        if cursor is not None:
            if not cursor.held_by(holder, now):
                return None
            if cursor.holder == holder and not cursor.renewal_due(now, lease):
                return cursor
        with self._write() as conn:
            if cursor is None:
                self._create_sink_cursor(conn, name, now)
            now_us = to_micros(now)
            taken = conn.execute(
                update(sink_cursors)
                .where(
                    sink_cursors.c.name == name,
                    or_(
                        sink_cursors.c.holder.is_(None),
                        sink_cursors.c.holder == holder,
                        sink_cursors.c.lease_until <= now_us,
                    ),
                )
                .values(
                    holder=holder,
                    lease_until=to_micros(now + timedelta(seconds=lease)),
                    updated_at=now_us,
                )
            ).rowcount
            return self._sink_cursor(conn, name) if taken else None

    def save_sink_progress(
        self,
        cursor: SinkCursor,
        *,
        after_id: int,
        now: datetime,
        lease: float,
        attempts: int = 0,
        retry_at: datetime | None = None,
        error: str | None = None,
        dropped: Event | None = None,
    ) -> SinkCursor | None:
        """Move ``cursor`` (as its holder last saw it) to ``after_id``, record how the next
        event is doing and renew the lease, in one transaction with the ``dropped`` event if
        one is given. None, and nothing written, if the holder lost the cursor meanwhile."""
        assert cursor.holder is not None
        until = now + timedelta(seconds=lease)
        with self._write() as conn:
            moved = conn.execute(
                update(sink_cursors)
                .where(
                    sink_cursors.c.name == cursor.name,
                    sink_cursors.c.holder == cursor.holder,
                    sink_cursors.c.after_id == cursor.after_id,
                )
                .values(
                    after_id=after_id,
                    lease_until=to_micros(until),
                    attempts=attempts,
                    retry_at=rows.micros(retry_at),
                    error=error,
                    updated_at=to_micros(now),
                )
            ).rowcount
            if not moved:
                return None
            if dropped is not None:
                conn.execute(events.insert(), [rows.event_values(dropped)])
        return SinkCursor(
            name=cursor.name,
            after_id=after_id,
            holder=cursor.holder,
            lease_until=until,
            attempts=attempts,
            retry_at=retry_at,
            error=error,
        )

    def release_sink_cursor(self, name: str, holder: str) -> bool:
        """Give the lease up (on a clean stop), so another replica takes over at once."""
        with self._write() as conn:
            released = conn.execute(
                update(sink_cursors)
                .where(sink_cursors.c.name == name, sink_cursors.c.holder == holder)
                .values(holder=None, lease_until=None)
            ).rowcount
        return bool(released)


__all__ = ["SinkCursor", "SinkCursorStore"]
