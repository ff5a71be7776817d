"""``gnomon prune``: remove old history now, by the retention settings or an age given here.

    gnomon prune                      # by GNOMON_KEEP_* (30 days, failures 90 days)
    gnomon prune --older-than 7d      # runs and events older than a week (failures: 90 days)
    gnomon prune --older-than 7d --dry-run

It prints what it removed, by status, and is audited like every CLI change. The schedulers
prune by the same rules on their own (``GNOMON_PRUNE_INTERVAL``); this is for doing it now,
or with another age. See :mod:`gnomon.retention` for what is never removed.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import typer

from gnomon.cli import audit, output
from gnomon.cli.jobs import open_scheduler
from gnomon.errors import InvalidSpec

if TYPE_CHECKING:
    from gnomon.retention import PruneReport, Retention


def _age(text: str | None, option: str) -> timedelta | None:
    if text is None:
        return None
    from gnomon.triggers.amounts import read_duration

    try:
        return read_duration(text)
    except InvalidSpec as exc:
        raise InvalidSpec(f"{option}: {exc}") from None


def _rules_json(rules: Retention) -> dict[str, Any]:
    return {
        "keep_runs_days": rules.runs_days,
        "keep_failed_days": rules.failed_days,
        "keep_runs_per_job": rules.per_job,
        "keep_events_days": rules.events_days,
    }


def _removed_json(report: PruneReport) -> dict[str, Any]:
    return {"runs": dict(sorted(report.runs.items())), "events": report.events}


def prune(
    older_than: str | None = typer.Option(
        None,
        "--older-than",
        help="Remove runs and events older than this, e.g. 30d, 2w, 12h "
        "(default: GNOMON_KEEP_RUNS_DAYS, GNOMON_KEEP_EVENTS_DAYS).",
    ),
    failed_older_than: str | None = typer.Option(
        None,
        "--failed-older-than",
        help="The age for failed, timed-out and lost runs (default: GNOMON_KEEP_FAILED_DAYS, "
        "and never less than --older-than).",
    ),
    keep_per_job: int | None = typer.Option(
        None,
        "--keep-per-job",
        help="Keep at most this many runs per job, 0 for no limit "
        "(default: GNOMON_KEEP_RUNS_PER_JOB).",
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Only count what would be removed; remove nothing."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Remove old runs and events now (unfinished runs, each job's last run, events a sink
    has not delivered and the audit log are always kept)."""
    from gnomon import service

    ages = _age(older_than, "--older-than"), _age(failed_older_than, "--failed-older-than")
    with open_scheduler() as scheduler:
        rules = service.retention_rules(
            scheduler, older_than=ages[0], failed_older_than=ages[1], keep_per_job=keep_per_job
        )
        report = service.prune(scheduler, rules, dry_run=dry_run)
        database = service.database_url(scheduler)
        if not dry_run:
            diff = {"rules": _rules_json(rules), "removed": _removed_json(report)}
            audit.record_on(scheduler, "history.prune", "history", diff)
    if as_json:
        output.print_json(
            {
                "database": database,
                "dry_run": dry_run,
                "rules": _rules_json(rules),
                **_removed_json(report),
            }
        )
        return
    _show(report, rules, database, dry_run)


def _show(report: PruneReport, rules: Retention, database: str, dry_run: bool) -> None:
    from rich.table import Table

    verb = "would remove" if dry_run else "removed"
    if not report.total_runs and not report.events:
        output.console.print(f"nothing to remove from {database} ({rules.describe()})")
        return
    table = Table(title=f"{verb} from {database}", title_justify="left")
    for column in ("history", "status", "count"):
        table.add_column(column)
    for status, count in sorted(report.runs.items()):
        table.add_row("runs", status, f"{count:,}")
    if report.events:
        table.add_row("events", "-", f"{report.events:,}")
    output.console.print(table)
    output.console.print(f"{rules.describe()}; the audit log is never pruned")


def register(app: typer.Typer) -> None:
    app.command()(prune)
