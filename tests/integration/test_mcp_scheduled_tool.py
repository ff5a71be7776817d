"""``scheduled_tool`` on the official SDK's ``MCPServer`` and on standalone ``fastmcp``.

Real MCP clients connect in process; scheduled calls go to a SQLite scheduler on a
FakeClock, and ``tick`` fires them.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gnomon import FakeClock, RunStatus, Scheduler
from gnomon.errors import GnomonError
from gnomon.mcp.decorator import ScheduledToolError, schedule_with, scheduled_tool
from gnomon.settings import Settings

pytest.importorskip("mcp", reason="scheduled_tool's tests need gnomon[mcp]")

from mcp import Client
from mcp.server.mcpserver import MCPServer

from tests.integration import mcp_scheduled_tools as tools

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@pytest.fixture
def scheduler(tmp_path: Path) -> Iterator[Scheduler]:
    with Scheduler(str(tmp_path / "tools.db"), clock=FakeClock(START), settings=Settings()) as s:
        schedule_with(s)
        yield s
        schedule_with(None)


def call(server: Any, tool: str, **arguments: Any) -> Any:
    async def main() -> Any:
        async with Client(server) as client:
            return await client.call_tool(tool, arguments)

    return asyncio.run(main())


def fire_all(scheduler: Scheduler, at: datetime) -> None:
    assert isinstance(scheduler.clock, FakeClock)
    scheduler.clock.advance(at - scheduler.clock.now())
    scheduler.tick(at)
    assert scheduler.wait_idle(30)


def test_the_datetime_parameter_is_in_the_schema_and_the_docstring() -> None:
    async def main() -> dict[str, Any]:
        async with Client(tools.sdk) as client:
            return {t.name: t for t in (await client.list_tools()).tools}

    listed = asyncio.run(main())
    schema = listed["greet"].input_schema
    assert set(schema["properties"]) == {"name", "datetime"}
    assert schema["required"] == ["name"]
    assert "datetime: when to run instead of now" in (listed["greet"].description or "")
    assert "    name: who to greet." in (tools.greet.__doc__ or "")
    # the function's own nature is kept
    assert inspect.iscoroutinefunction(tools.greet)
    assert not inspect.iscoroutinefunction(tools.add)
    assert tools.greet.__name__ == "greet"
    assert str(inspect.signature(tools.greet)) == (
        "(name: str, *, datetime: str | None = None) -> str"
    )
    assert inspect.signature(tools.greet.__wrapped__).return_annotation == "str"


def test_without_datetime_the_tool_runs_now(scheduler: Scheduler) -> None:
    result = call(tools.sdk, "greet", name="Ada")
    assert not result.is_error
    assert result.structured_content == {"result": "hello Ada"}
    assert scheduler.list() == []
    assert asyncio.run(tools.greet("Bo")) == "hello Bo"
    assert tools.add(2, 3) == 5


def test_a_scheduled_greet_fires_and_its_result_is_in_the_history(scheduler: Scheduler) -> None:
    result = call(tools.sdk, "greet", name="Ada", datetime="in 30 minutes")
    assert not result.is_error
    sentence = result.structured_content["result"]
    assert sentence.startswith("Scheduled greet as job ")
    assert sentence.endswith("first run at 2026-03-02T08:30:00Z.")
    [job] = scheduler.list()
    assert job.id in sentence
    assert job.action.config["kwargs"] == {
        "target": "tests.integration.mcp_scheduled_tools:greet",
        "arguments": {"name": "Ada"},
    }
    fire_all(scheduler, START + timedelta(minutes=30))
    [run] = scheduler.runs(job.id)
    assert run.status is RunStatus.SUCCEEDED
    assert run.result == "hello Ada"


def test_iso_times_and_the_retry_policy(scheduler: Scheduler) -> None:
    result = call(tools.sdk, "add", a=2, b=3, datetime="2026-03-03T09:00:00Z")
    assert not result.is_error, result.content
    [job] = scheduler.list()
    assert job.name == "adding"
    assert job.policy.max_attempts == 3
    assert job.policy.backoff == 30
    fire_all(scheduler, datetime(2026, 3, 3, 9, 0, tzinfo=UTC))
    assert [r.result for r in scheduler.runs(job.id)] == [5]


def test_recurring_only_when_allowed(scheduler: Scheduler) -> None:
    refused = call(tools.sdk, "greet", name="Ada", datetime="every day at 9am")
    assert refused.is_error
    assert "is a recurring schedule" in refused.content[0].text
    assert scheduler.list() == []
    allowed = call(tools.sdk, "add", a=1, b=1, datetime="every day at 9am")
    assert not allowed.is_error
    assert scheduler.list()[0].trigger.kind == "cron"


def test_an_unreadable_time_is_a_tool_error_of_one_line(scheduler: Scheduler) -> None:
    result = call(tools.sdk, "greet", name="Ada", datetime="on blursday")
    assert result.is_error
    assert "blursday" in result.content[0].text
    assert "Traceback" not in result.content[0].text


def test_standalone_fastmcp(scheduler: Scheduler) -> None:
    fastmcp = pytest.importorskip("fastmcp")
    assert tools.standalone is not None

    async def main() -> tuple[Any, Any, Any]:
        async with fastmcp.Client(tools.standalone) as client:
            [tool] = await client.list_tools()
            now = await client.call_tool("shout", {"text": "hi"})
            later = await client.call_tool("shout", {"text": "hi", "datetime": "tomorrow at 9am"})
            return tool, now, later

    tool, now, later = asyncio.run(main())
    assert "datetime" in tool.input_schema["properties"]
    assert now.data == "HI"
    assert later.data.startswith("Scheduled shout as job ")
    [job] = scheduler.list()
    fire_all(scheduler, datetime(2026, 3, 3, 9, 0, tzinfo=UTC))
    assert [r.result for r in scheduler.runs(job.id)] == ["HI"]


def nested_factory() -> Any:
    def inner(x: int) -> int:
        return x

    return inner


def test_a_function_the_scheduler_cannot_import_is_refused() -> None:
    with pytest.raises(ScheduledToolError, match="define it at module level"):
        scheduled_tool(nested_factory())
    with pytest.raises(ScheduledToolError, match="define it at module level"):
        scheduled_tool(lambda x: x)


def test_wrong_decorator_order_is_a_clear_error() -> None:
    server = MCPServer("order")

    def plain(x: int) -> int:
        return x

    plain.__qualname__ = "plain"  # as if at module level: the order is what is wrong
    registered = server.tool()(plain)
    with pytest.raises(ScheduledToolError, match=r"below @server.tool\(\)"):
        scheduled_tool(registered)
    with pytest.raises(ScheduledToolError, match="not a function"):
        scheduled_tool(object())
    with pytest.raises(ScheduledToolError, match="applied twice"):
        scheduled_tool(tools.add)
    assert issubclass(ScheduledToolError, GnomonError)


def test_the_example_tool_server_is_schedulable(monkeypatch: pytest.MonkeyPatch) -> None:
    examples = Path(__file__).parents[2] / "examples" / "mcp"
    monkeypatch.syspath_prepend(str(examples))
    greeter = importlib.import_module("greeter")

    async def main() -> dict[str, Any]:
        async with Client(greeter.server) as client:
            return {t.name: t.input_schema for t in (await client.list_tools()).tools}

    schemas = asyncio.run(main())
    assert set(schemas) == {"greet", "water"}
    assert all("datetime" in s["properties"] for s in schemas.values())
