"""CLI changes are audited like the API's and the dashboard's: actor ``cli:<user>``."""

from __future__ import annotations

import getpass
import socket
from pathlib import Path

import typer
from typer.testing import CliRunner

from gnomon.cli import jobs, schedule
from gnomon.cli.state import state
from gnomon.scheduler import Scheduler
from gnomon.store.admin import list_audit

runner = CliRunner()


def test_every_cli_write_leaves_an_audit_entry(tmp_path: Path) -> None:
    db = str(tmp_path / "cli.db")
    app = typer.Typer()

    @app.callback()
    def _options() -> None:
        state.db = db

    jobs.register(app)
    schedule.register(app)
    for argv in (
        ["add", "every 1h", "--id", "backup", "--shell", "--", "echo", "hi"],
        ["pause", "backup"],
        ["resume", "backup"],
        ["trigger", "backup"],
        [
            "schedule",
            "http",
            "every 2h",
            "--url",
            "https://user:pw@example.com/hook",
            "--id",
            "hook",
        ],
        ["cancel", "backup"],
    ):
        done = runner.invoke(app, argv)
        assert done.exit_code == 0, done.output
    with Scheduler(db) as scheduler:
        entries = list_audit(scheduler.store)[::-1]
    assert [(e.action, e.target) for e in entries] == [
        ("job.create", "job:backup"),
        ("job.pause", "job:backup"),
        ("job.resume", "job:backup"),
        ("job.trigger", "job:backup"),
        ("job.create", "job:hook"),
        ("job.remove", "job:backup"),
    ]
    assert {e.actor for e in entries} == {f"cli:{getpass.getuser()}"}
    assert {e.client for e in entries} == {socket.gethostname()}
    assert entries[0].diff["after"]["action"]["config"]["argv"] == ["echo", "hi"]
    assert "pw" not in str(entries[4].diff)  # secrets masked, as in the API's entries
    assert entries[5].diff["before"]["when"] == "Every 1 hour"
    assert set(entries[3].diff) == {"run_id"}
