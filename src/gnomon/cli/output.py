"""How the CLI shows things: Rich tables for people, JSON for scripts (the views of
:mod:`gnomon.views`, shared with the API and the event stream). Secrets are masked."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gnomon.models import Job, Run, RunStatus
from gnomon.redaction import redact_text

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table


class _LazyConsole:
    """Rich's console, created on first use: ``--json`` output never imports Rich."""

    _real: Console | None = None

    def __getattr__(self, name: str) -> Any:
        if _LazyConsole._real is None:
            from gnomon.cli.console import new_console

            _LazyConsole._real = new_console()
        return getattr(_LazyConsole._real, name)


console: Any = _LazyConsole()
STATUS_STYLE = {
    RunStatus.SUCCEEDED: "green",
    RunStatus.FAILED: "red",
    RunStatus.TIMED_OUT: "red",
    RunStatus.LOST: "red",
    RunStatus.MISSED: "yellow",
    RunStatus.SKIPPED: "yellow",
    RunStatus.CANCELLED: "yellow",
    RunStatus.RUNNING: "cyan",
    RunStatus.PENDING: "blue",
    RunStatus.QUEUED: "blue",
}


def print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, sort_keys=True, default=str))  # noqa: T201 - the CLI's JSON output, unwrapped


def warn(message: str) -> None:
    """A warning for the person at the terminal, on stderr (stdout stays the command's output)."""
    sys.stderr.write(f"warning: {message}\n")


def wrote_to(database: str) -> None:
    """Say which database a write went to (``db: URL``: a SQLite file by its absolute path,
    any password hidden), on stderr: ``--json`` output stays pure JSON."""
    prefix = "sqlite:///"
    path = database.removeprefix(prefix)
    if database.startswith(prefix) and path and not path.startswith((":", "/")):
        database = prefix + str(Path(path).resolve())
    sys.stderr.write(f"db: {redact_text(database)}\n")


def show_write(data: Any, line: str, database: str, *, as_json: bool) -> None:
    """What a write command did: ``data`` as JSON with ``--json``, else ``line`` for people;
    then the database it wrote to (:func:`wrote_to`)."""
    if as_json:
        print_json(data)
    else:
        console.print(line)
    wrote_to(database)


def job_line(job: Job, done: str) -> str:
    """``added job backup — Every 10 minutes; next fire 2026-03-02 07:10:00Z``."""
    schedule = f"{job.trigger.describe()}; next fire {when(job.next_fire_at)}"
    return f"{done} job [bold]{job.id}[/] — {schedule}"


def when(value: datetime | None) -> str:
    if value is None:
        return "-"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") + "Z"


def job_json(job: Job) -> dict[str, Any]:
    """The job as every face shows it (:func:`gnomon.views.job_view`: secrets masked)."""
    from gnomon.views import job_view

    return job_view(job)


def run_json(run: Run) -> dict[str, Any]:
    """The run with its result and output (:func:`gnomon.views.run_view`: secrets masked)."""
    from gnomon.views import run_view

    return run_view(run)


def status_text(status: RunStatus) -> str:
    return f"[{STATUS_STYLE.get(status, 'white')}]{status.value}[/]"


def jobs_table(jobs: list[Job]) -> Table:
    from rich.table import Table

    table = Table(title=f"{len(jobs)} job(s)", title_justify="left")
    for column in ("id", "name", "when", "action", "state", "next fire (UTC)"):
        table.add_column(column, overflow="fold")
    for job in jobs:
        table.add_row(
            job.id,
            redact_text(job.name),
            job.trigger.describe(),
            job.action.kind,
            job.state.value,
            when(job.next_fire_at),
        )
    return table


def runs_table(runs: list[Run], title: str) -> Table:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in ("run", "scheduled for (UTC)", "attempt", "reason", "status", "took", "error"):
        table.add_column(column, overflow="fold")
    for run in runs:
        took = "-"
        if run.started_at and run.finished_at:
            took = f"{(run.finished_at - run.started_at).total_seconds():.2f}s"
        table.add_row(
            str(run.id),
            when(run.scheduled_for),
            str(run.attempt),
            run.reason.value,
            status_text(run.status),
            took,
            redact_text(run.error or ""),
        )
    return table
