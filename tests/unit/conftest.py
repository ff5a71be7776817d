"""Fixtures for scheduler tests: a ``Scheduler`` on a fresh SQLite file, driven by a FakeClock.

Tests move time with ``clock.advance(...)`` (which also moves the fake monotonic clock, so
heartbeats and lease recovery happen as they would) and then call ``tick()``; they wait for
runs with ``wait_idle(timeout=...)`` or on a gate from ``tests.unit.blocking`` — never sleep.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gnomon import FakeClock, Scheduler
from gnomon.settings import Settings
from tests.unit import blocking

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def make_scheduler(tmp_path: Path, clock: FakeClock) -> Iterator[Callable[..., Scheduler]]:
    """``make_scheduler(**kwargs)``: a Scheduler on ``tmp_path/gnomon.db`` with the test's
    FakeClock and 4 workers; every one made is closed after the test (blocked runs released
    first, so closing never waits on them)."""
    made: list[Scheduler] = []

    def make(**kwargs: Any) -> Scheduler:
        kwargs.setdefault("clock", clock)
        kwargs.setdefault("workers", 4)
        kwargs.setdefault("settings", Settings(workers=4))
        scheduler = Scheduler(f"sqlite:///{tmp_path / 'gnomon.db'}", **kwargs)
        made.append(scheduler)
        return scheduler

    yield make
    blocking.open_all()
    for scheduler in made:
        scheduler.close()


@pytest.fixture
def scheduler(make_scheduler: Callable[..., Scheduler]) -> Scheduler:
    return make_scheduler()
