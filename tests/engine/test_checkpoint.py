"""The recorder's WAL checkpoints: fewer while the log stays small, every call once it grows.

The recorder calls about once a second; here each call comes one (fake) second after the
last."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from sqlalchemy import Engine

from gnomon.store import base
from gnomon.store.dialect import SqliteDialect
from gnomon.store.sql import SqlStore
from gnomon.store.tables import events


@pytest.fixture
def store(tmp_path: Path) -> SqlStore:
    return SqlStore(f"sqlite:///{tmp_path / 'g.db'}")


def counted(monkeypatch: pytest.MonkeyPatch) -> list[int | None]:
    """Patch the dialect's checkpoint to record the log size each real one found, and the
    store's clock to move on by a second at each call of ``SqlStore.checkpoint``."""
    found: list[int | None] = []
    seconds = itertools.count(1000)
    now = [0.0]
    monkeypatch.setattr(base, "_monotonic", lambda: now[0])
    real_call = SqlStore.checkpoint

    def call(self: SqlStore) -> None:
        now[0] = float(next(seconds))
        real_call(self)

    monkeypatch.setattr(SqlStore, "checkpoint", call)
    real = SqliteDialect.checkpoint

    def checkpoint(self: SqliteDialect, engine: Engine) -> int | None:
        frames = real(self, engine)
        found.append(frames)
        return frames

    monkeypatch.setattr(SqliteDialect, "checkpoint", checkpoint)
    return found


def write(store: SqlStore, rows: int) -> None:
    with store.engine.begin() as conn:
        conn.execute(
            events.insert(),
            [{"at": i, "kind": "x", "data": "y" * 3000} for i in range(rows)],
        )


def test_a_small_log_is_checkpointed_less_and_less_often_up_to_a_bound(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = counted(monkeypatch)
    calls_between = []
    last = 0
    for call in range(1, 80):
        write(store, 1)  # a few pages a call: the log stays small
        store.checkpoint()
        if len(found) > last:
            calls_between.append(call)
            last = len(found)
    gaps = [b - a for a, b in itertools.pairwise(calls_between)]
    assert gaps[:6] == [1, 2, 4, 8, 16, 16]
    assert all(f is not None and 0 < f < base.SMALL_WAL_FRAMES for f in found)
    store.close()


def test_a_large_log_brings_the_checkpoint_back_to_every_call(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = counted(monkeypatch)
    for _ in range(7):  # a small log: calls 1, 2 and 4 checkpoint, 3 and 5-7 do not
        write(store, 1)
        store.checkpoint()
    assert len(found) == 3
    write(store, 2000)  # thousands of pages
    for _ in range(int(base.MAX_CHECKPOINT_EVERY)):  # the skipped calls left, then a real one
        store.checkpoint()
        if len(found) == 4:
            break
    assert found[-1] is not None
    assert found[-1] >= base.SMALL_WAL_FRAMES
    write(store, 2000)
    store.checkpoint()  # the very next call checkpoints again
    assert len(found) == 5
    store.close()


def test_a_checkpoint_is_due_exactly_when_a_call_would_run_one(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``checkpoint_due`` says whether a call now would checkpoint: the recorder's thread is
    woken for a checkpoint only then (the scheduler's loop asks)."""
    now = [0.0]
    monkeypatch.setattr(base, "_monotonic", lambda: now[0])
    ran: list[float] = []
    real = SqliteDialect.checkpoint

    def checkpoint(self: SqliteDialect, engine: Engine) -> int | None:
        ran.append(now[0])
        return real(self, engine)

    monkeypatch.setattr(SqliteDialect, "checkpoint", checkpoint)
    for now[0] in (0.0, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0):
        write(store, 1)  # a small log: 1 s, then 2 s, then 4 s between checkpoints
        due, before = store.checkpoint_due(), len(ran)
        store.checkpoint()
        assert due == (len(ran) > before), f"at {now[0]} s"
    assert ran == [0.0, 1.0, 3.0, 7.0]
    store.close()


def test_no_checkpoint_is_ever_due_on_postgresql(postgres_databases: object) -> None:
    """PostgreSQL has no log of the process's own to fold back: the recorder's thread is
    never woken for a checkpoint there."""
    url = postgres_databases.shared_empty()  # type: ignore[attr-defined]
    store = SqlStore(url)
    try:
        assert not store.checkpoint_due()
        store.checkpoint()
        assert not store.checkpoint_due()
    finally:
        store.close()
