"""Group commit (gnomon.dispatch.group_commit): callers that arrive while a write is in
flight are written together by one of them, each gets its own answer, and nobody waits for
a batch to fill."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest

from gnomon.dispatch.group_commit import GroupCommit
from tests.engine.polling import eventually


class Writes:
    """A write that records each batch, answers ``item * 10``, and can be held at its
    first call until released (so that the next callers pile up behind it)."""

    def __init__(self, hold_first: bool = False) -> None:
        self.batches: list[list[int]] = []
        self.entered = threading.Event()
        self.release = threading.Event()
        if not hold_first:
            self.release.set()

    def __call__(self, items: Sequence[int]) -> list[int]:
        self.batches.append(list(items))
        self.entered.set()
        assert self.release.wait(10)
        if -1 in items:
            raise ValueError("bad item")
        return [i * 10 for i in items]


def test_a_caller_alone_is_written_at_once() -> None:
    writes = Writes()
    group = GroupCommit(writes)
    assert group(1) == 10
    assert group(2) == 20
    assert writes.batches == [[1], [2]]
    assert (group.batches, group.items) == (2, 2)


def pile_up(group: GroupCommit[int, int], writes: Writes, later: list[int]) -> list[object]:
    """Item 0 is being written (held); ``later`` arrive meanwhile; then the write goes on.
    Each caller's answer (or error), in the order of [0, *later]."""
    answers: list[object] = [None] * (1 + len(later))

    def call(n: int, item: int) -> None:
        try:
            answers[n] = group(item)
        except Exception as exc:
            answers[n] = exc

    with ThreadPoolExecutor(1 + len(later)) as pool:
        pool.submit(call, 0, 0)
        assert writes.entered.wait(10)
        for n, item in enumerate(later, 1):
            pool.submit(call, n, item)
        eventually(lambda: len(group._pending) == len(later), "the callers to pile up")
        writes.release.set()
    return answers


def test_callers_that_arrive_during_a_write_go_together_and_each_gets_its_answer() -> None:
    writes = Writes(hold_first=True)
    group = GroupCommit(writes)
    assert pile_up(group, writes, [1, 2, 3, 4]) == [0, 10, 20, 30, 40]
    assert writes.batches[0] == [0]
    assert sorted(writes.batches[1]) == [1, 2, 3, 4]  # one write for the four
    assert len(writes.batches) == 2


def test_a_batch_is_at_most_max_batch_and_every_caller_is_still_answered() -> None:
    writes = Writes(hold_first=True)
    group = GroupCommit(writes, max_batch=2)
    assert pile_up(group, writes, [1, 2, 3, 4, 5]) == [0, 10, 20, 30, 40, 50]
    assert all(len(b) <= 2 for b in writes.batches)
    assert sorted(i for b in writes.batches for i in b) == [0, 1, 2, 3, 4, 5]


def test_a_failed_write_fails_each_caller_of_its_batch_and_only_them() -> None:
    writes = Writes(hold_first=True)
    group = GroupCommit(writes)
    answers = pile_up(group, writes, [1, -1, 2])
    assert answers[0] == 0
    assert all(isinstance(a, ValueError) for a in answers[1:])
    assert group(3) == 30  # the next write goes on


def test_a_write_that_answers_the_wrong_number_of_items_is_an_error() -> None:
    group: GroupCommit[int, int] = GroupCommit(lambda items: [])
    with pytest.raises(RuntimeError, match="a write of 1 items answered 0"):
        group(1)
