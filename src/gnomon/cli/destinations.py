"""``gnomon destination add|list|remove``: named broker destinations (see
:mod:`gnomon.destinations`).

    gnomon destination add reports amqp://user:pass@rabbit:5672// --queue reports
    gnomon destination list [--json]
    gnomon destination remove reports

URL passwords are masked in everything these commands print. Destinations set in
``GNOMON_DESTINATIONS`` are listed too (source ``settings``) and cannot be changed here.
"""

from __future__ import annotations

import typer

from gnomon.cli import output
from gnomon.cli.jobs import open_scheduler

destinations_app = typer.Typer(
    help="Named broker destinations: add, list, remove.", no_args_is_help=True
)


@destinations_app.command("add")
def add(
    name: str = typer.Argument(..., help="Its name, e.g. 'reports'."),
    url: str = typer.Argument(..., help="Broker URL: amqp://, amqps://, redis://, rediss://."),
    exchange: str | None = typer.Option(None, "--exchange", help="AMQP exchange."),
    queue: str | None = typer.Option(None, "--queue", help="Queue (redis: the list)."),
    routing_key: str | None = typer.Option(None, "--routing-key", help="AMQP routing key."),
) -> None:
    """Add a destination, or replace the one of that name (every job naming it follows)."""
    from gnomon import service

    with open_scheduler() as scheduler:
        dest, created = service.put_destination(
            scheduler, name, url, exchange=exchange, queue=queue, routing_key=routing_key
        )
    verb = "added" if created else "replaced"
    output.console.print(f"{verb} destination [bold]{dest.name}[/] → {dest.shown_url()}")


@destinations_app.command("list")
def list_(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List destinations (URL passwords masked)."""
    from rich.table import Table

    from gnomon import service

    with open_scheduler() as scheduler:
        rows = [d.to_json() for d in service.list_destinations(scheduler)]
    if as_json:
        output.print_json(rows)
        return
    table = Table(title=f"{len(rows)} destination(s)", title_justify="left")
    columns = ("name", "url", "exchange", "queue", "routing_key", "source")
    for column in columns:
        table.add_column(column.replace("_", " "), overflow="fold")
    for row in rows:
        table.add_row(*(row[c] or "-" for c in columns))
    output.console.print(table)


@destinations_app.command("remove")
def remove(name: str = typer.Argument(..., help="The destination's name.")) -> None:
    """Remove a destination; jobs that name it fail their runs until it is added again."""
    from gnomon import service

    with open_scheduler() as scheduler:
        service.remove_destination(scheduler, name)
    output.console.print(f"removed destination [bold]{name}[/]")


def register(app: typer.Typer) -> None:
    """Add ``gnomon destination …`` to the CLI."""
    app.add_typer(destinations_app, name="destination")
