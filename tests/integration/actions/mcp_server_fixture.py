"""A tiny real MCP server for the ``mcp`` action tests (run as a separate process).

    python mcp_server_fixture.py                      # stdio transport
    python mcp_server_fixture.py http PORT            # streamable HTTP on 127.0.0.1:PORT/mcp

Nothing here may write to stdout: with stdio, stdout carries the protocol.
"""

from __future__ import annotations

import os
import sys

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel

server = MCPServer("gnomon-test-fixture")


class Reading(BaseModel):
    sensor: str
    celsius: float


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
def fail(reason: str) -> str:
    """Always fails with ``reason``."""
    raise ToolError(f"refused: {reason}")


@server.tool()
async def slow(seconds: float) -> str:
    """Wait for ``seconds`` (the timeout and cancel tests never let it finish)."""
    await anyio.sleep(seconds)
    return "done"


@server.tool()
def reading(sensor: str) -> Reading:
    """A structured (pydantic) result."""
    return Reading(sensor=sensor, celsius=21.5)


@server.tool()
def environment(names: list[str]) -> dict[str, str]:
    """Some of the server's environment: the run identity, and secrets (to show masking)."""
    return {name: os.environ.get(name, "") for name in names}


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "http":
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run()
