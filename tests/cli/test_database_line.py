"""Every write command says which database it wrote to (``db: URL`` on stderr, a password
hidden), so ``--json`` output stays pure JSON and a write to the wrong file is noticed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gnomon import FakeClock
from tests.backends import PostgresDatabases
from tests.cli.conftest import Gnomon

WRITES = [
    pytest.param(["add", "every 1h", "--id", "new", "--python", "json:dumps"], id="add"),
    pytest.param(["schedule", "shell", "every 1h", "--id", "new", "--", "true"], id="schedule"),
    pytest.param(["update", "j", "--name", "renamed"], id="update"),
    pytest.param(
        ["backfill", "j", "--from", "2026-03-02T07:00Z", "--to", "2026-03-02T09:00Z"],
        id="backfill",
    ),
    pytest.param(["pause", "j"], id="pause"),
    pytest.param(["resume", "j"], id="resume"),
    pytest.param(["cancel", "j"], id="cancel"),
    pytest.param(["trigger", "j"], id="trigger"),
]


@pytest.fixture
def job(gnomon: Gnomon, clock: FakeClock) -> str:
    assert gnomon("add", "every 30m", "--id", "j", "--python", "json:dumps").code == 0
    clock.advance(3 * 3600)
    return "j"


@pytest.mark.parametrize("args", WRITES)
def test_a_write_names_its_database_and_json_stays_pure(
    gnomon: Gnomon, db: str, job: str, args: list[str]
) -> None:
    done = gnomon(args[0], "--json", *args[1:])
    assert done.code == 0, done.err
    json.loads(done.out)  # nothing but the JSON on stdout
    assert done.err.splitlines()[-1] == f"db: sqlite:///{db}"


def test_without_json_the_line_is_on_stderr_too(gnomon: Gnomon, db: str, job: str) -> None:
    done = gnomon("pause", job)
    assert (done.code, done.out) == (0, f"paused {job}\n")
    assert done.err == f"db: sqlite:///{db}\n"


def test_a_relative_sqlite_file_is_shown_by_its_absolute_path(
    gnomon: Gnomon, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    done = gnomon("add", "every 1h", "--python", "json:dumps", url="here.db")
    assert done.code == 0, done.err
    assert done.err.splitlines()[-1] == f"db: sqlite:///{tmp_path / 'here.db'}"


@pytest.mark.postgres
def test_a_database_password_is_never_shown(
    gnomon: Gnomon, postgres_databases: PostgresDatabases
) -> None:
    name = postgres_databases.create(migrated=True)
    url = postgres_databases.base.set(database=name, password="hunter2-secret")
    done = gnomon(
        "add", "every 1h", "--python", "json:dumps", url=url.render_as_string(hide_password=False)
    )
    assert done.code == 0, done.err
    shown = url.set(drivername="postgresql+psycopg").render_as_string(hide_password=True)
    assert done.err.splitlines()[-1] == f"db: {shown}"
    assert "hunter2-secret" not in done.out + done.err
