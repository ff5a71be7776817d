"""The event sinks' cursors in the store: created at the newest event, one holder at a time,
moved only by the holder that still holds them. Every backend."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from gnomon.events import Event
from gnomon.store import SinkCursor, SqlStore

T0 = datetime(2026, 5, 1, tzinfo=UTC)
LEASE = 30.0


def later(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def append(store: SqlStore, *kinds: str) -> list[int]:
    store.append_events([Event(kind=kind, at=T0) for kind in kinds])
    return [e.id for e in store.list_events(limit=1000) if e.id is not None][-len(kinds) :]


def test_a_new_cursor_starts_after_the_newest_event(store: SqlStore) -> None:
    *_, newest = append(store, "old.a", "old.b")
    cursor = store.open_sink_cursor("webhook", T0)
    assert (cursor.after_id, cursor.holder, cursor.attempts) == (newest, None, 0)
    append(store, "new")
    assert store.open_sink_cursor("webhook", later(1)).after_id == newest  # kept, not moved
    assert store.open_sink_cursor("mqtt", T0).after_id == newest + 1  # each sink its own


def test_a_cursor_on_an_empty_table_starts_at_zero(store: SqlStore) -> None:
    taken = store.take_sink_cursor("webhook", "a", T0, LEASE)
    assert taken is not None
    assert (taken.after_id, taken.holder, taken.lease_until) == (0, "a", later(LEASE))


def test_one_holder_at_a_time_until_the_lease_expires(store: SqlStore) -> None:
    assert store.take_sink_cursor("webhook", "a", T0, LEASE) is not None
    assert store.take_sink_cursor("webhook", "b", later(LEASE - 1), LEASE) is None
    renewed = store.take_sink_cursor("webhook", "a", later(LEASE / 2), LEASE)
    assert renewed is not None
    assert renewed.lease_until == later(LEASE / 2 + LEASE)  # renewed: a third had passed
    assert store.take_sink_cursor("webhook", "b", later(LEASE + 1), LEASE) is None
    taken = store.take_sink_cursor("webhook", "b", later(LEASE / 2 + LEASE), LEASE)
    assert taken is not None
    assert taken.holder == "b"


def test_a_fresh_lease_is_not_rewritten_on_every_take(store: SqlStore) -> None:
    first = store.take_sink_cursor("webhook", "a", T0, LEASE)
    again = store.take_sink_cursor("webhook", "a", later(1), LEASE)
    assert first is not None
    assert again is not None
    assert again.lease_until == first.lease_until


def test_concurrent_takers_of_an_expired_lease_one_wins(
    open_store: Callable[[], SqlStore],
) -> None:
    stores = [open_store() for _ in range(4)]
    assert stores[0].take_sink_cursor("webhook", "old", T0, LEASE) is not None
    start = threading.Barrier(len(stores))
    won: list[SinkCursor | None] = [None] * len(stores)

    def take(i: int) -> None:
        start.wait()
        won[i] = stores[i].take_sink_cursor("webhook", f"h{i}", later(LEASE + 1), LEASE)

    threads = [threading.Thread(target=take, args=(i,)) for i in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [cursor for cursor in won if cursor is not None]
    assert len(winners) == 1
    assert stores[0].sink_cursor("webhook") == winners[0]


def test_progress_is_saved_only_by_the_holder_that_still_holds_it(store: SqlStore) -> None:
    ids = append(store, "e1", "e2", "e3")
    store.open_sink_cursor("webhook", T0)  # after e3: move it back to test moves
    stale = store.take_sink_cursor("webhook", "a", T0, LEASE)
    assert stale is not None
    stale = store.save_sink_progress(stale, after_id=ids[0] - 1, now=T0, lease=LEASE)
    assert stale is not None
    moved = store.save_sink_progress(stale, after_id=ids[0], now=later(1), lease=LEASE)
    assert moved is not None
    assert moved.lease_until == later(1 + LEASE)
    # "a" pauses; its lease expires and "b" takes over and moves on.
    taken = store.take_sink_cursor("webhook", "b", later(1 + LEASE), LEASE)
    assert taken is not None
    assert store.save_sink_progress(taken, after_id=ids[1], now=later(32), lease=LEASE)
    # "a" wakes up and tries to save what it delivered meanwhile: refused, nothing changes.
    assert store.save_sink_progress(moved, after_id=ids[2], now=later(33), lease=LEASE) is None
    now = store.sink_cursor("webhook")
    assert now is not None
    assert (now.holder, now.after_id) == ("b", ids[1])


def test_failures_are_recorded_with_the_cursor(store: SqlStore) -> None:
    cursor = store.take_sink_cursor("webhook", "a", T0, LEASE)
    assert cursor is not None
    failed = store.save_sink_progress(
        cursor,
        after_id=cursor.after_id,
        now=T0,
        lease=LEASE,
        attempts=2,
        retry_at=later(4),
        error="unexpected status 500",
    )
    assert failed is not None
    assert store.sink_cursor("webhook") == failed
    assert (failed.attempts, failed.retry_at) == (2, later(4))
    assert failed.error == "unexpected status 500"


def test_a_drop_moves_the_cursor_and_records_the_event_together(store: SqlStore) -> None:
    [bad] = append(store, "run.failed")
    store.open_sink_cursor("webhook", T0)
    cursor = store.take_sink_cursor("webhook", "a", T0, LEASE)
    assert cursor is not None
    cursor = store.save_sink_progress(cursor, after_id=bad - 1, now=T0, lease=LEASE)
    assert cursor is not None
    dropped = Event(kind="sink.dropped", at=later(1), data={"event_id": bad})
    store.save_sink_progress(cursor, after_id=bad, now=later(1), lease=LEASE, dropped=dropped)
    [recorded] = store.list_events(after_id=bad)
    assert (recorded.kind, recorded.data) == ("sink.dropped", {"event_id": bad})
    # A holder that lost the cursor records no drop either.
    assert (
        store.save_sink_progress(cursor, after_id=bad, now=later(2), lease=LEASE, dropped=dropped)
        is None
    )
    assert len(store.list_events(after_id=bad)) == 1


def test_release_lets_another_replica_take_over_at_once(store: SqlStore) -> None:
    assert store.take_sink_cursor("webhook", "a", T0, LEASE) is not None
    assert not store.release_sink_cursor("webhook", "b")  # not b's to release
    assert store.release_sink_cursor("webhook", "a")
    taken = store.take_sink_cursor("webhook", "b", later(1), LEASE)
    assert taken is not None
    assert taken.holder == "b"
