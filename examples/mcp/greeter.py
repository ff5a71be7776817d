"""A tool server whose tools can run now or later: ``scheduled_tool`` on the official SDK.

Run it as a module, so that gnomon's scheduler can import the same functions later::

    cd examples/mcp
    GNOMON_DATABASE_URL=./gnomon.db python -m greeter      # the tool server (stdio)
    gnomon --db ./gnomon.db up                              # the scheduler that fires the jobs

An agent then calls ``greet(name="Ada")`` to greet now, or
``greet(name="Ada", datetime="tomorrow at 9am")`` to store a job that greets then.
"""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer

from gnomon import scheduled_tool

server = MCPServer("greeter")


@server.tool()
@scheduled_tool
async def greet(name: str) -> str:
    """Generate a greeting.

    Args:
        name: who to greet.
    """
    return f"hello {name}"


@server.tool()
@scheduled_tool(task_name="water the plants", max_retries=3, retry_backoff=30, recurring=True)
def water(zone: str, litres: float = 2.0) -> str:
    """Water one zone of the garden.

    Args:
        zone: which zone.
        litres: how much water.
    """
    return f"watered {zone} with {litres:g} l"


if __name__ == "__main__":
    server.run("stdio")
