"""PostgreSQL sessions of gnomon end when idle inside a transaction (``IDLE_IN_TRANSACTION``).

A replica frozen inside a transaction (SIGSTOP, a paused VM) must not hold its row locks for
ever: ``tests/reliability/test_sigstop.py`` freezes one for longer than the timeout, and the
other replica keeps firing. Here: the setting is on every session of a store, a URL with its
own ``options`` keeps them, and a frozen session's locks are released once it is ended.
"""

from __future__ import annotations

import threading
import time
from urllib.parse import quote

import pytest
from sqlalchemy import text

from gnomon.store import SqlStore
from gnomon.store.dialect import IDLE_IN_TRANSACTION
from tests.backends import PostgresDatabases

pytestmark = pytest.mark.postgres


@pytest.fixture
def url(postgres_databases: PostgresDatabases) -> str:
    return postgres_databases.url(postgres_databases.create(migrated=True))


def setting(store: SqlStore) -> str:
    with store.engine.connect() as conn:
        return str(conn.execute(text("SHOW idle_in_transaction_session_timeout")).scalar())


def test_every_session_ends_after_idling_in_a_transaction(url: str) -> None:
    store = SqlStore(url)
    try:
        assert setting(store) == f"{IDLE_IN_TRANSACTION // 1000}s"
    finally:
        store.engine.dispose()


def test_a_url_with_its_own_options_keeps_them(url: str) -> None:
    own = quote("-c idle_in_transaction_session_timeout=250")
    store = SqlStore(f"{url}?options={own}")
    try:
        assert setting(store) == "250ms"
    finally:
        store.engine.dispose()


def test_a_frozen_transactions_locks_are_released_when_it_is_ended(url: str) -> None:
    own = quote("-c idle_in_transaction_session_timeout=300")
    frozen_store, other = SqlStore(f"{url}?options={own}"), SqlStore(url)
    try:
        frozen = frozen_store.engine.connect()
        frozen.begin()
        frozen.execute(text("SELECT pg_advisory_xact_lock(42)"))  # held until the tx ends
        # The frozen session sends nothing more; the other one waits for the lock, which the
        # server frees when it ends the frozen session (waiting on the server, not a sleep).
        done = threading.Event()

        def wait_for_lock() -> None:
            with other.engine.connect() as conn, conn.begin():
                conn.execute(text("SET LOCAL lock_timeout = '20s'"))
                conn.execute(text("SELECT pg_advisory_xact_lock(42)"))
            done.set()

        started = time.monotonic()
        thread = threading.Thread(target=wait_for_lock, daemon=True)
        thread.start()
        assert done.wait(20), "the lock of a session idle in a transaction was never freed"
        assert time.monotonic() - started < 15
        frozen.invalidate()
    finally:
        frozen_store.engine.dispose()
        other.engine.dispose()
