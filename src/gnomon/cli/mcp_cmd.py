"""``gnomon mcp``: serve gnomon to AI agents over MCP (stdio, or ``--http``).

Stdio is for a desktop agent that starts ``gnomon mcp`` itself: the caller is the local
user (``admin``), stdout is the protocol, logs go to stderr. ``--http`` serves streamable
HTTP on loopback by default, behind the REST API's bearer tokens (see :mod:`gnomon.mcp`).
Neither runs the scheduler loop: run ``gnomon up`` (or a scheduler) on the same database.
"""

from __future__ import annotations

import logging

import typer

from gnomon.cli.state import state
from gnomon.errors import ConfigError


def mcp(
    http: bool = typer.Option(False, "--http", help="Serve streamable HTTP instead of stdio."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (with --http)."),
    port: int = typer.Option(8788, "--port", help="Port to bind (with --http; 0: any free)."),
) -> None:
    """Serve gnomon's MCP tools (preview_schedule, create_job, list_jobs…) to AI agents."""
    try:
        from gnomon.mcp.server import build_server
    except ImportError as exc:
        raise ConfigError(
            f"gnomon mcp needs the MCP SDK: pip install 'gnomon[mcp]' ({exc})"
        ) from None
    from gnomon import logs
    from gnomon.scheduler import Scheduler

    logs.setup(
        level=logging.DEBUG if state.verbose else logging.WARNING, log_format=state.log_format
    )
    scheduler = Scheduler(state.db)
    try:
        if http:
            from gnomon.mcp.http import serve_http

            serve_http(scheduler, host, port)
        else:
            build_server(scheduler).run("stdio")
    finally:
        scheduler.close()


def register(app: typer.Typer) -> None:
    """Add ``gnomon mcp`` to the CLI."""
    app.command(name="mcp")(mcp)
