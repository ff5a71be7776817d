"""Tool servers for ``test_mcp_scheduled_tool.py``: the same tools on the official SDK's
``MCPServer`` and on the standalone ``fastmcp`` package, made schedulable.

A module (not the test file) so that the scheduler imports the functions by reference, as
it would import a real tool server's module.
"""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer

from gnomon import scheduled_tool

sdk = MCPServer("greeter")


@sdk.tool()
@scheduled_tool
async def greet(name: str) -> str:
    """Generate a greeting.

    Args:
        name: who to greet.
    """
    return f"hello {name}"


@sdk.tool()
@scheduled_tool(task_name="adding", max_retries=2, retry_backoff=30, recurring=True)
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


try:
    import fastmcp
except ImportError:  # the fastmcp tests are skipped then
    standalone = None
else:
    standalone = fastmcp.FastMCP("greeter-standalone")

    @standalone.tool()
    @scheduled_tool
    def shout(text: str) -> str:
        """Shout a text.

        Args:
            text: what to shout.
        """
        return text.upper()
