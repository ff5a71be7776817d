"""``gnomon import-beat MODULE:APP``: a Celery app's ``beat_schedule`` as gnomon jobs.

    gnomon import-beat myproject.celery:app [--dry-run] [--broker URL | --destination NAME]
                                            [--no-results] [--json]

Each entry becomes a ``celery`` job (id ``beat-<entry>``) that sends the same task to the
app's broker (``broker_url``), waiting for results when the app has a result backend unless
``--no-results``. Importing again changes nothing unless an entry changed. Entries that
cannot be expressed are listed with the reason. See :mod:`gnomon.beat_import`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from gnomon.cli import output
from gnomon.cli.jobs import open_scheduler
from gnomon.errors import InvalidSpec

_NOTE = "note: result backend {} is not one gnomon can wait on; jobs record 'sent' only"


def import_beat(
    app_ref: str = typer.Argument(..., metavar="MODULE:APP", help="The Celery app."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would change; store nothing."),
    broker: str | None = typer.Option(None, "--broker", help="Send to this broker instead."),
    destination: str | None = typer.Option(
        None, "--destination", help="Send to this named destination instead."
    ),
    results: bool = typer.Option(
        True, "--results/--no-results", help="Wait for and record results (with a backend)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Import a Celery app's beat_schedule as celery jobs (idempotent)."""
    from gnomon.beat_import import apply, load_app, plan

    if broker and destination:
        raise InvalidSpec("give --broker or --destination, not both")
    if "" not in sys.path:  # import the user's app as `celery -A` would: from here
        sys.path.insert(0, str(Path.cwd()))
    app = load_app(app_ref)
    target = _target(app, broker, destination, results)
    with open_scheduler() as scheduler:
        done = apply(scheduler, plan(app, target), dry_run=dry_run)
    rows = [
        {
            "entry": a.entry,
            "job_id": a.job_id,
            "result": a.verdict,
            "schedule": a.schedule,
            "reason": a.reason,
        }
        for a in done
    ]
    if as_json:
        output.print_json(rows)
    else:
        _table(rows, dry_run)
    if any(a.verdict == "refused" for a in done):
        raise typer.Exit(1)


def _target(app: Any, broker: str | None, destination: str | None, results: bool) -> dict[str, Any]:
    from gnomon.actions.celery_task import BACKENDS

    if destination:
        target: dict[str, Any] = {"destination": destination}
    else:
        url = broker or app.conf.broker_write_url or app.conf.broker_url
        if not url:
            raise InvalidSpec("the app has no broker_url: give --broker URL or --destination")
        target = {"broker": str(url)}
    backend = app.conf.result_backend
    if results and isinstance(backend, str) and backend:
        if backend.partition("://")[0].lower() in BACKENDS:
            target["backend"] = backend
        else:
            output.console.print(_NOTE.format(backend.partition("://")[0] + "://"))
    return target


def _table(rows: list[dict[str, Any]], dry_run: bool) -> None:
    from rich.table import Table

    counts: dict[str, int] = {}
    for row in rows:
        counts[row["result"]] = counts.get(row["result"], 0) + 1
    summary = ", ".join(f"{n} {verdict}" for verdict, n in sorted(counts.items())) or "nothing"
    title = f"{'dry run: ' if dry_run else ''}{len(rows)} beat entr(y/ies): {summary}"
    table = Table(title=title, title_justify="left")
    for column in ("entry", "job id", "result", "schedule / reason"):
        table.add_column(column, overflow="fold")
    for row in rows:
        style = {"refused": "red", "unchanged": "dim"}.get(row["result"], "green")
        detail = row["reason"] or row["schedule"]
        table.add_row(row["entry"], row["job_id"] or "-", f"[{style}]{row['result']}[/]", detail)
    output.console.print(table)
    if counts and set(counts) == {"unchanged"}:
        output.console.print("nothing changed: every entry is already imported as it is")


def register(app: typer.Typer) -> None:
    """Add ``gnomon import-beat`` to the CLI."""
    app.command("import-beat")(import_beat)
