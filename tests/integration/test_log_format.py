"""``--log-format json`` in real processes: every line a process logs on stderr is one JSON
object, uvicorn's own lines (``gnomon api``) and Celery's (``gnomon worker``) included."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest

from tests.integration.celery.conftest import BROKERS, broker_url, queue  # noqa: F401 (fixtures)
from tests.reliability.conftest import (  # noqa: F401 (a fixture)
    GnomonProcess,
    Launcher,
    launcher,
    run_cli,
)

WAIT = 60.0  # seconds a test waits for a process's line before failing


def wait_for(process: GnomonProcess, needle: str) -> None:
    deadline = time.monotonic() + WAIT
    while needle not in process.errors():
        assert process.alive(), process.describe()
        assert time.monotonic() < deadline, f"{needle!r} not logged:\n{process.describe()}"
        time.sleep(0.05)


def json_lines(text: str) -> list[dict[str, str]]:
    """Every non-empty line of ``text`` as a JSON log object (fails on any other line)."""
    found = []
    for line in text.splitlines():
        if line.strip():
            entry = json.loads(line)
            assert {"time", "level", "logger", "message"} <= entry.keys(), line
            found.append(entry)
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_api_logs_uvicorn_in_json(launcher: Launcher, tmp_path: Path) -> None:  # noqa: F811
    port = free_port()
    api = launcher.start(
        f"sqlite:///{tmp_path / 'g.db'}",
        "api",
        "--port",
        str(port),
        "--log-format",
        "json",
        command="api",
        ready="Ctrl-C to stop",
    )
    api.wait_ready(timeout=WAIT)
    deadline = time.monotonic() + WAIT
    while True:  # the line above comes just before uvicorn binds the port
        try:
            conn = socket.create_connection(("127.0.0.1", port), timeout=5)
            break
        except OSError:
            assert time.monotonic() < deadline, api.describe()
            time.sleep(0.05)
    with conn:
        conn.sendall(b"this is not HTTP\r\n\r\n")  # uvicorn logs a warning of its own
        conn.recv(1024)
    wait_for(api, "Invalid HTTP request")
    api.stop()
    entries = json_lines(api.errors())
    assert any(e["logger"].startswith("uvicorn") for e in entries), entries


@pytest.mark.parametrize("broker", [BROKERS[0]])
def test_worker_logs_celery_in_json(
    launcher: Launcher,  # noqa: F811
    tmp_path: Path,
    broker_url: str,  # noqa: F811
    queue: str,  # noqa: F811
) -> None:
    worker = launcher.start(
        f"sqlite:///{tmp_path / 'g.db'}",
        "worker",
        "--broker",
        broker_url,
        "--queue",
        queue,
        "--without-mingle",
        "--without-gossip",
        command="worker",
        ready=" ready.",
        env={"GNOMON_LOG_FORMAT": "json"},
    )
    worker.wait_ready(timeout=WAIT)
    worker.stop()
    entries = json_lines(worker.errors())
    assert any(
        e["message"].endswith(" ready.") and e["logger"].startswith("celery") for e in entries
    )


def test_a_bad_log_format_is_one_clear_error(tmp_path: Path) -> None:
    done = run_cli(str(tmp_path / "g.db"), "list", "--log-format", "xml")
    assert done.returncode == 2
    assert done.stderr.strip() == "error: --log-format: 'xml' is not one of text, json"
