"""Issue 9: the token advice says one thing everywhere, and the last token is not revoked
silently (that would reopen open mode)."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from gnomon.api import serve_in_background
from gnomon.api.server import open_mode_allowed
from gnomon.cli import tokens
from gnomon.cli.state import state
from gnomon.cli.up import start_api
from gnomon.errors import ConfigError, InvalidSpec
from gnomon.open_mode import (
    FIRST_TOKEN_COMMAND,
    FIRST_TOKEN_ENDS_OPEN_MODE,
    OPEN_MODE_ADVICE,
    OPEN_MODE_ENDED,
)
from gnomon.scheduler import Scheduler
from gnomon.store.admin import list_tokens, verify_token
from tests.api.conftest import make_client

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "tokens.db")


@pytest.fixture
def cli(db: str) -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _options() -> None:
        state.db = db

    tokens.register(app)
    return app


def one_line(text: str) -> str:
    return " ".join(text.replace("│", " ").split())  # Rich wraps long lines, in panels too


def test_create_needs_an_explicit_scope_and_names_the_first_token_command(cli: typer.Typer) -> None:
    result = runner.invoke(cli, ["token", "create", "me"])
    assert isinstance(result.exception, InvalidSpec)
    assert FIRST_TOKEN_COMMAND in str(result.exception)
    assert FIRST_TOKEN_ENDS_OPEN_MODE in str(result.exception)
    assert FIRST_TOKEN_ENDS_OPEN_MODE in one_line(
        runner.invoke(cli, ["token", "create", "--help"]).output
    )


def test_the_first_token_says_it_ended_open_mode(cli: typer.Typer) -> None:
    first = runner.invoke(cli, ["token", "create", "me", "--scope", "admin"])
    assert first.exit_code == 0, first.output
    assert OPEN_MODE_ENDED in one_line(first.output)
    second = runner.invoke(cli, ["token", "create", "ci", "--scope", "write"])
    assert "open mode" not in second.output
    as_json = runner.invoke(cli, ["token", "create", "graf", "--scope", "read", "--json"])
    assert json.loads(as_json.output)["ended_open_mode"] is False


def test_revoking_the_last_token_needs_reopen(cli: typer.Typer, db: str) -> None:
    made = runner.invoke(cli, ["token", "create", "me", "--scope", "admin", "--json"])
    secret = json.loads(made.output)["token"]
    refused = runner.invoke(cli, ["token", "revoke", "me"])
    assert isinstance(refused.exception, InvalidSpec)
    assert "'me' is the last live token" in str(refused.exception)
    assert "--reopen" in str(refused.exception)
    with Scheduler(db) as scheduler:
        assert verify_token(scheduler.store, secret) is not None  # still live
        assert not open_mode_allowed(scheduler, "127.0.0.1", None)
    done = runner.invoke(cli, ["token", "revoke", "me", "--reopen"])
    assert done.exit_code == 0, done.output
    assert "open mode is back for loopback" in one_line(done.output)
    assert FIRST_TOKEN_COMMAND in one_line(done.output)
    with Scheduler(db) as scheduler:
        assert verify_token(scheduler.store, secret) is None
        server = serve_in_background(scheduler, "127.0.0.1", 0, rate_limit=None)
        server.stop()
    assert server.open_mode  # what the message said


def test_revoking_a_token_that_is_not_the_last_is_plain(cli: typer.Typer, db: str) -> None:
    for name in ("me", "ci", "ci"):
        runner.invoke(cli, ["token", "create", name, "--scope", "write"])
    done = runner.invoke(cli, ["token", "revoke", "ci"])
    assert done.exit_code == 0, done.output
    assert "open mode" not in done.output
    refused = runner.invoke(cli, ["token", "revoke", "me"])  # now the last one
    assert isinstance(refused.exception, InvalidSpec)
    with Scheduler(db) as scheduler:
        assert [t.name for t in list_tokens(scheduler.store)] == ["me"]


def test_every_banner_gives_the_same_advice(
    scheduler: Scheduler, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    with caplog.at_level(logging.WARNING, logger="gnomon.api.app"):
        client = make_client(scheduler, open_access=True, dashboard=True)
    assert any(OPEN_MODE_ADVICE in r.getMessage() for r in caplog.records)
    page = one_line(client.get("/").text)
    assert FIRST_TOKEN_ENDS_OPEN_MODE in page
    assert FIRST_TOKEN_COMMAND in page
    assert FIRST_TOKEN_COMMAND in client.get("/login").text
    server = start_api(scheduler, "127.0.0.1", 0)  # gnomon up's banner
    assert server is not None
    server.stop()
    assert OPEN_MODE_ADVICE in one_line(capsys.readouterr().out)
    with pytest.raises(ConfigError, match=re.escape(FIRST_TOKEN_COMMAND)):
        open_mode_allowed(scheduler, "0.0.0.0", None)


def test_no_face_recommends_another_command() -> None:
    """The README, the docs and every module recommend FIRST_TOKEN_COMMAND (examples with a
    real name, like ``gnomon token create ci --scope write``, are not advice)."""
    command = re.compile(r"gnomon token create NAME --scope \w+")
    files = [
        ROOT / "README.md",
        ROOT / "docs" / "api.md",
        ROOT / "docs" / "dashboard.md",
        *(ROOT / "src" / "gnomon").rglob("*.py"),
        *(ROOT / "src" / "gnomon" / "web" / "templates").glob("*.html"),
    ]
    others = {
        f"{path.relative_to(ROOT)}: {found}"
        for path in files
        for found in command.findall(path.read_text())
        if found != FIRST_TOKEN_COMMAND
    }
    assert others == set()
    assert FIRST_TOKEN_COMMAND in (ROOT / "README.md").read_text()
    for doc in ("README.md", "docs/api.md"):
        assert FIRST_TOKEN_ENDS_OPEN_MODE in one_line((ROOT / doc).read_text()).lower(), doc
