"""A canary secret in a job's config appears in no log line, history row, event or CLI output."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from gnomon import ActionSpec, FakeClock, Scheduler, shell
from gnomon.cli import main
from gnomon.settings import Settings

CANARY = "canary-7f3a9c1e-secret"


@pytest.fixture
def echo_server() -> Iterator[str]:
    """Answers every request with its own headers: a server that leaks what it is sent."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.dumps(dict(self.headers)).encode()
            self.send_response(500)  # a failure, so the error path is exercised too
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()
    server.server_close()


def test_canary_secret_is_never_shown(
    tmp_path: Path,
    echo_server: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("GNOMON_HTTP_ALLOW", "127.0.0.1")
    caplog.set_level(logging.DEBUG)
    db = tmp_path / "s.db"
    clock = FakeClock(datetime(2026, 4, 1, tzinfo=UTC))
    http = ActionSpec(
        kind="http",
        config={
            "url": echo_server,
            "method": "POST",
            "json": {"x": 1},
            "headers": {"Authorization": f"Bearer {CANARY}"},
        },
    )
    leaky_shell = shell(
        ["sh", "-c", 'echo "token is $API_TOKEN"; echo "$API_TOKEN" >&2; exit 3'],
        env={"API_TOKEN": CANARY},
    )
    with Scheduler(str(db), clock=clock, settings=Settings()) as scheduler:
        scheduler.add("in 5 seconds", http, id="hook", max_attempts=2, backoff=0)
        scheduler.add("in 5 seconds", leaky_shell, id="leak")
        for _ in range(3):
            clock.advance(5)
            scheduler.tick()
            assert scheduler.wait_idle(timeout=20)
        runs = scheduler.runs(limit=10)
    assert {r.job_id for r in runs} == {"hook", "leak"}
    assert any("***" in r.output for r in runs)  # the echoes were there, and were masked

    for args in (
        ["list", "--json"],
        ["info", "hook", "--json"],
        ["info", "leak"],
        ["history", "hook", "--json"],
        ["history", "leak"],
    ):
        with pytest.raises(SystemExit) as done:
            main(["--db", str(db), *args])
        assert done.value.code == 0
    shown = capsys.readouterr()
    assert CANARY not in shown.out + shown.err

    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        history = conn.execute(text("SELECT * FROM gnomon_runs")).all()
        events = conn.execute(text("SELECT * FROM gnomon_events")).all()
    engine.dispose()
    assert len(history) >= 3
    assert events
    assert CANARY not in repr(history) + repr(events)
    assert all(CANARY not in record.getMessage() for record in caplog.records)
