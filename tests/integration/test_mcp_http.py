"""``gnomon mcp --http``: a real MCP client over streamable HTTP, with the API's bearer tokens.

The server process is started once for the module on a free loopback port (it prints its
URL on stderr once listening); tokens of each scope exist before it starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from gnomon.store import SqlStore
from gnomon.store.admin import create_token, list_audit

pytest.importorskip("mcp", reason="gnomon mcp needs gnomon[mcp]")

from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.types import CallToolResult

HTTP_ACTION = {"kind": "http", "config": {"url": "http://127.0.0.1:9/hook"}}
SHELL_ACTION = {"kind": "shell", "config": {"argv": ["true"]}}


@dataclass
class Served:
    url: str
    db: Path
    tokens: dict[str, str]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    db = tmp_path_factory.mktemp("mcp-http") / "g.db"
    store = SqlStore(str(db))
    now = datetime.now(UTC)
    tokens = {s: create_token(store, f"agent-{s}", s, now)[0] for s in ("read", "write", "admin")}
    store.close()
    command = [sys.executable, "-m", "gnomon", "--db", str(db), "mcp", "--http", "--port", "0"]
    proc = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()  # blocks until the server listens (or exits)
        assert line.startswith("gnomon MCP server on http://127.0.0.1:"), line
        yield Served(url=line.split()[4], db=db, tokens=tokens)
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(10)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


def session(served: Served, scope: str, body: Callable[[Client], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        headers = {"Authorization": f"Bearer {served.tokens[scope]}"}
        async with create_mcp_http_client(headers=headers) as http:
            transport = streamable_http_client(served.url, http_client=http)
            async with Client(transport) as client:
                return await body(client)

    return asyncio.run(main())


def text(result: CallToolResult) -> str:
    return "\n".join(getattr(block, "text", "") for block in result.content)


def test_a_request_without_a_valid_token_is_refused(served: Served) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    plain = httpx.post(served.url, json=body, timeout=10)
    assert plain.status_code == 401
    assert plain.json()["detail"] == "a valid bearer token is required"
    forged = httpx.post(
        served.url, json=body, headers={"Authorization": "Bearer gnm_x_y"}, timeout=10
    )
    assert forged.status_code == 401
    assert forged.json()["detail"] == "unknown or revoked token"


def test_a_read_token_lists_but_cannot_change(served: Served) -> None:
    async def body(client: Client) -> tuple[set[str], CallToolResult, CallToolResult]:
        names = {t.name for t in (await client.list_tools()).tools}
        listed = await client.call_tool("list_jobs", {})
        create = await client.call_tool(
            "create_job", {"spec": "every 10m", "action": HTTP_ACTION, "confirm": True}
        )
        return names, listed, create

    names, listed, create = session(served, "read", body)
    assert {"preview_schedule", "create_job", "job_history"} <= names
    assert not listed.is_error
    assert create.is_error
    assert text(create) == "create_job: this needs the 'write' scope; the token has 'read'"


def test_a_write_token_creates_after_preview_but_not_local_code(served: Served) -> None:
    async def body(client: Client) -> dict[str, CallToolResult]:
        got = {
            "blind": await client.call_tool(
                "create_job", {"spec": "every weekday at 9am", "action": HTTP_ACTION, "id": "w1"}
            )
        }
        got["preview"] = await client.call_tool(
            "preview_schedule", {"spec": "every weekday at 9am"}
        )
        got["create"] = await client.call_tool(
            "create_job", {"spec": "every weekday at 9am", "action": HTTP_ACTION, "id": "w1"}
        )
        got["shell"] = await client.call_tool(
            "create_job", {"spec": "every 10m", "action": SHELL_ACTION, "confirm": True}
        )
        got["trigger"] = await client.call_tool("trigger_job", {"id": "w1"})
        got["history"] = await client.call_tool("job_history", {"id": "w1"})
        return got

    got = session(served, "write", body)
    assert got["blind"].is_error
    assert "preview" in text(got["blind"])
    assert not got["preview"].is_error
    assert not got["create"].is_error, text(got["create"])
    assert (got["create"].structured_content or {})["name"].startswith("http job [agent:")
    assert got["shell"].is_error
    assert text(got["shell"]) == (
        "action: this 'shell' action starts a process or loads code on this host, "
        "so it needs the 'admin' scope"
    )
    assert [r["reason"] for r in (got["history"].structured_content or {})["runs"]] == ["manual"]

    audit = list_audit(SqlStore(str(served.db)), limit=200)
    created = next(e for e in audit if e.action == "job.create" and e.target == "job:w1")
    assert created.actor.startswith("token:agent-write via mcp (")
    assert created.client == "127.0.0.1"
    refused = [e for e in audit if e.action == "mcp.create_job" and "refused" in e.diff]
    assert any("'admin' scope" in e.diff["refused"] for e in refused)


def test_an_admin_token_may_create_local_code_actions(served: Served) -> None:
    async def body(client: Client) -> CallToolResult:
        return await client.call_tool(
            "create_job",
            {"spec": "every 10m", "action": SHELL_ACTION, "id": "a1", "confirm": True},
        )

    created = session(served, "admin", body)
    assert not created.is_error, text(created)
    assert (created.structured_content or {})["action"]["kind"] == "shell"
