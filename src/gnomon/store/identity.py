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

(The locks are in :mod:`gnomon.store.locks`; the dialect picks one.)

So a scheduler that obtains an identity *knows* that every earlier holder is dead, and takes
back the runs they still held at once (see :meth:`gnomon.store.runs.RunStore.take_back`)
instead of waiting for their leases to expire. Runs of other identities are still taken back
only when their lease expires: the lease stays the one rule that holds across hosts.
"""

from __future__ import annotations

import logging
import re
import socket
from pathlib import Path

from sqlalchemy import Engine

from gnomon.errors import ConfigError, StoreUnavailable
from gnomon.store.dialect import dialect_of
from gnomon.store.engine import error_line
from gnomon.store.locks import IdentityHold

log = logging.getLogger(__name__)
IDENTITY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
SLOTS = 32
"""How many default identities (``HOST``, ``HOST-2`` … ``HOST-32``) a host's schedulers try."""


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


def try_hold(engine: Engine, identity: str) -> IdentityHold | None:
    """Hold ``identity`` on this database, or None if a live process holds it (the lock is
    the dialect's: :meth:`gnomon.store.dialect.Dialect.try_hold`)."""
    try:
        return dialect_of(engine).try_hold(engine, identity)
    except engine.dialect.loaded_dbapi.Error as exc:  # the driver's own: the server is away
        raise StoreUnavailable(f"database unavailable: {error_line(exc)}") from exc


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
    return dialect_of(engine).journal_folder(engine, state_dir)


__all__ = [
    "SLOTS",
    "IdentityHold",
    "check_identity",
    "default_identity",
    "hold_identity",
    "journal_folder",
    "try_hold",
    "worker_prefix",
]
