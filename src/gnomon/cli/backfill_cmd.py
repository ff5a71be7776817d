"""``gnomon backfill ID --from T --to T [--dry-run]``: run a job's past fires now.

    gnomon backfill report --from 2026-03-01 --to 2026-03-08            # the job's zone
    gnomon backfill report --from 2026-03-01T00:00Z --to 2026-03-02T00:00Z --dry-run

Each fire of the job in ``[--from, --to)`` (a past range) is recorded as a run due now (reason
``backfill``); a fire already in the history is left alone. The same use case as the API's
``POST /api/v1/jobs/{id}/backfill`` (:func:`gnomon.service.backfill`), with its limits: at most
``--max-fires`` fires (100; up to :data:`gnomon.limits.MAX_BACKFILL_FIRES`).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import typer

from gnomon import limits
from gnomon.cli import audit, output
from gnomon.cli.job_options import AS_JSON
from gnomon.cli.jobs import open_scheduler
from gnomon.errors import InvalidSpec

if TYPE_CHECKING:
    from gnomon import service

OPTION_OF = {"start": "--from", "end": "--to", "max_fires": "--max-fires"}  # service's words


def backfill(
    job_id: str = typer.Argument(..., help="The job whose past fires to run."),
    *,
    start: str = typer.Option(
        ..., "--from", help="ISO time: fires at or after it (no offset: the job's zone)."
    ),
    end: str = typer.Option(..., "--to", help="ISO time, not after now: fires before it."),
    max_fires: int = typer.Option(
        100,
        "--max-fires",
        help=f"Refuse a range holding more (at most {limits.MAX_BACKFILL_FIRES}).",
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only list the fires; record nothing."),
    as_json: bool = AS_JSON,
) -> None:
    """Record a job's fires in a past range as runs due now (a running `gnomon up` runs them)."""
    from gnomon import service

    if not 1 <= max_fires <= limits.MAX_BACKFILL_FIRES:
        raise InvalidSpec(f"--max-fires: {max_fires} must be from 1 to {limits.MAX_BACKFILL_FIRES}")
    with open_scheduler() as scheduler:
        zone = str(getattr(scheduler.get(job_id).trigger, "tz", "UTC"))
        since, until = _instant(start, "--from", zone), _instant(end, "--to", zone)
        database = service.database_url(scheduler)
        try:
            if dry_run:
                fires = service.backfill_fires(scheduler, job_id, since, until, max_fires=max_fires)
            else:
                done = service.backfill(scheduler, job_id, since, until, max_fires=max_fires)
        except InvalidSpec as exc:  # its message starts with the service's name of the input
            raise InvalidSpec(_in_cli_words(str(exc))) from None
        if not dry_run:
            runs = {"runs": [r.id for r in done.runs]}
            diff = {"start": since.isoformat(), "end": until.isoformat(), **runs}
            audit.record(scheduler, "job.backfill", job_id, diff)
    data, text = _dry_run_view(job_id, fires) if dry_run else _done_view(job_id, done)
    output.show_write(data, text, database, as_json=as_json)


def _instant(text: str, option: str, zone: str) -> datetime:
    """An ISO 8601 time; one without an offset is read in ``zone`` (the job's)."""
    from gnomon.triggers.wallclock import instants_for
    from gnomon.triggers.zones import zone as zone_info

    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidSpec(f"{option} {text!r} is not an ISO 8601 date or date-time") from None
    if value.tzinfo is None:
        value = instants_for(value, zone_info(zone), fixed=True)[0]
    try:
        return limits.check_instant(value, option)
    except ValueError as exc:
        raise InvalidSpec(str(exc)) from None


def _in_cli_words(message: str) -> str:
    name, sep, rest = message.partition(":")
    return f"{OPTION_OF[name]}:{rest}" if sep and name in OPTION_OF else message


def _dry_run_view(job_id: str, fires: list[datetime]) -> tuple[dict[str, Any], str]:
    """The fires a backfill would record: as JSON, and for people."""
    listed = [output.when(f) for f in fires]
    data = {"job_id": job_id, "dry_run": True, "fires": listed}
    if not fires:
        return data, f"no fire of {job_id} in that range"
    head = f"would record {len(fires)} fire(s) of {job_id} (any already in its history stays):"
    return data, "\n  ".join([head, *listed])


def _done_view(job_id: str, done: service.Backfill) -> tuple[dict[str, Any], str]:
    """The runs a backfill recorded: as JSON, and for people."""
    data = {
        "job_id": job_id,
        "runs": [output.run_json(r) for r in done.runs],
        "already_recorded": done.already_recorded,
    }
    head = (
        f"backfilled {job_id}: {len(done.runs)} run(s) recorded, due now; "
        f"{done.already_recorded} fire(s) already in its history"
    )
    runs = [f"run {run.id} for {output.when(run.scheduled_for)}" for run in done.runs]
    return data, "\n  ".join([head, *runs])


def register(app: typer.Typer) -> None:
    app.command()(backfill)
