"""``gnomon mcp`` over stdio: a real MCP client spawns the server on a temp SQLite database.

Each session starts a process (Python plus the SDK: about a second), so sessions are few
and each checks several things in order.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from gnomon.store import SqlStore
from gnomon.store.admin import list_audit

pytest.importorskip("mcp", reason="gnomon mcp needs gnomon[mcp]")

from mcp import Client, StdioServerParameters
from mcp.types import CallToolResult

HTTP_ACTION = {"kind": "http", "config": {"url": "http://127.0.0.1:9/hook"}}
TOOLS = {
    "preview_schedule",
    "create_job",
    "list_jobs",
    "job_info",
    "job_history",
    "pause_job",
    "resume_job",
    "cancel_job",
    "trigger_job",
}


def session(db: Path, body: Callable[[Client], Awaitable[None]]) -> None:
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "gnomon", "--db", str(db), "mcp"]
    )

    async def main() -> None:
        async with Client(params) as client:
            await body(client)

    asyncio.run(main())


def text(result: CallToolResult) -> str:
    return "\n".join(getattr(block, "text", "") for block in result.content)


async def call(client: Client, tool: str, **arguments: Any) -> CallToolResult:
    return await client.call_tool(tool, arguments)


def test_tools_and_resources_are_listed_with_schemas(tmp_path: Path) -> None:
    seen: dict[str, Any] = {}

    async def body(client: Client) -> None:
        seen["tools"] = {t.name: t for t in (await client.list_tools()).tools}
        seen["resources"] = [str(r.uri) for r in (await client.list_resources()).resources]
        templates = (await client.list_resource_templates()).resource_templates
        seen["templates"] = [t.uri_template for t in templates]

    session(tmp_path / "g.db", body)
    tools = seen["tools"]
    assert set(tools) == TOOLS
    preview = tools["preview_schedule"]
    assert set(preview.input_schema["properties"]) == {"spec", "tz", "lat", "lon", "count"}
    assert preview.input_schema["required"] == ["spec"]
    assert "next fires" in (preview.description or "")
    create = tools["create_job"].input_schema
    assert {"spec", "action", "id", "tz", "policy", "confirm"} <= set(create["properties"])
    assert sorted(create["required"]) == ["action", "spec"]
    for name in ("pause_job", "resume_job", "cancel_job", "trigger_job", "job_info"):
        assert tools[name].input_schema["required"] == ["id"], name
    assert seen["resources"] == ["gnomon://jobs"]
    assert seen["templates"] == ["gnomon://jobs/{id}/runs"]


def test_preview_then_create_and_manage_a_job(tmp_path: Path) -> None:
    db = tmp_path / "g.db"
    got: dict[str, CallToolResult] = {}

    async def body(client: Client) -> None:
        got["unpreviewed"] = await call(
            client, "create_job", spec="every day at 9am", action=HTTP_ACTION, id="daily"
        )
        got["bad"] = await call(client, "preview_schedule", spec="every blursday")
        got["preview"] = await call(
            client, "preview_schedule", spec="every day at 9am", tz="Europe/Paris", count=3
        )
        got["other_zone"] = await call(
            client, "create_job", spec="every day at 9am", action=HTTP_ACTION, id="daily"
        )
        got["create"] = await call(
            client,
            "create_job",
            spec="every day at 9am",
            tz="Europe/Paris",
            action=HTTP_ACTION,
            id="daily",
        )
        got["confirmed"] = await call(
            client, "create_job", spec="every 10m", action=HTTP_ACTION, id="often", confirm=True
        )
        got["duplicate"] = await call(
            client, "create_job", spec="every 10m", action=HTTP_ACTION, id="often", confirm=True
        )
        got["list"] = await call(client, "list_jobs")
        got["pause"] = await call(client, "pause_job", id="daily")
        got["resume"] = await call(client, "resume_job", id="daily")
        got["trigger"] = await call(client, "trigger_job", id="often")
        got["history"] = await call(client, "job_history", id="often")
        got["cancel"] = await call(client, "cancel_job", id="often")
        got["missing"] = await call(client, "job_info", id="often")
        runs = await client.read_resource("gnomon://jobs/daily/runs")
        assert '"job_id": "daily"' in getattr(runs.contents[0], "text", "")

    session(db, body)
    assert got["unpreviewed"].is_error
    assert text(got["unpreviewed"]).startswith("spec: preview 'every day at 9am'")
    assert got["bad"].is_error
    bad = text(got["bad"])
    assert "blursday" in bad
    assert "\n" not in bad
    assert "Traceback" not in bad
    preview = got["preview"].structured_content or {}
    assert preview["description"] == "At 09:00 (Europe/Paris)"
    assert len(preview["fires"]) == 3
    assert preview["fires"][0]["local"].endswith(("+0100", "+0200"))
    assert preview["fires"][0]["utc"].endswith("Z")
    assert got["other_zone"].is_error  # previewed in Paris, not UTC
    created = got["create"].structured_content or {}
    assert not got["create"].is_error
    assert created["id"] == "daily"
    assert created["name"].startswith("http job [agent:")  # tagged with the client's name
    assert not got["confirmed"].is_error
    assert (
        text(got["duplicate"]) == "a job with id 'often' already exists (use update, or another id)"
    )
    assert {j["id"] for j in (got["list"].structured_content or {})["jobs"]} == {"daily", "often"}
    assert (got["pause"].structured_content or {})["state"] == "paused"
    assert (got["resume"].structured_content or {})["state"] == "active"
    assert (got["trigger"].structured_content or {})["reason"] == "manual"
    history = (got["history"].structured_content or {})["runs"]
    assert [r["reason"] for r in history] == ["manual"]
    assert (got["cancel"].structured_content or {})["removed"] is True
    assert text(got["missing"]) == "no job with id 'often'"

    audit = list_audit(SqlStore(str(db)), limit=100)
    actions = [e.action for e in reversed(audit)]
    for expected in (
        "mcp.preview_schedule",
        "job.create",
        "mcp.list_jobs",
        "job.pause",
        "job.resume",
        "job.trigger",
        "mcp.job_history",
        "job.remove",
    ):
        assert expected in actions, expected
    created_entry = next(e for e in audit if e.action == "job.create" and e.target == "job:daily")
    assert created_entry.actor.startswith("local (stdio) via mcp (")
    assert created_entry.client == "stdio"
    assert created_entry.diff["agent"]
