"""The store contract runs on every backend (``tests/backends.py``: a fresh SQLite file and
the local PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from gnomon.store import SqlStore
from tests.backends import BACKENDS, PostgresDatabases

__all__ = ["BACKENDS", "PostgresDatabases"]


@pytest.fixture
def open_store(store_url: str) -> Iterator[Callable[[], SqlStore]]:
    """Open more ``SqlStore`` instances on the same database (closed after the test)."""
    opened: list[SqlStore] = []

    def open_() -> SqlStore:
        store = SqlStore(store_url)
        opened.append(store)
        return store

    yield open_
    for store in opened:
        store.close()


@pytest.fixture
def store(open_store: Callable[[], SqlStore]) -> SqlStore:
    """A fresh ``SqlStore`` on SQLite (a tmp file) and on the local PostgreSQL."""
    return open_store()
