"""Scheduler identities: a name that one live process holds at a time.

A scheduler that claims runs holds an *identity* (``--identity``, ``GNOMON_SCHEDULER_ID``;
by default the host name, or ``HOST-2``, ``HOST-3``… when another live scheduler on the same
database holds the first). Its worker id, stored in every run it claims, is
``IDENTITY:PID:NONCE``. The hold is a lock that the operating system or the database server
lets go of when the process dies, however it dies:

- SQLite: an exclusive ``flock`` on ``DATABASE.schedulers/IDENTITY.lock`` (all processes of a
  SQLite database share its host);
- PostgreSQL: a session advisory lock held on a connection of its own, which the server
  releases when that connection closes (on ``kill -9`` the kernel closes it at once).

So a scheduler that obtains an identity *knows* that every earlier holder is dead, and takes
back the runs they still held at once (see :meth:`gnomon.store.runs.RunStore.take_back`)
instead of waiting for their leases to expire. Runs of other identities are still taken back
only when their lease expires: the lease stays the one rule that holds across hosts.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import socket
import weakref
import zlib
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Engine

from gnomon.errors import ConfigError

log = logging.getLogger(__name__)
IDENTITY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
SLOTS = 32
"""How many default identities (``HOST``, ``HOST-2`` … ``HOST-32``) a host's schedulers try."""
ADVISORY_CLASS = 4774664  # PostgreSQL advisory lock class id of gnomon's identities


def check_identity(identity: str) -> str:
    """``identity`` if it is a valid name; otherwise :class:`ConfigError` saying why."""
    if not IDENTITY.fullmatch(identity):
        raise ConfigError(
            f"scheduler identity {identity!r}: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return identity


def default_identity() -> str:
    """The host name, made a valid identity (the first slot of :func:`hold_identity`)."""
    name = re.sub(r"[^A-Za-z0-9._-]", "-", socket.gethostname())[:56].lstrip("._-")
    return name or "gnomon"


def worker_prefix(identity: str) -> str:
    """What every worker id of ``identity`` starts with."""
    return f"{identity}:"


class IdentityHold(Protocol):
    """A held identity. ``alive()`` re-checks (and if need be re-takes) the hold."""

    identity: str

    def alive(self) -> bool: ...

    def release(self) -> None: ...


class _FileHold:
    def __init__(self, identity: str, fd: int) -> None:
        self.identity = identity
        self._finalizer = weakref.finalize(self, os.close, fd)

    def alive(self) -> bool:
        return self._finalizer.alive

    def release(self) -> None:
        self._finalizer()  # closing the descriptor lets go of the flock


class _AdvisoryHold:
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


def _try_flock(engine: Engine, identity: str) -> _FileHold | None:
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
    return _FileHold(identity, fd)


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


def try_hold(engine: Engine, identity: str) -> IdentityHold | None:
    """Hold ``identity`` on this database, or None if a live process holds it."""
    if engine.dialect.name == "postgresql":
        conn = _try_advisory(engine, identity)
        return None if conn is None else _AdvisoryHold(identity, engine, conn)
    if engine.dialect.name == "sqlite" and os.name == "posix":
        return _try_flock(engine, identity)
    raise ConfigError(f"scheduler identities are not supported on {engine.dialect.name}")


def hold_identity(engine: Engine, identity: str | None) -> IdentityHold:
    """Hold ``identity``, or (None) the first free default one; :class:`ConfigError` if the
    identity asked for is held by another live scheduler, or every default one is."""
    if identity is not None:
        hold = try_hold(engine, check_identity(identity))
        if hold is None:
            raise ConfigError(
                f"scheduler identity {identity!r} is held by another running scheduler on "
                "this database; give each replica its own --identity (GNOMON_SCHEDULER_ID)"
            )
        return hold
    base = default_identity()
    for slot in range(1, SLOTS + 1):
        hold = try_hold(engine, base if slot == 1 else f"{base[:60]}-{slot}")
        if hold is not None:
            return hold
    raise ConfigError(
        f"{SLOTS} schedulers of host {base!r} already run on this database; "
        "give this one an --identity of its own"
    )


def journal_folder(engine: Engine, state_dir: str | None) -> Path:
    """Where a scheduler of this database keeps its outcome journal: beside a SQLite file
    (every process of it shares the host), else in ``state_dir`` (``GNOMON_STATE_DIR``,
    default ``~/.local/state/gnomon``), one folder per database."""
    if engine.dialect.name == "sqlite":
        return Path(f"{engine.url.database}.schedulers")
    url = engine.url.render_as_string(hide_password=True)
    digest = hashlib.sha256(url.encode()).hexdigest()[:16]
    return Path(state_dir or "~/.local/state/gnomon").expanduser() / digest
