"""Dialect differences live in gnomon.store.dialect, and nowhere else in the running code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gnomon.errors import ConfigError
from gnomon.store.dialect import DIALECTS, PostgresDialect, SqliteDialect, dialect_named
from gnomon.store.engine import create_store_engine

SRC = Path(__file__).resolve().parents[2] / "src" / "gnomon"
# A branch on a database's name: `== "postgresql"`, `dialect.name`, `if ... "sqlite"`.
BRANCH = re.compile(
    r"""(dialect(\.name)?\s*[!=]=|[!=]=\s*["'](postgresql|sqlite)["']|dialect\.name\b)"""
)
# Where a database's name may be spelled: the dialects themselves, the frozen migrations,
# the schema's per-dialect keywords, URL normalising, and the direct-driver lookup.
ALLOWED = {"store/dialect.py", "store/tables.py", "store/engine.py", "store/prepared.py"}


def test_dialect_branches_live_in_the_dialect_module() -> None:
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        name = path.relative_to(SRC).as_posix()
        if name in ALLOWED or name.startswith("store/migrations/"):
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if BRANCH.search(line):
                offenders.append(f"{name}:{number}: {line.strip()}")
    assert offenders == []


def test_the_two_dialects_and_their_differences() -> None:
    assert set(DIALECTS) == {"sqlite", "postgresql"}
    sqlite, postgres = dialect_named("sqlite"), dialect_named("postgresql")
    assert isinstance(sqlite, SqliteDialect)
    assert isinstance(postgres, PostgresDialect)
    assert sqlite.ids_in_commit_order
    assert not postgres.ids_in_commit_order
    assert sqlite.direct_driver
    assert not postgres.direct_driver


@pytest.mark.parametrize("url", ["mysql://u@h/db", "mssql+pyodbc://u@h/db"])
def test_a_database_gnomon_does_not_support_is_one_clear_error(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        create_store_engine(url)
    assert str(caught.value) == (
        f"cannot use database URL {url!r}: gnomon stores its data in SQLite or PostgreSQL, "
        f"not {url.split(':')[0].split('+')[0]}"
    )
    assert "\n" not in str(caught.value)
