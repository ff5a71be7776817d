"""Named destinations: list them (the settings' and the database's), put and remove stored
ones (see :mod:`gnomon.destinations`).
"""

from __future__ import annotations

import builtins

from gnomon.destinations import Destination, check_destination
from gnomon.scheduler import Scheduler
from gnomon.settings import destinations as settings_destinations
from gnomon.store import destinations as store_destinations


def list_destinations(scheduler: Scheduler) -> builtins.list[Destination]:
    """Every named destination by name: the settings' and the database's (settings win).

    Show them with :meth:`Destination.to_json` (URL passwords masked)."""
    settings = settings_destinations()
    stored = {d.name: d for d in store_destinations.stored(scheduler.store)}
    return sorted({**stored, **settings}.values(), key=lambda d: d.name)


def put_destination(
    scheduler: Scheduler,
    name: str,
    url: str,
    *,
    exchange: str | None = None,
    queue: str | None = None,
    routing_key: str | None = None,
) -> tuple[Destination, bool]:
    """Store a destination (created or replaced); ``(destination, created)``. Raises
    :class:`InvalidSpec` for a bad field or a name defined in the settings (they win)."""
    destination = check_destination(
        name, url, exchange=exchange, queue=queue, routing_key=routing_key
    )
    created = store_destinations.put(
        scheduler.store, destination, scheduler.clock.now(), settings_destinations()
    )
    return destination, created


def remove_destination(scheduler: Scheduler, name: str) -> None:
    """Remove a stored destination. Jobs that name it fail their runs from then on, clearly.
    Raises :class:`~gnomon.errors.NotFound`, or :class:`InvalidSpec` for a settings one."""
    store_destinations.remove(scheduler.store, name, settings_destinations())
