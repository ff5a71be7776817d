"""Waking schedulers when another process changes what they should do next (PostgreSQL).

A write that can move a scheduler's next wake-up earlier — a job added, changed, paused,
resumed or removed, a manual run, runs handed back or taken back, a retry due soon — also
sends ``NOTIFY gnomon_wake`` in its own transaction (:meth:`Dialect.notify
<gnomon.store.dialect.Dialect.notify>`), so the server delivers it when, and only if, the
change commits. A running scheduler holds a :class:`WakeListener`: one connection of its
own, ``LISTEN gnomon_wake``, and a thread that calls back on each notification; the
scheduler's callback wakes its loop, which then reads the database at once instead of at its
next poll. A claim or an outcome never notifies: a busy replica would wake every other one
hundreds of times a second for nothing.

A notification is a hint, never the truth: the callback carries nothing, and whoever is woken
reads the database. Notifications sent while the listener's connection was down are lost, so
the listener calls back once each time it reconnects; and the callers' poll stays as the
fallback. SQLite has no such channel: there :meth:`Dialect.listen
<gnomon.store.dialect.Dialect.listen>` gives None.

This module imports no driver: it is given a function that opens the connection.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)
CHANNEL = "gnomon_wake"
NOTIFY = f"NOTIFY {CHANNEL}"  # no payload: identical ones of a transaction are sent once
STOP_CHECK = 0.25
"""Seconds the listener waits for notifications before looking whether it was closed: the
longest a close waits for its thread (psycopg's ``notifies()`` cannot be interrupted)."""
BACKOFF_FIRST, BACKOFF_MAX = 0.1, 5.0  # seconds before reconnecting: doubled per failure
KEEPALIVE = {
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "connect_timeout": 10,
}
"""Connection options of a listener (the URL's own win): a listener only ever waits, so a
server that vanished without closing the connection is noticed by TCP keepalives (~25 s)."""


class Subscription(Protocol):
    """What a store's ``listen`` returns: calls back until closed."""

    def close(self) -> None:
        """Stop calling back and release the connection; waits a moment for the thread."""


class WakeListener:
    """A thread that calls ``callback()`` for each notification on ``channel``.

    ``connect`` opens a new autocommit psycopg connection; it is called again, with backoff,
    whenever the connection fails (the server restarted, the backend was terminated), and
    ``callback`` is called once after each reconnection: what was notified meanwhile is lost.
    Errors of the callback are logged, never stop the listener. Thread-safe.
    """

    def __init__(
        self,
        connect: Callable[[], psycopg.Connection[Any]],
        callback: Callable[[], None],
        *,
        channel: str = CHANNEL,
    ) -> None:
        self._connect, self._callback, self.channel = connect, callback, channel
        self._stop = threading.Event()
        self._changed = threading.Condition()
        self.connections = 0  # successful LISTENs so far
        self.backend_pid: int | None = None  # the server process of the connection, if any
        self._thread = threading.Thread(target=self._run, name="gnomon-listen", daemon=True)

    def start(self) -> WakeListener:
        self._thread.start()
        return self

    def wait_listening(self, connections: int = 1, timeout: float | None = None) -> bool:
        """Wait until the listener has listened on ``connections`` connections in all (the
        first, then each reconnection) and is listening now; False on timeout."""
        with self._changed:
            return self._changed.wait_for(
                lambda: self.connections >= connections and self.backend_pid is not None,
                timeout,
            )

    def close(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread.ident is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            before = self.connections
            try:
                self._listen()
                return  # closed
            except Exception as exc:  # the server went away, or refused us: try again later
                self._listening(None)
                if self._stop.is_set():
                    return
                if self.connections > before:  # it was listening: start the backoff over
                    failures = 0
                delay = min(BACKOFF_FIRST * 2**failures, BACKOFF_MAX)
                failures += 1
                log.warning(
                    "listening for changes on %s failed (%s); again in %.1f s",
                    self.channel,
                    " ".join(str(exc).split()),
                    delay,
                )
                self._stop.wait(delay)

    def _listen(self) -> None:
        """Connect, LISTEN and call back until closed; raise when the connection fails."""
        conn = self._connect()
        try:
            conn.execute(f"LISTEN {self.channel}")
            self._listening(conn.info.backend_pid)
            if self.connections > 1:
                log.info("listening for changes on %s again", self.channel)
                self._call()  # notifications may have been missed while disconnected
            while not self._stop.is_set():
                for _ in conn.notifies(timeout=STOP_CHECK):
                    self._call()
        finally:
            try:
                conn.close()
            except Exception as exc:  # a broken connection may fail to close: it is gone
                log.debug("closing the listener's connection: %s", exc)

    def _listening(self, pid: int | None) -> None:
        with self._changed:
            if pid is not None:
                self.connections += 1
            self.backend_pid = pid
            self._changed.notify_all()

    def _call(self) -> None:
        try:
            self._callback()
        except Exception:  # the callback's bug must not stop the listening
            log.exception("wake callback %r failed", self._callback)


__all__ = ["CHANNEL", "KEEPALIVE", "NOTIFY", "Subscription", "WakeListener"]
