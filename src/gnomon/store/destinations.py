"""Named destinations in the database, and the catalogue runs resolve names through.

Like :mod:`gnomon.store.admin`, every function takes the :class:`~gnomon.store.SqlStore`
and goes through its transactions (its writer lock, its error translation). Destinations set
in the settings (``GNOMON_DESTINATIONS``) win: a name defined there cannot be written here
(see :mod:`gnomon.destinations`).

:class:`DestinationCatalogue` is the resolver a dispatcher hands to each run
(:attr:`gnomon.actions.base.RunContext.destinations`): settings first, then the database,
read at most once per ``ttl`` seconds, so a changed URL reaches every job within ``ttl``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, select, update

from gnomon.destinations import Destination, UnknownDestination
from gnomon.errors import ConfigError, InvalidSpec, NotFound
from gnomon.instants import to_micros
from gnomon.redaction import register_secret
from gnomon.settings import DESTINATIONS_ENV
from gnomon.settings import destinations as settings_destinations
from gnomon.store.sql import SqlStore
from gnomon.store.tables import destinations as table

TTL = 5.0
"""Seconds a catalogue keeps what it read: how soon a changed destination reaches runs."""


class DestinationNotFound(NotFound):
    """No destination of that name is stored."""


def _from_row(row: Any) -> Destination:
    password = urlsplit(row["url"]).password
    if password:  # masked wherever gnomon shows text, even in a broker library's error
        register_secret(password)
    return Destination(
        name=row["name"],
        url=row["url"],
        exchange=row["exchange"],
        queue=row["queue"],
        routing_key=row["routing_key"],
    )


def stored(store: SqlStore) -> list[Destination]:
    """The destinations stored in the database, by name."""
    with store._read() as conn:
        found = conn.execute(select(table).order_by(table.c.name)).mappings().all()
    return [_from_row(row) for row in found]


def _refuse_if_set(name: str, settings: Mapping[str, Destination]) -> None:
    if name in settings:
        raise InvalidSpec(
            f"destination {name!r} is defined in {DESTINATIONS_ENV}, which wins "
            "over the database; change it there"
        )


def put(
    store: SqlStore, destination: Destination, now: datetime, settings: Mapping[str, Destination]
) -> bool:
    """Store ``destination`` (created or replaced); True when it was created."""
    _refuse_if_set(destination.name, settings)
    values = {
        "url": destination.url,
        "exchange": destination.exchange,
        "queue": destination.queue,
        "routing_key": destination.routing_key,
        "updated_at": to_micros(now),
    }
    with store._write() as conn:
        changed = conn.execute(
            update(table).where(table.c.name == destination.name).values(**values)
        ).rowcount
        if not changed:
            conn.execute(
                table.insert().values(name=destination.name, created_at=to_micros(now), **values)
            )
    return not changed


def remove(store: SqlStore, name: str, settings: Mapping[str, Destination]) -> None:
    """Remove a stored destination; :class:`DestinationNotFound` when there is none."""
    _refuse_if_set(name, settings)
    with store._write() as conn:
        gone = conn.execute(delete(table).where(table.c.name == name)).rowcount
    if not gone:
        raise DestinationNotFound(f"no destination named {name!r} (see gnomon destination list)")


def unknown(
    store: SqlStore, names: Iterable[str], settings: Mapping[str, Destination]
) -> list[str]:
    """Which of ``names`` are defined neither in the settings nor in the database."""
    wanted = sorted(set(names) - set(settings))
    if not wanted:
        return []
    with store._read() as conn:
        found = set(conn.execute(select(table.c.name).where(table.c.name.in_(wanted))).scalars())
    return [name for name in wanted if name not in found]


class DestinationCatalogue:
    """Resolves destination names for runs: the settings, then the database (cached).

    Thread-safe. ``store`` may be None (only the settings are consulted). What it read is
    kept ``ttl`` seconds by ``monotonic``; a name it does not know makes it read again at
    once (at most once per second), so a destination just added is found.
    """

    def __init__(
        self,
        store: SqlStore | None,
        *,
        ttl: float = TTL,
        monotonic: Callable[[], float] = time.monotonic,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self._store, self._ttl, self._monotonic, self._env = store, ttl, monotonic, env
        self._lock = threading.Lock()
        self._known: dict[str, Destination] = {}
        self._read_at: float | None = None

    def __call__(self, name: str) -> Destination:
        with self._lock:
            now = self._monotonic()
            age = None if self._read_at is None else now - self._read_at
            if age is None or age >= self._ttl or (name not in self._known and age >= 1.0):
                self._known = self._read()
                self._read_at = now
            found = self._known.get(name)
        if found is None:
            raise UnknownDestination(
                f"destination {name!r} is not defined (gnomon destination "
                f"add, or {DESTINATIONS_ENV})"
            )
        return found

    def _read(self) -> dict[str, Destination]:
        try:
            settings = settings_destinations(self._env)
        except ConfigError as exc:
            raise UnknownDestination(str(exc)) from None
        known = {d.name: d for d in stored(self._store)} if self._store is not None else {}
        return {**known, **settings}


def require_known(store: SqlStore, names: Iterable[str]) -> None:
    """Refuse (:class:`UnknownDestination`) names defined neither in the settings nor here.

    Called when a job is created or changed, so a misspelt name fails then, not at its fire.
    """
    names = set(names)
    if not names:
        return
    try:
        settings = settings_destinations()
    except ConfigError as exc:
        raise UnknownDestination(str(exc)) from None
    missing = unknown(store, names, settings)
    if missing:
        listed = ", ".join(repr(n) for n in missing)
        raise UnknownDestination(
            f"destination {listed} is not defined: add it first (gnomon "
            f"destination add NAME URL, or {DESTINATIONS_ENV})"
        )
