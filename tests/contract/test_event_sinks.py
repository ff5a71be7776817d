"""Event sinks deliver at least once, in order, by one replica at a time, across restarts.

Every test runs on SQLite and PostgreSQL, with relays on separate ``SqlStore`` instances (as
separate replicas would be) and the real webhook sink posting to a local HTTP server. Time
that matters (leases, backoff, PostgreSQL id gaps) is a FakeClock; no test sleeps.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import text

from gnomon.clock import FakeClock, SystemClock
from gnomon.events import Event
from gnomon.events.relay import (
    DROPPED,
    GAP_WAIT,
    MAX_SINK_ATTEMPTS,
    SINK_BATCH,
    SINK_LEASE,
    EventRelay,
)
from gnomon.events.sinks import webhook_sink
from gnomon.store import SqlStore

T0 = datetime(2026, 5, 1, tzinfo=UTC)


class Receiver:
    """A webhook receiver: records every event it accepts; ``refuse(body)`` decides a 500."""

    def __init__(self) -> None:
        self.accepted: list[dict[str, Any]] = []
        self.requests: list[int] = []  # the event id of every request, accepted or not
        self.refuse: Callable[[dict[str, Any]], bool] = lambda body: False
        self.gate = threading.Event()  # requests wait for it: clear it to hold them
        self.gate.set()
        self.changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                receiver.gate.wait(20)
                refused = receiver.refuse(body)
                with receiver.changed:
                    receiver.requests.append(body["id"])
                    if not refused:
                        receiver.accepted.append(body)
                    receiver.changed.notify_all()
                self.send_response(500 if refused else 204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/events"
        serve = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        serve.start()

    @property
    def ids(self) -> list[int]:
        with self.changed:
            return [body["id"] for body in self.accepted]

    def wait_for(self, count: int, timeout: float = 20) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: len(self.accepted) >= count, timeout)

    def close(self) -> None:
        self.gate.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    monkeypatch.setenv("GNOMON_HTTP_ALLOW", "127.0.0.1")  # sinks pass the SSRF guard too
    found = Receiver()
    yield found
    found.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def make_relay(
    open_store: Callable[[], SqlStore], receiver: Receiver, clock: FakeClock
) -> Iterator[Callable[..., EventRelay]]:
    """``make_relay(holder)``: a replica's relay on its own store, with the webhook sink."""
    made: list[EventRelay] = []

    def make(holder: str, **kwargs: Any) -> EventRelay:
        kwargs.setdefault("clock", clock)
        relay = EventRelay(open_store(), holder=holder, **kwargs)
        relay.add_sink(webhook_sink(receiver.url))
        relay.mark_start()
        made.append(relay)
        return relay

    yield make
    for relay in made:
        relay.stop()


def append(store: SqlStore, count: int, at: datetime = T0) -> list[int]:
    before = store.list_events(limit=1, newest=True)
    after = before[0].id if before and before[0].id is not None else 0
    store.append_events([Event(kind="test.n", at=at, data={"n": n}) for n in range(count)])
    return [e.id for e in store.list_events(after_id=after, limit=10_000) if e.id is not None]


def test_two_replicas_deliver_each_event_once(
    make_relay: Callable[..., EventRelay], receiver: Receiver, clock: FakeClock
) -> None:
    a, b = make_relay("a"), make_relay("b")
    ids = append(a.store, 30)
    delivered = {"a": 0, "b": 0}
    for _ in range(3):
        delivered["b"] += b.pump()
        delivered["a"] += a.pump()
        clock.advance(SINK_LEASE / 2)  # the holder renews its lease as it goes
    ids += append(b.store, 5)
    delivered["a"] += a.pump()
    delivered["b"] += b.pump()
    assert receiver.ids == ids
    assert delivered == {"a": 0, "b": 35}  # b pumped first and kept the lease


def test_two_running_replicas_deliver_each_event_once(
    make_relay: Callable[..., EventRelay], receiver: Receiver
) -> None:
    relays = [make_relay(name, clock=SystemClock(), poll=0.02) for name in "ab"]
    for relay in relays:
        relay.start()
    ids = append(relays[0].store, 40)
    ids += append(relays[1].store, 40)
    assert receiver.wait_for(len(ids))
    for relay in relays:
        relay.stop()  # joins the threads: nothing more can arrive
    assert receiver.ids == ids


def test_a_clean_stop_hands_the_sink_over_at_once(
    make_relay: Callable[..., EventRelay], receiver: Receiver
) -> None:
    a, b = (make_relay(name, clock=SystemClock(), poll=0.02) for name in "ab")
    a.start()
    first = append(a.store, 10)
    assert receiver.wait_for(len(first))
    b.start()
    a.stop()  # gives the lease up: b need not wait for it to expire
    second = append(b.store, 10)
    assert receiver.wait_for(len(first) + len(second))
    b.stop()
    assert receiver.ids == first + second


def test_a_dead_holders_sink_is_taken_over_after_its_lease(
    make_relay: Callable[..., EventRelay], receiver: Receiver, clock: FakeClock
) -> None:
    a, b = make_relay("a"), make_relay("b")
    ids = append(a.store, SINK_BATCH + 10)
    crash_after = SINK_BATCH + 4

    class Crash(BaseException):
        """The process dies: nothing after this runs in it."""

    [feed] = a.feeds
    real = feed.sink

    class DiesMidBatch:
        name = real.name

        def deliver(self, event: Event) -> None:
            if len(receiver.accepted) == crash_after:
                raise Crash
            real.deliver(event)

    feed.sink = DiesMidBatch()
    with pytest.raises(Crash):
        a.pump()
    assert receiver.ids == ids[:crash_after]
    assert b.pump() == 0  # a's lease still runs
    clock.advance(SINK_LEASE)
    assert b.pump() > 0
    # The first batch was saved; the events of the batch a died in come again.
    assert receiver.ids == ids[:crash_after] + ids[SINK_BATCH:]


def test_a_paused_holder_stops_once_it_sees_it_lost_the_sink(
    make_relay: Callable[..., EventRelay], receiver: Receiver, clock: FakeClock
) -> None:
    a, b = make_relay("a"), make_relay("b")
    ids = append(a.store, 5)
    [feed] = a.feeds
    real = feed.sink

    class PausesAfterOne:
        name = real.name

        def deliver(self, event: Event) -> None:
            real.deliver(event)
            if event.id == ids[0]:  # a stalls (GC, SIGSTOP) past its lease; b takes over
                clock.advance(SINK_LEASE)
                assert b.pump() == len(ids)

    feed.sink = PausesAfterOne()
    assert a.pump() == 1  # a found at its renewal that b holds the sink, and stopped
    assert receiver.ids == [ids[0], *ids]
    cursor = b.store.sink_cursor("webhook")
    assert cursor is not None
    assert (cursor.holder, cursor.after_id) == ("b", ids[-1])


def test_a_failing_sink_is_retried_with_backoff_and_keeps_order(
    make_relay: Callable[..., EventRelay], receiver: Receiver, clock: FakeClock
) -> None:
    relay = make_relay("a")
    ids = append(relay.store, 4)
    refusals = iter(range(3))
    receiver.refuse = lambda body: next(refusals, None) is not None  # the first 3 requests
    delays = []
    for _ in range(3):
        assert relay.pump() == 0
        cursor = relay.store.sink_cursor("webhook")
        assert cursor is not None
        assert cursor.retry_at is not None
        delays.append((cursor.retry_at - clock.now()).total_seconds())
        assert relay.pump() == 0  # not before the retry time: no request at all
        clock.set(cursor.retry_at)
    assert relay.pump() == len(ids)
    assert receiver.requests == [ids[0]] * 4 + ids[1:]
    assert receiver.ids == ids
    assert [round(d) for d in delays] == [1, 2, 4]  # doubling (plus up to 10 % jitter)
    cursor = relay.store.sink_cursor("webhook")
    assert cursor is not None
    assert (cursor.after_id, cursor.attempts, cursor.retry_at) == (ids[-1], 0, None)


def test_hooks_do_not_wait_for_a_failing_sink(
    make_relay: Callable[..., EventRelay], receiver: Receiver
) -> None:
    relay = make_relay("a")
    seen: list[int | None] = []
    relay.on("*", lambda event: seen.append(event.id))
    receiver.refuse = lambda body: True
    ids = append(relay.store, 3)
    relay.pump()
    assert seen == ids
    assert receiver.ids == []


def test_hooks_do_not_wait_for_a_slow_sink(
    make_relay: Callable[..., EventRelay], receiver: Receiver
) -> None:
    relay = make_relay("a", clock=SystemClock(), poll=0.02)
    seen: list[int | None] = []
    all_seen = threading.Event()

    def hook(event: Event) -> None:
        seen.append(event.id)
        if len(seen) == 3:
            all_seen.set()

    relay.on("*", hook)
    receiver.gate.clear()  # the webhook holds every request
    relay.start()
    ids = append(relay.store, 3)
    assert all_seen.wait(10)
    assert seen == ids
    assert receiver.ids == []
    receiver.gate.set()
    assert receiver.wait_for(3)
    assert receiver.ids == ids


def test_an_event_that_keeps_failing_is_dropped_and_recorded(
    make_relay: Callable[..., EventRelay], receiver: Receiver, clock: FakeClock
) -> None:
    relay = make_relay("a")
    ids = append(relay.store, 3)
    receiver.refuse = lambda body: body["id"] == ids[1]
    for _ in range(MAX_SINK_ATTEMPTS):
        relay.pump()
        clock.advance(60 * 1.1)  # past the longest backoff
    relay.pump()
    assert receiver.requests.count(ids[1]) == MAX_SINK_ATTEMPTS
    assert receiver.ids[:2] == [ids[0], ids[2]]  # the stream went on past the dropped one
    [dropped] = [body for body in receiver.accepted if body["kind"] == DROPPED]
    assert dropped["data"]["event_id"] == ids[1]
    assert dropped["data"]["attempts"] == MAX_SINK_ATTEMPTS
    assert "500" in dropped["data"]["error"]


def test_events_recorded_while_no_relay_ran_are_delivered_on_restart(
    make_relay: Callable[..., EventRelay], open_store: Callable[[], SqlStore], receiver: Receiver
) -> None:
    first = make_relay("a")
    started = append(first.store, 2)
    first.pump()
    first.stop()  # a clean stop gives the lease up
    cursor = first.store.sink_cursor("webhook")
    assert cursor is not None
    assert (cursor.after_id, cursor.holder) == (started[-1], None)
    first.store.close()
    down = append(open_store(), 5)  # recorded while no relay runs
    again = make_relay("a-restarted")  # another process: another holder id
    again.pump()
    assert receiver.ids == started + down


def test_a_first_start_skips_the_old_history(
    make_relay: Callable[..., EventRelay], open_store: Callable[[], SqlStore], receiver: Receiver
) -> None:
    append(open_store(), 50)
    relay = make_relay("a")
    assert relay.pump() == 0
    new = append(relay.store, 2)
    relay.pump()
    assert receiver.ids == new


@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres)])
@pytest.mark.parametrize("outcome", ["commit", "rollback"])
def test_an_uncommitted_lower_id_is_not_overtaken(
    make_relay: Callable[..., EventRelay], receiver: Receiver, clock: FakeClock, outcome: str
) -> None:
    relay = make_relay("a")
    [first] = append(relay.store, 1)
    # Closed even if an assertion fails: an open transaction would block the next test.
    with relay.store.engine.connect() as writer:
        slow = writer.begin()  # takes the next id, commits after a later event
        writer.execute(text("INSERT INTO gnomon_events (at, kind) VALUES (0, 'slow')"))
        [later] = append(relay.store, 1)
        assert relay.pump() == 1
        assert receiver.ids == [first]  # waits at the gap
        clock.advance(GAP_WAIT - 1)
        assert relay.pump() == 0
        if outcome == "commit":
            slow.commit()
        else:
            slow.rollback()
    if outcome == "commit":
        assert relay.pump() == 2
        assert [body["kind"] for body in receiver.accepted] == ["test.n", "slow", "test.n"]
    else:
        assert relay.pump() == 0
        clock.advance(1)  # the gap has lasted GAP_WAIT: a rolled-back id, passed
        assert relay.pump() == 1
        assert receiver.ids == [first, later]


def test_a_sink_is_named_once(make_relay: Callable[..., EventRelay], receiver: Receiver) -> None:
    relay = make_relay("a")
    with pytest.raises(ValueError, match="already"):
        relay.add_sink(webhook_sink(receiver.url))
