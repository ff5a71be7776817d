"""Suite-wide: the parallel lanes of ``tests/lanes.py`` and the shared database fixtures of
``tests/backends.py`` (every suite uses these; none has its own copy)."""

from tests.backends import (
    backend,
    new_database,
    postgres_databases,
    postgres_url,
    sqlite_template,
    store_url,
)
from tests.lanes import pytest_configure, pytest_xdist_make_scheduler

__all__ = [
    "backend",
    "new_database",
    "postgres_databases",
    "postgres_url",
    "pytest_configure",
    "pytest_xdist_make_scheduler",
    "sqlite_template",
    "store_url",
]
