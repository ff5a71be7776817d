"""``Store.pinned``: a thread that runs transactions all its life (the scheduler's loop, the
recorder) keeps connections of its own on SQLite instead of taking one from the pool for each
transaction; elsewhere it changes nothing. Either way every transaction sees what others
committed before it began, and nothing is left open afterwards."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import event

from gnomon.models import RunReason
from gnomon.store import SqlStore
from tests.contract.test_store import make_job

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def checkouts(store: SqlStore) -> list[int]:
    """Counts the pool's check-outs from now on (one list item each)."""
    seen: list[int] = []
    event.listen(store.engine, "checkout", lambda *_: seen.append(1))
    return seen


def test_a_pinned_thread_takes_no_connection_from_the_pool_per_transaction(
    store: SqlStore,
) -> None:
    store.add_jobs([make_job("a")])
    taken = checkouts(store)
    with store.pinned():
        for _ in range(5):
            store.last_run_id()  # a read
            store.add_run("a", T0, T0, RunReason.MANUAL)  # a write
    if store.dialect.pins_connections:  # SQLite: its two connections, once
        assert len(taken) == 2
    else:  # PostgreSQL: the pool as ever, one per transaction
        assert len(taken) >= 10
    assert store.engine.pool.checkedout() == 0  # nothing left open


def test_a_pinned_thread_sees_what_others_committed_since_its_last_transaction(
    store: SqlStore, open_store: Callable[[], SqlStore]
) -> None:
    """A kept connection is not a kept snapshot: each transaction begins afresh."""
    other = open_store()
    store.add_jobs([make_job("a")])
    seen: list[int] = []
    with store.pinned():
        seen.append(store.last_run_id())
        worker = threading.Thread(target=other.add_run, args=("a", T0, T0, RunReason.MANUAL))
        worker.start()
        worker.join()
        seen.append(store.last_run_id())
    assert seen[1] > seen[0]


def test_transactions_nested_in_a_pinned_thread_each_get_a_connection(store: SqlStore) -> None:
    """A read inside a read (or a write inside a write) cannot share the kept connection: it
    takes one from the pool, as without ``pinned``."""
    store.add_jobs([make_job("a")])
    with store.pinned(), store._read() as outer:
        assert store.last_run_id() == 0  # a second read transaction, while the first is open
        with store._write() as conn:
            assert conn is not outer
    assert store.engine.pool.checkedout() == 0


def test_pinned_inside_pinned_changes_nothing(store: SqlStore) -> None:
    with store.pinned():
        kept = getattr(store._pins, "reader", None)
        with store.pinned():
            assert getattr(store._pins, "reader", None) is kept
        assert getattr(store._pins, "reader", None) is kept  # the inner one closed nothing
        store.last_run_id()
    assert getattr(store._pins, "reader", None) is None


def test_pinned_threads_write_on_one_shared_connection_closed_after_the_last(
    store: SqlStore,
) -> None:
    """SQLite empties a connection's page cache when another connection has written since its
    last transaction: the loop's and the recorder's writes share one connection, and any
    other thread's write meanwhile goes through it too (all under the writer lock)."""
    store.add_jobs([make_job("a")])
    used: list[object] = []
    inside, leave = threading.Event(), threading.Event()

    def pinned_writer() -> None:
        with store.pinned():
            with store._write() as conn:
                used.append(conn)
            inside.set()
            leave.wait(10)

    other = threading.Thread(target=pinned_writer)
    other.start()
    assert inside.wait(10)
    with store.pinned(), store._write() as conn:
        used.append(conn)
    with store._write() as conn:  # a thread that is not pinned, while one is
        used.append(conn)
    leave.set()
    other.join(10)
    if store.dialect.pins_connections:
        assert used[0] is used[1] is used[2]
    else:  # PostgreSQL: a pooled connection per transaction, as ever
        assert store.engine.pool.checkedout() == 0
    store.add_run("a", T0, T0, RunReason.MANUAL)  # after the last: the pool again
    assert store._shared is None
    assert store.engine.pool.checkedout() == 0
