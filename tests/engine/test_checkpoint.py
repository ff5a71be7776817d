"""The recorder's WAL checkpoints: fewer while the log stays small, every call once it grows."""

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
    """Patch the dialect's checkpoint to record the log size each real one found."""
    found: list[int | None] = []
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
    for _ in range(base.MAX_CHECKPOINT_EVERY):  # the skipped calls left, then a real one
        store.checkpoint()
        if len(found) == 4:
            break
    assert found[-1] is not None
    assert found[-1] >= base.SMALL_WAL_FRAMES
    write(store, 2000)
    store.checkpoint()  # the very next call checkpoints again
    assert len(found) == 5
    store.close()
