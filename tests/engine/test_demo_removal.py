"""``gnomon up --demo`` says how to remove its jobs, and that command does (issue 14)."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from gnomon import Scheduler, shell
from gnomon.demo import load_demo, loaded_message
from tests.engine.test_cli_errors import gnomon


def test_the_demo_message_names_a_command_that_removes_the_demo_jobs(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = str(tmp_path / "demo.db")
    with Scheduler(db) as scheduler:
        scheduler.add("every 1h", shell(["true"]), id="mine")
        message = loaded_message(load_demo(scheduler))
    command = message.split("(remove them: ", 1)[1].rstrip(")")
    argv = shlex.split(command)
    assert argv[:2] == ["gnomon", "cancel"]
    code, out, err = gnomon(capsys, "--db", db, *argv[1:])
    assert code == 0, err
    assert out.count("cancelled demo-") == 4
    with Scheduler(db) as scheduler:
        assert [job.id for job in scheduler.list()] == ["mine"]
