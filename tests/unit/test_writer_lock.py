"""The SQLite writer lock of one process: recording outcomes overtakes scheduler steps."""

from __future__ import annotations

import threading

import pytest

from gnomon.errors import ConfigError
from gnomon.settings import Settings
from gnomon.store.writer import WriterLock


def test_a_priority_holder_overtakes_ordinary_ones_waiting() -> None:
    lock = WriterLock()
    order: list[str] = []
    release_first = threading.Event()

    def take(name: str, priority: bool) -> None:
        with lock.hold(priority=priority):
            order.append(name)

    def first() -> None:
        with lock.hold():
            order.append("first")
            release_first.wait(10)

    holder = threading.Thread(target=first)
    holder.start()
    while not order:  # the first holder has the lock
        threading.Event().wait(0.001)
    ordinary = threading.Thread(target=take, args=("step", False))
    ordinary.start()
    urgent = threading.Thread(target=take, args=("recorder", True))
    urgent.start()
    while lock._urgent != 1:  # the recorder is waiting
        threading.Event().wait(0.001)
    release_first.set()
    for thread in (holder, ordinary, urgent):
        thread.join(10)
    assert order == ["first", "recorder", "step"]


def test_the_lock_is_exclusive_under_contention() -> None:
    lock = WriterLock()
    inside = 0
    most = 0
    guard = threading.Lock()

    def work(priority: bool) -> None:
        nonlocal inside, most
        for _ in range(200):
            with lock.hold(priority=priority):
                with guard:
                    inside += 1
                    most = max(most, inside)
                with guard:
                    inside -= 1

    threads = [threading.Thread(target=work, args=(i % 2 == 0,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert most == 1


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"GNOMON_LEASE": "soon"}, r"GNOMON_LEASE: 'soon' is not a number"),
        ({"GNOMON_LEASE": "0.5"}, r"GNOMON_LEASE: 0.5 is out of range 1-86400"),
        ({"GNOMON_RECOVERY_INTERVAL": "nan"}, r"GNOMON_RECOVERY_INTERVAL: nan is out of range"),
        ({"GNOMON_STOP_TIMEOUT": "-1"}, r"GNOMON_STOP_TIMEOUT: -1 is out of range 0-86400"),
        ({"GNOMON_WORKERS": "1.5"}, r"GNOMON_WORKERS: '1.5' is not a whole number"),
    ],
)
def test_timing_settings_are_checked(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env)


def test_timing_settings_are_read() -> None:
    settings = Settings.from_env(
        {
            "GNOMON_LEASE": "5",
            "GNOMON_RECOVERY_INTERVAL": "0.5",
            "GNOMON_STOP_TIMEOUT": "0",
            "GNOMON_SCHEDULER_ID": "r1",
        }
    )
    assert (settings.lease, settings.recovery_interval, settings.stop_timeout) == (5, 0.5, 0)
    assert settings.scheduler_id == "r1"
    assert Settings.from_env({}).recovery_interval == 1.0
