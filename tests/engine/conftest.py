"""Scheduler-level tests, on SQLite and on PostgreSQL (``tests/backends.py``), driven by a
FakeClock.

Tests move time with ``clock.advance(...)`` (which also moves the fake monotonic clock, so
heartbeats and lease recovery happen as they would) and then call ``tick()``; they wait for
runs with ``wait_idle(timeout=...)`` or on a gate from ``tests.engine.blocking`` — never sleep.

``make_scheduler`` runs each test on both backends; a test that is about SQLite itself (its
file, its journal beside the file) asks for ``sqlite_scheduler`` instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gnomon import FakeClock, Scheduler
from gnomon.settings import Settings
from tests.backends import BACKENDS
from tests.engine import blocking

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


def _factory(url: str, clock: FakeClock) -> Iterator[Callable[..., Scheduler]]:
    made: list[Scheduler] = []

    def make(**kwargs: Any) -> Scheduler:
        kwargs.setdefault("clock", clock)
        kwargs.setdefault("workers", 4)
        kwargs.setdefault("settings", Settings(workers=4))
        scheduler = Scheduler(url, **kwargs)
        made.append(scheduler)
        return scheduler

    yield make
    blocking.open_all()
    for scheduler in made:
        scheduler.close()


@pytest.fixture(params=BACKENDS)
def make_scheduler(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> Iterator[Callable[..., Scheduler]]:
    """``make_scheduler(**kwargs)``: a Scheduler on the test's backend (a fresh SQLite file, or
    the session's PostgreSQL database emptied) with the test's FakeClock and 4 workers; every
    one made is closed after the test (blocked runs released first, so closing never waits)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'gnomon.db'}"
    else:
        url = request.getfixturevalue("postgres_databases").shared_empty()
    yield from _factory(url, clock)


@pytest.fixture
def sqlite_scheduler(tmp_path: Path, clock: FakeClock) -> Iterator[Callable[..., Scheduler]]:
    """``make_scheduler`` on SQLite only, for tests about SQLite's file and what lies beside it."""
    yield from _factory(f"sqlite:///{tmp_path / 'gnomon.db'}", clock)


@pytest.fixture
def scheduler(make_scheduler: Callable[..., Scheduler]) -> Scheduler:
    return make_scheduler()
