"""``gnomon token``, ``gnomon status`` and ``gnomon api`` on a Typer app of their own."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from gnomon.api import serve_in_background
from gnomon.cli import api_cmd, status, tokens
from gnomon.cli.state import state
from gnomon.clock import FakeClock, SystemClock
from gnomon.definitions import shell
from gnomon.errors import ConfigError
from gnomon.scheduler import Scheduler
from gnomon.store.admin import beat, verify_token

runner = CliRunner()


@pytest.fixture
def cli(tmp_path: Path) -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _options(db: str = typer.Option(str(tmp_path / "cli.db"), "--db")) -> None:
        state.db = db

    for module in (tokens, status, api_cmd):
        module.register(app)
    return app


def test_token_create_list_revoke(cli: typer.Typer, tmp_path: Path) -> None:
    made = runner.invoke(cli, ["token", "create", "ci", "--scope", "write", "--json"])
    assert made.exit_code == 0, made.output
    secret = json.loads(made.output)["token"]
    with Scheduler(str(tmp_path / "cli.db")) as scheduler:
        info = verify_token(scheduler.store, secret)
        assert info is not None
        assert info.scope.value == "write"
    listed = json.loads(runner.invoke(cli, ["token", "list", "--json"]).output)
    assert [(t["name"], t["scope"]) for t in listed] == [("ci", "write")]
    assert secret not in runner.invoke(cli, ["token", "list"]).output
    assert runner.invoke(cli, ["token", "revoke", "ci", "--reopen"]).exit_code == 0
    assert json.loads(runner.invoke(cli, ["token", "list", "--json"]).output) == []
    again = runner.invoke(cli, ["token", "revoke", "ci"])
    assert "no live token" in str(again.exception)
    bad = runner.invoke(cli, ["token", "create", "x", "--scope", "root"])
    assert "read, write, admin" in str(bad.exception)


def test_status_reports_each_part(cli: typer.Typer, tmp_path: Path) -> None:
    empty = runner.invoke(cli, ["status", "--api", "", "--json"])
    assert empty.exit_code == 1
    checks = {c["name"]: c for c in json.loads(empty.output)}
    assert checks["database"]["ok"] is True
    assert "gnomon up" in checks["migrations"]["message"]  # a new file has no schema yet
    with Scheduler(str(tmp_path / "cli.db")) as scheduler:
        now = SystemClock().now()
        beat(scheduler.store, "host:1", now - timedelta(minutes=5))
        stale = json.loads(runner.invoke(cli, ["status", "--api", "", "--json"]).output)
        assert [c["ok"] for c in stale] == [True, True, False, True, True]
        assert "last heartbeat 300 s ago" in stale[2]["message"]
        beat(scheduler.store, "host:1", now)
        server = serve_in_background(scheduler, "127.0.0.1", 0)
        try:
            done = runner.invoke(cli, ["status", "--api", server.url])
        finally:
            server.stop()
        assert done.exit_code == 0, done.output
        assert "answering at" in done.output
    down = runner.invoke(cli, ["status", "--api", "http://127.0.0.1:9", "--json"])
    assert "not reachable" in json.loads(down.output)[-1]["message"]


def test_status_names_an_unreachable_database(cli: typer.Typer) -> None:
    result = runner.invoke(
        cli, ["--db", "postgresql://nobody@127.0.0.1:9/x", "status", "--api", "", "--json"]
    )
    assert result.exit_code == 1
    database, imports = json.loads(result.output)
    assert "cannot reach" in database["message"]
    assert imports["name"] == "imports"


def test_api_refuses_a_public_address_without_tokens(cli: typer.Typer) -> None:
    result = runner.invoke(cli, ["api", "--host", "0.0.0.0", "--port", "0"])
    assert isinstance(result.exception, ConfigError)
    assert "without authentication" in str(result.exception)


class NoBroker:
    """A broker dispatcher whose broker never takes anything: runs stay queued."""

    queues = True

    def start(self, context: object) -> None: ...
    def describe(self) -> str:
        return "a broker that is away"

    def capacity(self) -> int:
        return 10

    def hungry(self) -> bool:
        return True

    def room_ahead(self) -> int:
        return 0

    def submit(self, claimed: object) -> None: ...
    def recheck(self) -> None: ...
    def heartbeat(self) -> None: ...
    def in_flight(self) -> list[int]:
        return []

    def wait_idle(self, timeout: float | None = None) -> bool:
        return True

    def drain(self) -> list[int]:
        return []

    def shutdown(self, wait: bool = True, timeout: float | None = None) -> None: ...


def test_status_tells_runs_waiting_for_celery_workers(cli: typer.Typer, tmp_path: Path) -> None:
    now = SystemClock().now()
    clock = FakeClock(now - timedelta(minutes=10))
    with Scheduler(
        str(tmp_path / "cli.db"), dispatcher=NoBroker(), clock=clock, worker_id="s"
    ) as scheduler:
        scheduler.add(clock.now() + timedelta(seconds=1), shell(["true"]), id="waits")
        clock.advance(1)
        scheduler.tick()
        beat(scheduler.store, "host:1", now)
    checks = {
        c["name"]: c
        for c in json.loads(runner.invoke(cli, ["status", "--api", "", "--json"]).output)
    }
    assert checks["workers"]["ok"] is None
    assert re.search(
        r"1 run\(s\) sent to the broker, the oldest (599|60\d) s ago", checks["workers"]["message"]
    )
    assert "a worker last started one never" in checks["workers"]["message"]
