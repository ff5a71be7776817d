"""gnomon's Celery app: ``celery -A gnomon.celery worker`` (or ``gnomon worker``).

The app is configured from the environment (:class:`~gnomon.settings.Settings`):
``GNOMON_BROKER_URL`` is the broker, ``GNOMON_DATABASE_URL`` the database the runs are
recorded in, ``GNOMON_CELERY_QUEUE`` the queue. One task, ``gnomon.run``, takes a run id;
each message is shown under its job's name (``gnomon.run[backup]``).

Settings that make Celery a safe executor for gnomon (see ``docs/celery.md``):

- JSON only, in both directions (no pickle): ``task_serializer``, ``accept_content``.
- ``task_acks_late`` with ``task_reject_on_worker_lost``: a message is acknowledged after
  its run's outcome is recorded, and redelivered if the worker dies. A redelivery of a run
  already started is dropped by the run's start (a run starts once); a run that kills its
  worker each time is dead-lettered by the store after a few losses.
- ``worker_prefetch_multiplier = 1``: a busy worker does not sit on runs an idle one
  could start.
- On AMQP, publisher confirms (``confirm_publish``): a run counts as sent only once the
  broker has accepted its message.
- Results are not stored in a result backend: the run's outcome is in gnomon's database.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from celery import Celery
from celery.signals import setup_logging, worker_process_shutdown

from gnomon.dispatch.celery import TASK
from gnomon.dispatch.celery_worker import RunExecutor
from gnomon.settings import Settings

# Imported here, in the worker's main process, so that each pool child forked from it starts
# its first run without importing the store again (about a second each on a loaded machine).
from gnomon.store.destinations import DestinationCatalogue
from gnomon.store.sql import SqlStore


def configure(app: Celery, broker_url: str | None, queue: str) -> None:
    """Apply gnomon's Celery settings (see the module docstring) to ``app``."""
    transport: dict[str, Any] = {}
    if broker_url and broker_url.split(":", 1)[0] in ("amqp", "amqps", "pyamqp"):
        transport["confirm_publish"] = True
    app.conf.update(
        broker_url=broker_url,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        event_serializer="json",
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_default_queue=queue,
        broker_connection_retry_on_startup=True,
        broker_transport_options=transport,
        worker_hijack_root_logger=False,
        enable_utc=True,
        timezone="UTC",
    )


def one_log_format(loglevel: int | str | None = None, **_: Any) -> None:
    """A Celery worker logs in gnomon's format (:mod:`gnomon.logs`, ``GNOMON_LOG_FORMAT``).

    Connected to Celery's ``setup_logging`` signal, which Celery sends when a worker starts:
    with a receiver, Celery installs no handler of its own."""
    from gnomon import logs

    if isinstance(loglevel, str):
        loglevel = logging.getLevelNamesMapping().get(loglevel.upper(), logging.INFO)
    logs.setup(level=loglevel or logging.INFO)


setup_logging.connect(one_log_format, weak=False)


def make_app(settings: Settings | None = None, broker_url: str | None = None) -> Celery:
    """A Celery app for gnomon's runs on ``broker_url`` (default: the settings'
    ``GNOMON_BROKER_URL``), whose workers record runs in the settings' database."""
    settings = settings or Settings.from_env()
    app = Celery("gnomon", set_as_current=False)
    configure(app, broker_url or settings.broker_url, settings.celery_queue)
    executors = Executors(settings)

    def run(run_id: int, job: str = "", attempt: int = 1) -> dict[str, Any]:
        """Execute run ``run_id`` (``job`` and ``attempt`` are for people reading logs)."""
        return executors.get().execute(int(run_id))

    app.task(name=TASK, ignore_result=True, shared=False)(run)
    worker_process_shutdown.connect(executors.close, weak=False)
    app.gnomon_executors = executors
    return app


class Executors:
    """The run executor of each process, made on first use in that process: after a fork,
    a database connection must not be shared with the parent."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._current: tuple[int, RunExecutor] | None = None

    def get(self) -> RunExecutor:
        with self._lock:
            if self._current is None or self._current[0] != os.getpid():
                # No pre-ping: the executor retries a transaction whose connection the
                # server dropped, and a ping per transaction cost ~13% of a quick run.
                store = SqlStore(self.settings.database_url, pre_ping=False)
                catalogue = DestinationCatalogue(store)
                executor = RunExecutor(store, lease=self.settings.lease, destinations=catalogue)
                self._current = (os.getpid(), executor)
            return self._current[1]

    def close(self, **_: Any) -> None:
        """Close this process's executor (its heartbeats and database connections)."""
        with self._lock:
            current, self._current = self._current, None
        if current is not None and current[0] == os.getpid():
            current[1].close()


app = make_app()
celery = app  # the name ``celery -A gnomon.celery`` looks for first

__all__ = ["Executors", "app", "configure", "make_app"]
