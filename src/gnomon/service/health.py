"""Health: the database (URL, identity, ping, schema revision, opening one to report on),
scheduler heartbeats, lag, queue depth and broker backlog, and whether this process runs
a scheduler's loop.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from gnomon.errors import StoreUnavailable
from gnomon.scheduler import Scheduler
from gnomon.settings import Settings
from gnomon.store import SqlStore, admin
from gnomon.store.admin import Heartbeat
from gnomon.store.engine import error_line


def database_url(scheduler: Scheduler) -> str:
    """The scheduler's database, to show (password hidden)."""
    return scheduler.store.url


def database_identity(scheduler: Scheduler) -> str:
    """A digest naming the scheduler's database, the same in every process that opens it and
    revealing nothing of its URL (see :func:`gnomon.store.admin.database_identity`)."""
    return admin.database_identity(scheduler.store)


def ping(scheduler: Scheduler) -> None:
    """Reach the database once; raises :class:`StoreUnavailable` (one line) if it cannot."""
    scheduler.store.ping()


@contextmanager
def inspect_database(url: str) -> Iterator[Scheduler]:
    """A scheduler over ``url`` for reporting on the database (``gnomon status``): the schema
    is not migrated, no settings are read, nothing runs. Raises :class:`StoreUnavailable`
    (one line) when the database cannot be opened or reached."""
    try:
        store = SqlStore(url, migrate=False)
    except Exception as exc:  # a bad URL or a missing driver: reported like an absent server
        raise StoreUnavailable(error_line(exc)) from exc
    try:
        store.ping()
        with Scheduler(store=store, settings=Settings()) as scheduler:
            yield scheduler
    finally:
        store.close()


def schema_revision(scheduler: Scheduler) -> tuple[str | None, str | None]:
    """``(current, newest)`` schema revisions of the database and of this gnomon."""
    return admin.schema_revision(scheduler.store)


def heartbeats(scheduler: Scheduler) -> list[Heartbeat]:
    """The most recently seen schedulers, newest beat first."""
    return admin.heartbeats(scheduler.store)


def oldest_due(scheduler: Scheduler, now: datetime | None = None) -> datetime | None:
    """The earliest next fire at or before ``now``: how far the schedulers lag."""
    return admin.oldest_due(scheduler.store, now or scheduler.clock.now())


def queue_depth(scheduler: Scheduler, now: datetime | None = None) -> int:
    """Pending runs already due at ``now``: work waiting for a worker."""
    return admin.queue_depth(scheduler.store, now or scheduler.clock.now())


def broker_backlog(scheduler: Scheduler) -> admin.BrokerBacklog:
    """Runs waiting for Celery workers, and when a worker last started one."""
    return admin.broker_backlog(scheduler.store)


def this_process(scheduler: Scheduler) -> tuple[str, str] | None:
    """``(worker id, dispatcher)`` of ``scheduler`` when its loop runs in this process
    (``gnomon up``, an embedded scheduler), e.g. ``("host:12:ab", "8 worker(s)")``; None
    for a face that only reads the database."""
    dispatcher = scheduler._dispatcher
    if scheduler._thread is None or dispatcher is None:
        return None
    return scheduler.worker_id, dispatcher.describe()
