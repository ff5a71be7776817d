"""`gnomon up` waits while the database is unavailable at start, instead of exiting
(two replicas starting on one new SQLite file meet in its lock while both migrate)."""

from __future__ import annotations

import pytest

from gnomon.cli.up import START_PATIENCE, _while_unavailable
from gnomon.errors import InvalidSpec, StoreUnavailable


def test_start_is_tried_again_while_the_database_is_unavailable() -> None:
    calls, slept = [], []

    def start() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise StoreUnavailable("database unavailable: database is locked")
        return "started"

    assert _while_unavailable(start, [], sleep=slept.append) == "started"
    assert slept == [0.2, 0.4]


def test_it_gives_up_after_its_patience_or_a_stop() -> None:
    def never() -> str:
        raise StoreUnavailable("database unavailable: connection refused")

    slept: list[float] = []
    with pytest.raises(StoreUnavailable):
        _while_unavailable(never, [], sleep=slept.append)
    assert sum(slept) >= START_PATIENCE
    with pytest.raises(StoreUnavailable):
        _while_unavailable(never, [2], sleep=slept.append)  # Ctrl-C meanwhile: no wait


def test_other_errors_are_not_retried() -> None:
    def bad() -> str:
        raise InvalidSpec("bad")

    with pytest.raises(InvalidSpec):
        _while_unavailable(bad, [], sleep=lambda s: pytest.fail("slept"))
