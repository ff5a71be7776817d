"""``--help`` of every command: a flag shows as a flag, and the app's help starts without the
store (no SQLAlchemy import), which keeps ``gnomon --help`` fast (bench/triggers_bench.py
--cold measures it)."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

import pytest
import typer

from gnomon.cli.typer_app import app, shown_as_flags
from tests.cli.conftest import Gnomon


def _commands() -> list[tuple[list[str], Any]]:
    """Every command of the app with its path (``[]`` is the app itself)."""
    found: list[tuple[list[str], Any]] = []

    def walk(path: list[str], command: Any) -> None:
        found.append((path, command))
        for name, sub in getattr(command, "commands", {}).items():
            if not getattr(sub, "hidden", False):
                walk([*path, name], sub)

    walk([], shown_as_flags(typer.main.get_command(app)))
    return found


COMMANDS = _commands()


def test_the_app_has_its_commands() -> None:
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"add", "list", "schedule", "up", "update", "history", "events", "worker"} <= names
    assert len(names) > 25


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=lambda p: " ".join(p) or "gnomon")
def test_flags_show_as_flags(
    path: list[str], gnomon: Gnomon, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    done = gnomon(*path, "--help")
    assert done.code == 0, done.err
    assert "<bool>" not in done.out
    assert not re.search(r"--[\w-]+\s+<list\[", done.out)  # an option takes one value per use
    command = dict((tuple(p), c) for p, c in COMMANDS)[tuple(path)]
    flags = [
        p.opts[0]
        for p in command.params
        if getattr(p, "is_flag", False) and not getattr(p, "hidden", False)
    ]
    for flag in [*flags, "--help"]:
        lines = [line for line in done.out.splitlines() if re.search(rf"{flag}\b(?!-)", line)]
        assert lines, f"{flag} not in the help of {path}"
        option_line = next(line for line in lines if line.lstrip("│ ").startswith(flag.split()[0]))
        after = option_line.split(flag, 1)[1]
        assert not after.lstrip(" ,/-abcdefghijklmnopqrstuvwxyz").startswith("<"), option_line


def test_a_value_option_still_shows_its_value(gnomon: Gnomon) -> None:
    done = gnomon("add", "--help")
    assert re.search(r"--tz\s+<str>", done.out)
    assert re.search(r"--notify\s+<str>", done.out)  # repeatable: one value per use


def test_help_does_not_import_the_store() -> None:
    code = (
        "import sys\n"
        "from gnomon.cli.typer_app import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = sorted(m for m in ('sqlalchemy', 'gnomon.store', 'gnomon.service') "
        "if m in sys.modules)\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert "HEAVY []" in done.stderr, done.stderr
