"""``gnomon add --shell`` checks at creation that the program would start on this machine:
a warning (the job is still added: it may run on a worker where the program is), never an
error."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gnomon.actions.shell import missing_program
from tests.engine.test_cli_errors import gnomon


def test_a_missing_program_is_a_warning_and_the_job_is_added(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = str(tmp_path / "g.db")
    code, out, err = gnomon(
        capsys, "--db", db, "add", "every 1h", "--id", "x", "--shell", "--", "no-such-prog-9f"
    )
    assert code == 0
    assert "added job x" in out
    assert err.startswith("warning: 'no-such-prog-9f' is not a program on this machine's PATH")
    code, out, err = gnomon(capsys, "--db", db, "add", "every 1h", "--shell", "--", "true")
    assert (code, err) == (0, f"db: sqlite:///{db}\n")  # no warning, only where it wrote


def test_what_counts_as_missing(tmp_path: Path) -> None:
    script = tmp_path / "job.sh"
    script.write_text("#!/bin/sh\ntrue\n")
    assert (
        missing_program([str(script)])
        == f"{str(script)!r} is not an executable file on this machine"
    )
    os.chmod(script, 0o755)
    assert missing_program([str(script)]) is None
    assert missing_program(["./job.sh"], cwd=str(tmp_path)) is None
    assert missing_program([str(tmp_path / "nope.sh")]) == (
        f"{str(tmp_path / 'nope.sh')!r} does not exist on this machine"
    )
    assert missing_program(["sh", "-c", "true"]) is None
