"""The ``mcp`` action against a real MCP server process (``mcp_server_fixture.py``).

Each stdio call starts the server afresh (about a second: Python plus the SDK import), so the
stdio tests are few; the streamable-HTTP server is started once for the module.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gnomon.actions.base import RunContext
from gnomon.actions.mcp import McpAction
from gnomon.errors import InvalidAction
from gnomon.models import Outcome, RunStatus
from tests.integration.actions.conftest import free_port
from tests.servers import reachable

pytest.importorskip("mcp", reason="the mcp action needs gnomon[mcp]")

FIXTURE = Path(__file__).with_name("mcp_server_fixture.py")
STDIO = {"command": [sys.executable, str(FIXTURE)]}
CANARY = "CANARY-mcp-51c0de"
ACTION = McpAction()


def make_ctx(timeout: float | None = 30.0, **kw: Any) -> RunContext:
    when = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    return RunContext(
        job_id="job-mcp", run_id=41, scheduled_for=when, attempt=1, timeout=timeout, **kw
    )


def run(config: dict[str, Any], ctx: RunContext | None = None) -> Outcome:
    return ACTION.execute(ACTION.validate(config), ctx or make_ctx())


# -- validation (no server needed) -----------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"server": STDIO}, "tool must be a non-empty string"),
        ({"server": STDIO, "tool": "  "}, "tool must be a non-empty string"),
        ({"tool": "add"}, "exactly one of server"),
        ({"server": STDIO, "server_name": "x", "tool": "add"}, "exactly one of server"),
        ({"server": {**STDIO, "url": "http://h/mcp"}, "tool": "add"}, "exactly one of command"),
        ({"server": {}, "tool": "add"}, "exactly one of command"),
        ({"server": {"command": "python srv.py"}, "tool": "add"}, "list of strings"),
        ({"server": {**STDIO, "env": {"N": 1}}, "tool": "add"}, "server.env must be an object"),
        ({"server": {"url": "ftp://h/mcp"}, "tool": "add"}, "must be an http(s):// URL"),
        ({"server": {"url": "http://h/mcp", "env": {}}, "tool": "add"}, "unknown field(s) env"),
        ({"server": STDIO, "tool": "add", "arguments": [1, 2]}, "arguments must be a JSON object"),
        ({"server": STDIO, "tool": "add", "arguments": {"a": {1}}}, "arguments must be JSON"),
        ({"server": STDIO, "tool": "add", "retries": 3}, "unknown field(s) retries"),
        ({"server_name": "nope", "tool": "add"}, "server_name 'nope' is not in"),
    ],
)
def test_bad_config_is_refused_with_a_clear_line(config: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidAction, match=r"^mcp action: ") as info:
        ACTION.validate(config)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_named_servers_must_be_valid_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GNOMON_MCP_SERVERS", "{not json")
    with pytest.raises(InvalidAction, match="GNOMON_MCP_SERVERS is not valid JSON"):
        ACTION.validate({"server_name": "time", "tool": "get_current_time"})


def test_url_password_is_not_echoed_by_validation() -> None:
    with pytest.raises(InvalidAction) as info:
        ACTION.validate({"server": {"url": f"ftp://u:{CANARY}@h/mcp"}, "tool": "add"})
    assert CANARY not in str(info.value)


# -- stdio ------------------------------------------------------------------------------------


def test_stdio_server_gets_the_run_identity_and_secrets_stay_masked() -> None:
    server = {**STDIO, "env": {"API_TOKEN": CANARY}}
    names = ["GNOMON_JOB_ID", "GNOMON_RUN_ID", "GNOMON_SCHEDULED_FOR", "API_TOKEN"]
    outcome = run({"server": server, "tool": "environment", "arguments": {"names": names}})
    assert outcome.status is RunStatus.SUCCEEDED, outcome.error
    assert outcome.result == {
        "GNOMON_JOB_ID": "job-mcp",
        "GNOMON_RUN_ID": "41",
        "GNOMON_SCHEDULED_FOR": "2026-11-23T12:00:00Z",
        "API_TOKEN": "***",  # the server saw the secret; the outcome does not show it
    }
    assert CANARY not in repr(outcome)
    assert "gnomon-test-fixture" in outcome.output


def test_timeout_stops_the_call_and_the_server() -> None:
    started = time.monotonic()
    outcome = run({"server": STDIO, "tool": "slow", "arguments": {"seconds": 60}}, make_ctx(2.0))
    assert outcome.status is RunStatus.TIMED_OUT
    assert outcome.error == "timed out after 2 s calling the MCP tool"
    assert time.monotonic() - started < 8  # the SDK's shutdown is bounded too


def test_command_that_cannot_start_is_a_failure() -> None:
    outcome = run({"server": {"command": ["/nonexistent/mcp-server"]}, "tool": "add"})
    assert outcome.status is RunStatus.FAILED
    assert "/nonexistent/mcp-server" in (outcome.error or "")


# -- streamable HTTP --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def http_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("mcp") / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, str(FIXTURE), "http", str(port)], stdout=out, stderr=out
        )
    try:
        for _ in range(300):  # up to 15 s on a busy machine; each round waits on the process
            if reachable("127.0.0.1", port, timeout=0.05):
                break
            try:
                proc.wait(timeout=0.05)
                pytest.fail(f"MCP HTTP server exited: {log.read_text()}")
            except subprocess.TimeoutExpired:
                continue
        else:
            pytest.fail(f"MCP HTTP server did not listen on {port}")
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.kill()
        proc.wait()


def test_tool_call_over_streamable_http(http_url: str) -> None:
    outcome = run({"server": {"url": http_url}, "tool": "add", "arguments": {"a": 1, "b": 2}})
    assert outcome.status is RunStatus.SUCCEEDED, outcome.error
    assert outcome.result == {"result": 3}


def test_named_server_from_settings(monkeypatch: pytest.MonkeyPatch, http_url: str) -> None:
    monkeypatch.setenv("GNOMON_MCP_SERVERS", json.dumps({"fixture": {"url": http_url}}))
    config = ACTION.validate({"server_name": "fixture", "tool": "add", "arguments": {"a": 2}})
    assert config == {"server_name": "fixture", "tool": "add", "arguments": {"a": 2}}
    outcome = ACTION.execute({**config, "arguments": {"a": 2, "b": 40}}, make_ctx())
    assert outcome.status is RunStatus.SUCCEEDED, outcome.error
    assert outcome.result == {"result": 42}


def test_pydantic_result_is_structured(http_url: str) -> None:
    outcome = run({"server": {"url": http_url}, "tool": "reading", "arguments": {"sensor": "gh"}})
    assert outcome.status is RunStatus.SUCCEEDED, outcome.error
    assert outcome.result == {"sensor": "gh", "celsius": 21.5}


def test_tool_error_is_a_failure_with_the_tools_text(http_url: str) -> None:
    outcome = run(
        {"server": {"url": http_url}, "tool": "fail", "arguments": {"reason": "valve stuck"}}
    )
    assert outcome.status is RunStatus.FAILED
    assert outcome.error == "tool 'fail' failed: Error executing tool fail: refused: valve stuck"


def test_secret_header_never_appears_in_the_outcome(http_url: str) -> None:
    server = {"url": http_url, "headers": {"Authorization": f"Bearer {CANARY}"}}
    outcome = run({"server": server, "tool": "fail", "arguments": {"reason": CANARY}})
    assert outcome.status is RunStatus.FAILED
    assert CANARY not in repr(outcome)


def test_cancelled_run_stops_waiting(http_url: str) -> None:
    ctx = make_ctx()
    ctx.cancelled.set()
    outcome = run({"server": {"url": http_url}, "tool": "slow", "arguments": {"seconds": 60}}, ctx)
    assert outcome.status is RunStatus.CANCELLED


def test_unreachable_url_is_a_one_line_failure() -> None:
    url = f"http://127.0.0.1:{free_port()}/mcp"
    outcome = run({"server": {"url": url}, "tool": "add"}, make_ctx(10))
    assert outcome.status is RunStatus.FAILED
    assert outcome.error is not None
    assert "\n" not in outcome.error
