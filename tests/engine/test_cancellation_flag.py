"""The cancellation flag each run gets (``ctx.cancelled``): a :class:`threading.Event` whose
condition is made only when something waits on it or sets it."""

from __future__ import annotations

import threading
import time
from typing import Any

from gnomon.dispatch.cancellation import Cancellation


def test_the_cancellation_flag_behaves_as_an_event() -> None:
    flag = Cancellation()
    assert isinstance(flag, threading.Event)
    assert not flag.is_set()
    assert not flag.wait(0.01)
    flag.set()
    assert flag.is_set()
    assert flag.wait(0)
    flag.clear()
    assert not flag.is_set()


def test_a_run_waiting_on_its_flag_wakes_when_it_is_set() -> None:
    flag = Cancellation()
    woke: list[bool] = []
    waiters = [threading.Thread(target=lambda: woke.append(flag.wait(10))) for _ in range(8)]
    for waiter in waiters:
        waiter.start()
    # Until all eight are parked on the flag's condition (no fixed sleep).
    deadline = time.monotonic() + 10
    while len(flag._cond._waiters) < len(waiters) and time.monotonic() < deadline:  # type: ignore[attr-defined]
        time.sleep(0.001)
    assert len(flag._cond._waiters) == len(waiters)  # type: ignore[attr-defined]
    flag.set()  # from another thread, as the heartbeat does
    for waiter in waiters:
        waiter.join(10)
    assert woke == [True] * 8


def test_one_condition_whichever_thread_asks_first() -> None:
    for _ in range(50):
        flag = Cancellation()
        seen: list[Any] = []
        start = threading.Barrier(4)

        def look(flag: Cancellation = flag, seen: list[Any] = seen, start: Any = start) -> None:
            start.wait()
            seen.append(flag._cond)

        threads = [threading.Thread(target=look) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        assert len({id(c) for c in seen}) == 1
