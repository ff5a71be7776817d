"""gnomon.gil: long Python work sleeps for an instant (handing the GIL over) only once
another thread has said it wants the GIL by now."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from gnomon import gil


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    calls: list[float] = []
    monkeypatch.setattr(gil.time, "sleep", calls.append)
    yield calls
    gil.want(gil.NEVER)


def test_nobody_wants_the_gil_so_courtesy_costs_a_clock_read(sleeps: list[float]) -> None:
    gil.want(gil.NEVER)
    gil.courtesy()
    gil.want(time.monotonic() + 60)  # wanted, but not yet
    gil.courtesy()
    assert sleeps == []


def test_a_thread_wants_the_gil_by_now_so_courtesy_hands_it_over(sleeps: list[float]) -> None:
    gil.want(time.monotonic() - 0.001)
    gil.courtesy()
    gil.courtesy()  # until the thread that wants it says when it wants it next
    assert sleeps == [0, 0]
    gil.want(gil.NEVER)
    gil.courtesy()
    assert sleeps == [0, 0]
