"""The console script's fast path for ``gnomon next`` agrees with the Typer command."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import typer

from gnomon.cli import app
from gnomon.cli.command import next_parser


def typer_options() -> set[str]:
    command = typer.main.get_command(app)
    next_command = command.commands["next"]  # type: ignore[attr-defined]
    return {opt for p in next_command.params for opt in p.opts if opt.startswith("-")}


def test_fast_path_knows_exactly_the_typer_commands_options() -> None:
    fast = {opt for action in next_parser()._actions for opt in action.option_strings}
    assert fast == typer_options() - {"--help"}


def run(*args: str) -> subprocess.CompletedProcess[str]:
    code = "import sys; from gnomon.cli.command import main; sys.argv[0] = 'gnomon'; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=False
    )


def test_next_json_without_typer() -> None:
    done = run("next", "0 9 * * 1-5", "--after", "2026-01-05T00:00:00Z", "-n", "2", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "description": "At 09:00, Monday through Friday",
        "fires": ["2026-01-05T09:00:00Z", "2026-01-06T09:00:00Z"],
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["0 25 * * *"], "hour", id="refused-spec"),
        pytest.param(["every 1h", "--count", "0"], "count", id="bad-count-goes-to-typer"),
        pytest.param(["every 1h", "--bogus"], "bogus", id="unknown-option-goes-to-typer"),
    ],
)
def test_refusals_are_one_clear_line_and_exit_2(args: list[str], message: str) -> None:
    done = run("next", *args, "--json")
    assert done.returncode == 2
    assert message in done.stderr.lower()
    assert "Traceback" not in done.stderr
