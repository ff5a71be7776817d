"""Unit tests are pure: no database, thread, subprocess or socket (issue 10).

An autouse guard makes each of those raise inside a unit test. Tests that need them live in
``tests/engine`` (the scheduler, on SQLite and PostgreSQL), ``tests/contract`` (the store),
``tests/api``, ``tests/integration`` and ``tests/reliability``.
"""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import threading
from datetime import UTC, datetime
from typing import Any

import pytest

from gnomon import FakeClock

T0 = datetime(2026, 1, 1, tzinfo=UTC)


class ImpureUnitTest(AssertionError):
    """A unit test touched a database, a thread, a subprocess or a socket."""


def _refuse(what: str) -> Any:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise ImpureUnitTest(f"a unit test must not {what}: it belongs in tests/engine")

    return refuse


@pytest.fixture(autouse=True)
def _pure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite3, "connect", _refuse("open a SQLite database"))
    monkeypatch.setattr(sqlite3.dbapi2, "connect", _refuse("open a SQLite database"))
    monkeypatch.setattr(threading.Thread, "start", _refuse("start a thread"))
    monkeypatch.setattr(subprocess.Popen, "__init__", _refuse("start a subprocess"))
    monkeypatch.setattr(socket.socket, "connect", _refuse("connect a socket"))
    monkeypatch.setattr(socket.socket, "bind", _refuse("bind a socket"))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)
