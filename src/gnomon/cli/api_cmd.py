"""``gnomon api``: serve the REST API and dashboard (without running the scheduler loop).

``gnomon up`` runs everything in one process; ``gnomon api`` is for a separate API process
next to schedulers elsewhere (same database). With no token, it runs open on loopback only.
"""

from __future__ import annotations

import logging

import typer

from gnomon.cli import output
from gnomon.cli.state import state


def api(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind."),
    port: int = typer.Option(8787, "--port", help="Port to bind."),
    rate: float = typer.Option(50.0, "--rate", help="Requests a second per client (0: off)."),
    burst: int = typer.Option(200, "--burst", help="Burst size of the rate limit."),
) -> None:
    """Serve the REST API and dashboard until Ctrl-C."""
    from gnomon import logs, service
    from gnomon.api.ratelimit import RateLimit
    from gnomon.api.server import build_server
    from gnomon.scheduler import Scheduler

    logs.setup(
        level=logging.DEBUG if state.verbose else logging.WARNING, log_format=state.log_format
    )
    scheduler = Scheduler(state.db)
    limit = RateLimit(rate=rate, burst=burst) if rate > 0 else None
    try:
        server, open_mode = build_server(scheduler, host, port, rate_limit=limit)
        shown = f"[{host}]" if ":" in host else host
        database = service.database_url(scheduler)
        output.console.print(
            f"gnomon API and dashboard on [bold]http://{shown}:{port}/[/] "
            f"(database {database}); Ctrl-C to stop"
        )
        if open_mode:
            from gnomon.open_mode import OPEN_MODE_ADVICE

            output.console.print(f"[yellow]{OPEN_MODE_ADVICE}[/]", highlight=False)
        server.run()
    finally:
        scheduler.close()


def register(app: typer.Typer) -> None:
    """Add ``gnomon api`` to the CLI."""
    app.command(name="api")(api)
