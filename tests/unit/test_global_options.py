"""``--db`` and ``--verbose`` work after the command too (issue 14): they move before it."""

from __future__ import annotations

import pytest

from gnomon.cli.typer_app import hoist_global_options


@pytest.mark.parametrize(
    ("given", "seen"),
    [
        (["list", "--db", "x.db"], ["--db", "x.db", "list"]),
        (
            ["up", "--db=x.db", "--verbose", "--no-api"],
            ["--db=x.db", "--verbose", "up", "--no-api"],
        ),
        (["--db", "a.db", "list", "--db", "b.db"], ["--db", "a.db", "--db", "b.db", "list"]),
        (["-v", "status"], ["-v", "status"]),
        # after --, everything is the job's command: left alone
        (["add", "every 1h", "--shell", "--", "cmd", "--db", "z"], None),
    ],
)
def test_global_options_move_before_the_command(given: list[str], seen: list[str] | None) -> None:
    assert hoist_global_options(given) == (given if seen is None else seen)
