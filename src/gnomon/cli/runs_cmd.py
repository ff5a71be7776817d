"""``gnomon runs``: the runs of every job, newest first, filtered by status and job; and what
``gnomon history`` shares with it (the zones runs are shown in, a job known or removed)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import typer

from gnomon.cli import output, timing
from gnomon.cli.jobs import open_scheduler
from gnomon.errors import InvalidSpec
from gnomon.models import Run, RunStatus

if TYPE_CHECKING:
    from gnomon.scheduler import Scheduler
    from gnomon.service import RemovedJob

STATUSES = ", ".join(s.value for s in RunStatus)


def statuses(given: Sequence[str]) -> list[RunStatus]:
    """``--status`` values (repeated or comma-separated); :class:`InvalidSpec` names a bad one."""
    found: list[RunStatus] = []
    for text in (part.strip() for value in given for part in value.split(",")):
        try:
            found.append(RunStatus(text))
        except ValueError:
            raise InvalidSpec(f"--status: {text!r} is not one of {STATUSES}") from None
    return found


def zones(scheduler: Scheduler, job_ids: Sequence[str]) -> dict[str, str]:
    """The time zone of each of these jobs, stored or removed (two queries at most)."""
    from gnomon import service

    found = {i: timing.zone_of(j) for i, j in service.jobs_by_id(scheduler, job_ids).items()}
    missing = sorted(set(job_ids) - set(found))
    if missing:
        removed = service.removed_jobs(scheduler, job_ids=missing, limit=len(missing))
        found |= {r.id: r.zone for r in removed}
    return found


def known_job(scheduler: Scheduler, job_id: str, *, has_history: bool) -> RemovedJob | None:
    """None for a stored job; its removal for a removed one; raises
    :class:`~gnomon.errors.JobNotFound` for an id never seen (one without ``has_history``:
    a removed job's runs outlive its ``job.removed`` event, pruned with the old events)."""
    from gnomon import service
    from gnomon.errors import JobNotFound

    try:
        scheduler.get(job_id)
    except JobNotFound:
        removed = service.removed_job(scheduler, job_id)
        if removed is None and not has_history:
            raise
        return removed
    return None


def show_runs(
    scheduler: Scheduler, found: list[Run], title: str, *, jobs: bool, as_json: bool
) -> None:
    """Runs as a table (times in their jobs' zones, losses noted; with ``jobs`` a column
    names each run's job) or JSON; no runs: one line."""
    from gnomon import service

    losses = service.loss_counts(scheduler, found)
    if as_json:
        output.print_json([timing.run_json(r, losses) for r in found])
    elif not found:
        output.console.print(timing.NO_RUNS)
    else:
        in_zones = zones(scheduler, [r.job_id for r in found])
        output.console.print(timing.history_table(found, in_zones, losses, title, jobs=jobs))


def find(
    scheduler: Scheduler, wanted: list[RunStatus], job_id: str | None, limit: int
) -> list[Run]:
    """Up to ``limit`` runs, newest first, going back page by page (a page of every job's
    runs looks at a bounded range of ids, and may hold fewer)."""
    from gnomon import service

    found: list[Run] = []
    before: int | None = None
    while len(found) < limit:
        page = service.find_runs(
            scheduler, statuses=wanted, job_id=job_id, before_id=before, limit=limit - len(found)
        )
        found += page.runs
        if page.older is None:
            break
        before = page.older
    return found


def runs(
    status: list[str] | None = typer.Option(
        None, "--status", help=f"Only runs in this status (repeat, or comma-separate): {STATUSES}."
    ),
    job_id: str | None = typer.Option(None, "--job", help="Only this job's runs."),
    limit: int = typer.Option(20, "--limit", min=1, help="How many runs."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show runs of every job, newest first: when each started (in its job's zone), how
    late, how long, and its outcome."""
    wanted = statuses(status or [])
    with open_scheduler() as scheduler:
        found = find(scheduler, wanted, job_id, limit)
        if job_id is not None and not found:
            known_job(scheduler, job_id, has_history=bool(find(scheduler, [], job_id, 1)))
        title = f"runs of {job_id}" if job_id else "runs of every job"
        show_runs(scheduler, found, title, jobs=job_id is None, as_json=as_json)


def register(app: typer.Typer) -> None:
    app.command()(runs)
