"""How the CLI shows things: Rich tables for people, JSON for scripts. Secrets are masked."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from gnomon.instants import iso
from gnomon.models import Job, Run, RunStatus
from gnomon.redaction import redact, redact_text

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table


class _LazyConsole:
    """Rich's console, created on first use: ``--json`` output never imports Rich."""

    _real: Console | None = None

    def __getattr__(self, name: str) -> Any:
        if _LazyConsole._real is None:
            from rich.console import Console

            _LazyConsole._real = Console()
        return getattr(_LazyConsole._real, name)


console: Any = _LazyConsole()
STATUS_STYLE = {
    RunStatus.SUCCEEDED: "green", RunStatus.FAILED: "red", RunStatus.TIMED_OUT: "red",
    RunStatus.LOST: "red", RunStatus.MISSED: "yellow", RunStatus.SKIPPED: "yellow",
    RunStatus.CANCELLED: "yellow", RunStatus.RUNNING: "cyan", RunStatus.PENDING: "blue",
}  # fmt: skip


def print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, sort_keys=True, default=str))


def when(value: datetime | None) -> str:
    if value is None:
        return "-"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") + "Z"


def job_json(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "name": redact_text(job.name),
        "when": job.trigger.describe(),
        "trigger": job.trigger.to_json(),
        "action": redact(job.action.to_json()),
        "policy": job.policy.to_json(),
        "state": job.state.value,
        "next_fire_at": None if job.next_fire_at is None else iso(job.next_fire_at),
        "created_at": iso(job.created_at),
        "updated_at": iso(job.updated_at),
    }


def run_json(run: Run) -> dict[str, Any]:
    return {
        "id": run.id,
        "job_id": run.job_id,
        "scheduled_for": iso(run.scheduled_for),
        "due_at": iso(run.due_at),
        "attempt": run.attempt,
        "reason": run.reason.value,
        "status": run.status.value,
        "started_at": None if run.started_at is None else iso(run.started_at),
        "finished_at": None if run.finished_at is None else iso(run.finished_at),
        "result": redact(run.result),
        "error": None if run.error is None else redact_text(run.error),
        "output": redact_text(run.output),
    }


def status_text(status: RunStatus) -> str:
    return f"[{STATUS_STYLE.get(status, 'white')}]{status.value}[/]"


def jobs_table(jobs: list[Job]) -> Table:
    from rich.table import Table

    table = Table(title=f"{len(jobs)} job(s)", title_justify="left")
    for column in ("id", "name", "when", "action", "state", "next fire (UTC)"):
        table.add_column(column, overflow="fold")
    for job in jobs:
        table.add_row(
            job.id, redact_text(job.name), job.trigger.describe(), job.action.kind,
            job.state.value, when(job.next_fire_at),
        )  # fmt: skip
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
            str(run.id), when(run.scheduled_for), str(run.attempt), run.reason.value,
            status_text(run.status), took, redact_text(run.error or ""),
        )  # fmt: skip
    return table
