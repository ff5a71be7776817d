"""MCP: gnomon as an MCP server for agents, and the ``scheduled_tool`` decorator.

- :mod:`gnomon.mcp.server` — ``gnomon mcp``: tools to preview, create and manage jobs.
- :mod:`gnomon.mcp.http` — the same over streamable HTTP, behind the API's bearer tokens.
- :mod:`gnomon.mcp.tools` — what the tools do (scopes, audit), without the SDK.
- :mod:`gnomon.mcp.decorator` — ``scheduled_tool``: a tool server's tool that can also be
  called "later" (``datetime=…``), stored as a gnomon job.

Nothing here imports the MCP SDK at import time except :mod:`gnomon.mcp.server`.
"""
