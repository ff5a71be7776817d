"""Changes committed by another process wake a scheduler at once on PostgreSQL (LISTEN/NOTIFY).

Each scheduler here polls every 30 s, so a run that starts within half a second can only have
been woken by a notification. The "other process" is a second ``SqlStore`` on the same
database, as the API server or the CLI would hold. Tests wait on events, never on timers.
"""

from __future__ import annotations

import secrets
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

import psycopg
import pytest

from gnomon import Scheduler
from gnomon.clock import SystemClock
from gnomon.definitions import define_job, python
from gnomon.models import Job, RunReason, RunStatus
from gnomon.store import FinishedRun, SqlStore
from gnomon.store.listen import CHANNEL, Subscription, WakeListener
from tests.servers import fresh_postgres_database, require

POLL = 30.0  # far longer than any wait below: only a notification can explain a quick start
WAIT = 10.0  # the timeout of every wait (reached only by a failure)
BOUND = 0.5  # seconds from a commit to the run's start (measured: a few milliseconds)

_started: dict[str, threading.Event] = {}
_started_at: dict[str, float] = {}


def record_start(key: str) -> None:
    """The python action of these jobs: note when the run started and wake the test."""
    _started_at[key] = time.monotonic()
    _started[key].set()


def one_shot(key: str, *, paused: bool = False, due: float = 0.001) -> Job:
    """A job whose one fire is due in ``due`` seconds, running ``record_start(key)``."""
    now = SystemClock().now()
    return define_job(
        now + timedelta(seconds=due), python(record_start, key), now=now, id=key, paused=paused
    )


def latency(key: str, change: Callable[[], object]) -> float:
    """Seconds from the commit of ``change()`` to the start of the run of ``key``."""
    _started[key] = started = threading.Event()
    change()
    committed = time.monotonic()
    assert started.wait(WAIT), f"the run of {key} did not start within {WAIT} s"
    return _started_at[key] - committed


class Subscribed:
    """A store whose ``listen`` is watched: the test learns of the subscription a scheduler
    makes as its loop starts (the seam the scheduler uses, not its attributes)."""

    def __init__(self, url: str) -> None:
        self.store = SqlStore(url)
        self.made = threading.Event()
        self.subscription: Subscription | None = None
        self.scheduler: Scheduler | None = None  # set by the fixture that runs one
        listen = self.store.listen

        def watched(callback: Callable[[], None]) -> Subscription | None:
            self.subscription = listen(callback)
            self.made.set()
            return self.subscription

        self.store.listen = watched  # type: ignore[method-assign]

    def listener(self) -> WakeListener:
        assert self.made.wait(WAIT), "the scheduler did not subscribe"
        assert isinstance(self.subscription, WakeListener)
        assert self.subscription.wait_listening(timeout=WAIT)
        return self.subscription


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    """A fresh migrated database for this module, dropped afterwards (notifications are per
    database: other tests' changes do not wake these schedulers)."""
    require("postgres")
    with fresh_postgres_database("gnomon_notify") as url:
        SqlStore(url).close()  # migrated once
        yield url


@pytest.fixture
def other(pg_url: str) -> Iterator[SqlStore]:
    """Another process's store on the same database."""
    store = SqlStore(pg_url)
    yield store
    store.close()


@pytest.fixture
def running(pg_url: str) -> Iterator[Subscribed]:
    """A scheduler running in a thread, polling every 30 s, its listener listening."""
    watched = Subscribed(pg_url)
    worker = f"notify:{secrets.token_hex(3)}"
    with Scheduler(store=watched.store, poll=POLL, workers=2, worker_id=worker) as scheduler:
        watched.scheduler = scheduler
        scheduler.start()
        watched.listener()
        yield watched
    watched.store.close()


@pytest.mark.postgres
def test_a_job_created_by_another_process_starts_at_once(
    running: Subscribed, other: SqlStore
) -> None:
    delays = []
    for n in range(5):
        key = f"created-{n}-{secrets.token_hex(3)}"
        delays.append(latency(key, partial(other.add_jobs, [one_shot(key)])))
    assert statistics.median(delays) < BOUND, delays


@pytest.mark.postgres
def test_a_manual_run_by_another_process_starts_at_once(
    running: Subscribed, other: SqlStore
) -> None:
    key = f"manual-{secrets.token_hex(3)}"
    now = SystemClock().now()
    other.add_jobs([define_job(timedelta(days=1), python(record_start, key), now=now, id=key)])
    assert latency(key, lambda: other.add_run(key, now, now, RunReason.MANUAL)) < BOUND


@pytest.mark.postgres
def test_a_job_resumed_by_another_process_starts_at_once(
    running: Subscribed, other: SqlStore
) -> None:
    """Resuming runs the fires after the resume: one due a second later starts on time
    (without a notification the scheduler would not look before its 30 s poll)."""
    key = f"resumed-{secrets.token_hex(3)}"
    due = time.monotonic() + 1.0
    other.add_jobs([one_shot(key, paused=True, due=1.0)])
    with Scheduler(store=other, poll=POLL) as api:  # its Python API only: no loop
        latency(key, lambda: api.resume(key))
    assert _started_at[key] - due < BOUND


class Channel:
    """The notifications on ``gnomon_wake``, seen from a connection of the test's own."""

    def __init__(self, url: str) -> None:
        self.conn = psycopg.connect(url, autocommit=True)
        self.conn.execute(f"LISTEN {CHANNEL}")

    def heard(self) -> int:
        """How many notifications came since the last call: a marker is sent, and they are
        counted until it arrives (the server delivers them in commit order)."""
        self.conn.execute(f"NOTIFY {CHANNEL}, 'marker'")
        for count, notify in enumerate(self.conn.notifies(timeout=WAIT)):
            if notify.payload == "marker":
                return count
        raise AssertionError(f"the marker did not come back within {WAIT} s")


@pytest.fixture
def channel(pg_url: str) -> Iterator[Channel]:
    listening = Channel(pg_url)
    yield listening
    listening.conn.close()


@pytest.mark.postgres
def test_writes_that_can_move_a_wake_up_earlier_notify_and_others_do_not(
    other: SqlStore, channel: Channel
) -> None:
    key, t0 = f"writes-{secrets.token_hex(3)}", SystemClock().now()
    other.add_jobs([define_job(timedelta(days=1), python(record_start, key), now=t0, id=key)])
    assert channel.heard() == 1
    with Scheduler(store=other, poll=POLL) as api:  # its Python API only: no loop
        api.pause(key)
        assert channel.heard() == 1
        api.resume(key)
        assert channel.heard() == 1
        api.update(key, name="renamed")
        assert channel.heard() == 1
    run = other.add_run(key, t0, t0, RunReason.MANUAL)
    assert channel.heard() == 1

    def claim(at: datetime) -> int:
        [claimed] = other.claim_runs(at, "w", 10, lease=30)
        return claimed.run.id

    def fail(run_id: int, at: datetime, retry_in: float) -> None:
        retry = at + timedelta(seconds=retry_in)
        other.finish_runs(
            [
                FinishedRun(
                    run_id=run_id,
                    worker="w",
                    status=RunStatus.FAILED,
                    finished_at=at,
                    retry_due=retry,
                )
            ]
        )

    assert claim(t0) == run.id
    assert channel.heard() == 0  # a claim moves no one's wake-up earlier
    other.release_runs([run.id], "w", t0)  # handed back: pending at once
    assert channel.heard() == 1
    claim(t0)
    t1 = t0 + timedelta(minutes=1)
    assert other.recover_lost_runs(t1) == 1  # taken back from a vanished worker
    assert channel.heard() == 1
    fail(claim(t1), t1, retry_in=0.1)  # a retry due soon: others should look
    assert channel.heard() == 1
    t2 = t1 + timedelta(seconds=1)
    fail(claim(t2), t2, retry_in=3600)  # due later: every poll sees it in time
    assert channel.heard() == 0
    other.remove_job(key, t2)
    assert channel.heard() == 1


@pytest.mark.postgres
def test_a_busy_scheduler_wakes_no_one(
    running: Subscribed, other: SqlStore, channel: Channel
) -> None:
    """A busy replica's steps, claims and outcomes would wake every other one all the time."""
    keys = [f"quiet-{n}-{secrets.token_hex(3)}" for n in range(5)]
    for key in keys:
        _started[key] = threading.Event()
    other.add_jobs([one_shot(key) for key in keys])  # one transaction: one notification
    assert all(_started[key].wait(WAIT) for key in keys)
    assert running.scheduler is not None
    assert running.scheduler.wait_idle(WAIT)  # their outcomes are recorded
    assert channel.heard() == 1


@pytest.mark.postgres
def test_the_listener_listens_again_after_its_connection_is_killed(
    pg_url: str, other: SqlStore
) -> None:
    heard = threading.Semaphore(0)
    listener = other.listen(heard.release)
    assert isinstance(listener, WakeListener)
    try:
        assert listener.wait_listening(timeout=WAIT)
        first = listener.backend_pid
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (first,))
        assert listener.wait_listening(connections=2, timeout=WAIT)
        assert listener.backend_pid != first
        assert heard.acquire(timeout=WAIT)  # once on reconnecting: changes may have been lost
        job = one_shot(f"after-kill-{secrets.token_hex(3)}", paused=True)
        other.add_jobs([job])
        assert heard.acquire(timeout=WAIT)  # and for each change after
    finally:
        listener.close()


def notify_and_fail(store: SqlStore) -> None:
    with store._write() as conn:
        store.dialect.notify(conn)
        raise RuntimeError("the transaction fails after notifying")


@pytest.mark.postgres
def test_a_change_rolled_back_wakes_no_one(other: SqlStore, channel: Channel) -> None:
    with pytest.raises(RuntimeError):
        notify_and_fail(other)
    assert channel.heard() == 0


def test_sqlite_has_no_listener_and_polls_as_before(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'gnomon.db'}"
    watched, other = Subscribed(url), SqlStore(url)
    try:
        with Scheduler(store=watched.store, poll=0.05, workers=1, worker_id="lite:1") as sched:
            sched.start()
            assert watched.made.wait(WAIT)
            assert watched.subscription is None
            key = f"polled-{secrets.token_hex(3)}"
            assert latency(key, lambda: other.add_jobs([one_shot(key)])) < WAIT
    finally:
        other.close()
        watched.store.close()
