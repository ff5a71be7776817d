"""``gnomon next SPEC``: how gnomon reads a schedule, and when it will fire.

For people (a Rich table of local and UTC times) and for checking (``--json``). A refused
schedule prints one line to stderr and exits 2. Imports stay light so that a cold
``gnomon next '0 9 * * 1-5' --json`` is quick: Rich only for the table, and the trigger
package loads holidays or dateutil only for the forms that need them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from gnomon.cli.preview import next_fires
from gnomon.limits import MAX_PREVIEW_FIRES

if TYPE_CHECKING:
    import typer


def register(app: typer.Typer) -> None:
    """Add the ``next`` command to ``app`` (``gnomon.cli.command`` runs it without Typer)."""
    app.command("next")(_typer_command())


def _typer_command() -> Callable[..., None]:
    """The Typer face of ``next`` (help text, and the path when the fast one declines)."""
    import typer

    def next_command(
        spec: str = typer.Argument(..., help="A schedule: cron, ISO time, 'every 15m', 'sunset'…"),
        *,
        tz: str = typer.Option("UTC", "--tz", help="IANA zone the schedule is read in."),
        after: str | None = typer.Option(
            None,
            "--after",
            help="Start (and 'now' for relative phrases); ISO 8601, local to "
            "--tz when it has no offset. Default: now.",
        ),
        count: int = typer.Option(
            5, "--count", "-n", min=1, max=MAX_PREVIEW_FIRES, help="How many fires."
        ),
        lat: float | None = typer.Option(None, "--lat", help="Latitude for solar events."),
        lon: float | None = typer.Option(None, "--lon", help="Longitude for solar events."),
        dst: str = typer.Option("cron", "--dst", help="DST policy: cron (default) or literal."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
    ) -> None:
        """Describe SPEC and list its next fires (local and UTC)."""
        next_fires(
            spec, tz=tz, after=after, count=count, lat=lat, lon=lon, dst=dst, as_json=as_json
        )

    return next_command
