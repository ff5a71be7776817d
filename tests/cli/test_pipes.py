"""Output fit for pipes: a table is never folded when stdout is not a terminal (Rich's
default there is 80 columns), and ``COLUMNS`` still sets the width when given."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gnomon.cli import output
from tests.cli.conftest import Gnomon

LONG_NAME = "nightly backup of the photo library to the NAS in the cellar, " * 3


@pytest.fixture(autouse=True)
def fresh_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each command makes its console on first use, as a new process would."""
    monkeypatch.setattr(output._LazyConsole, "_real", None)
    monkeypatch.delenv("COLUMNS", raising=False)


def _add(gnomon: Gnomon) -> None:
    done = gnomon(
        "add",
        "every day at 9am",
        "--id",
        "photos",
        "--name",
        LONG_NAME.strip(),
        "--shell",
        "--",
        "true",
    )
    assert done.code == 0, done.err


def test_a_piped_table_keeps_each_row_on_one_line(gnomon: Gnomon) -> None:
    _add(gnomon)
    done = gnomon("list")
    assert done.code == 0, done.err
    rows = [line for line in done.out.splitlines() if "photos" in line]
    assert len(rows) == 1
    assert LONG_NAME.strip() in rows[0]
    assert "At 09:00" in rows[0]  # the schedule, on the same line
    assert len(rows[0]) > 200


def test_columns_still_sets_the_width(gnomon: Gnomon, monkeypatch: pytest.MonkeyPatch) -> None:
    _add(gnomon)
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setattr(output._LazyConsole, "_real", None)  # a new process, with COLUMNS
    done = gnomon("list")
    assert done.code == 0, done.err
    assert LONG_NAME.strip() not in done.out  # folded to 80 columns
    assert max(len(line) for line in done.out.splitlines()) <= 80


def test_next_piped_is_not_folded(tmp_path: Path) -> None:
    """``gnomon next`` (its own fast path) in a real pipe, as a script reads it."""
    gnomon = Path(sys.executable).with_name("gnomon")
    spec = "every weekday at 9am"
    done = subprocess.run(
        [str(gnomon), "next", spec, "--tz", "America/Argentina/Buenos_Aires", "-n", "2"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    first = next(line for line in done.stdout.splitlines() if "│ 1 " in line)
    assert "-0300" in first  # the whole row on one line
    assert first.rstrip().endswith("│")
