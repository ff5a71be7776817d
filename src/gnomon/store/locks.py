"""The two ways a process holds a name until it dies: a file lock and a PostgreSQL advisory lock.

Which one a database uses is its dialect's choice (:meth:`gnomon.store.dialect.Dialect.
try_hold`); what a held name means is :mod:`gnomon.store.identity`'s.
"""

from __future__ import annotations

import logging
import os
import weakref
import zlib
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Engine

from gnomon.errors import ConfigError

log = logging.getLogger(__name__)
ADVISORY_CLASS = 4774664  # PostgreSQL advisory lock class id of gnomon's identities


class IdentityHold(Protocol):
    """A held identity. ``alive()`` re-checks (and if need be re-takes) the hold."""

    identity: str

    def alive(self) -> bool: ...

    def release(self) -> None: ...


class FileHold:
    """An exclusive ``flock`` on ``DATABASE.schedulers/IDENTITY.lock``; the kernel lets go of
    it when the process dies."""

    def __init__(self, identity: str, fd: int) -> None:
        self.identity = identity
        self._finalizer = weakref.finalize(self, os.close, fd)

    def alive(self) -> bool:
        return self._finalizer.alive

    def release(self) -> None:
        self._finalizer()  # closing the descriptor lets go of the flock


class AdvisoryHold:
    """A session advisory lock on a connection of its own; the server lets go of it when the
    connection closes."""

    def __init__(self, identity: str, engine: Engine, conn: Any) -> None:
        self.identity, self._engine = identity, engine
        self._conn = conn
        self._finalizer = weakref.finalize(self, _close_quietly, conn)

    def alive(self) -> bool:
        """Is the lock still ours? A restarted server dropped it: take it again if free.
        Never raises: while the server is away the answer is False, and asked again later."""
        if self._finalizer.alive:
            try:
                self._conn.execute("SELECT 1")
                return True
            except Exception as exc:
                log.warning("identity %s: lock connection lost (%s)", self.identity, exc)
                self._finalizer()
        try:
            conn = _try_advisory(self._engine, self.identity)
        except Exception as exc:  # the server is still away: try again at the next check
            log.debug("identity %s: cannot take the lock again yet: %s", self.identity, exc)
            return False
        if conn is None:
            log.error("identity %s is now held by another scheduler", self.identity)
            return False
        self._conn = conn
        self._finalizer = weakref.finalize(self, _close_quietly, conn)
        return True

    def release(self) -> None:
        self._finalizer()


def _close_quietly(conn: Any) -> None:
    try:
        conn.close()
    except Exception as exc:  # the server may be gone already: the lock is gone with it
        log.debug("closing an identity lock connection: %s", exc)


def try_flock(engine: Engine, identity: str) -> FileHold | None:
    """Hold ``identity`` with a file lock beside the database file, or None if held."""
    import fcntl

    folder = Path(f"{engine.url.database}.schedulers")
    try:
        folder.mkdir(exist_ok=True)
        fd = os.open(folder / f"{identity}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise ConfigError(f"scheduler identity {identity!r}: cannot lock ({exc})") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return FileHold(identity, fd)


def try_advisory(engine: Engine, identity: str) -> AdvisoryHold | None:
    """Hold ``identity`` with an advisory lock on a connection of its own, or None if held."""
    conn = _try_advisory(engine, identity)
    return None if conn is None else AdvisoryHold(identity, engine, conn)


def _try_advisory(engine: Engine, identity: str) -> Any | None:
    """A new connection of its own holding the identity's advisory lock, or None."""
    cargs, cparams = engine.dialect.create_connect_args(engine.url)
    conn = engine.dialect.loaded_dbapi.connect(*cargs, **cparams)
    conn.autocommit = True  # never idle in a transaction: the lock is the session's
    key = zlib.crc32(identity.encode()) - 2**31  # an int4
    try:
        got = conn.execute("SELECT pg_try_advisory_lock(%s, %s)", (ADVISORY_CLASS, key))
        if got.fetchone()[0]:
            return conn
    except Exception:
        _close_quietly(conn)
        raise
    _close_quietly(conn)
    return None
