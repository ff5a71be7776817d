"""How the CLI shows when things run, as ``systemctl list-timers`` does: the next fire and
the time left until it, the last run and its outcome, and of each run when it started (in
its job's zone), how late and for how long. Pure formatting: the commands read, this shows.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gnomon.cli import output
from gnomon.models import Job, JobState, Run, RunStatus
from gnomon.redaction import redact_text

if TYPE_CHECKING:
    from rich.table import Table

    from gnomon.service import RemovedJob

UNITS = (("d", 86400), ("h", 3600), ("min", 60), ("s", 1))
NO_RUNS = "no runs yet"


def zone_of(job: Job) -> str:
    """The job's time zone: its schedule's (an interval has none: UTC)."""
    return str(getattr(job.trigger, "tz", "UTC"))


def local(value: datetime | None, zone: str) -> str:
    """``2026-03-02 09:00:00 CET``: an instant in ``zone``, named by its abbreviation."""
    if value is None:
        return "-"
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):  # a removed job's zone no longer known
        tz = ZoneInfo("UTC")
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %Z")


def span(seconds: float) -> str:
    """A duration as systemd writes it, to the two largest units: ``4min 12s``, ``1h 3min``,
    ``2d 5h``; under a minute ``42s``, under ten seconds ``4.2s``, under one ``120ms``."""
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 10:
        return f"{seconds:.1f}s"
    whole, parts = round(seconds), []
    for unit, size in UNITS:
        if whole >= size:
            parts.append(f"{whole // size}{unit}")
            whole %= size
        if len(parts) == 2 or (parts and whole == 0):
            break
    return " ".join(parts)


def left(job: Job, now: datetime) -> str:
    """The time left until the job's next fire; ``overdue …`` when no scheduler recorded it
    yet; ``paused`` or ``done`` when there is none."""
    if job.next_fire_at is None:
        return job.state.value if job.state is not JobState.ACTIVE else "-"
    seconds = (job.next_fire_at - now).total_seconds()
    return span(seconds) if seconds >= 0 else f"overdue {span(-seconds)}"


def last_at(run: Run | None) -> datetime | None:
    """When the run last happened: its start, or its end for one that never started
    (missed, skipped, cancelled)."""
    if run is None:
        return None
    return run.started_at or run.finished_at


def late(run: Run) -> float | None:
    """Seconds from the fire's scheduled time to the start (a retry counts its backoff)."""
    if run.started_at is None:
        return None
    return max((run.started_at - run.scheduled_for).total_seconds(), 0.0)


def took(run: Run) -> float | None:
    if run.started_at is None or run.finished_at is None:
        return None
    return (run.finished_at - run.started_at).total_seconds()


def _seconds(value: float | None) -> str:
    return "-" if value is None else span(value)


def loss_note(run: Run, losses: int) -> str:
    """``lost 1x, re-run``: the run's worker vanished and the run was put back to run again
    (its outcome is the re-run's); ``lost 4x`` for one dead-lettered."""
    if not losses:
        return ""
    return f"lost {losses}x" + ("" if run.status is RunStatus.LOST else ", re-run")


def note(run: Run, losses: int) -> str:
    """What to know of the run: its losses, then its error (masked)."""
    parts = [loss_note(run, losses), redact_text(run.error or "")]
    return "; ".join(p for p in parts if p)


def _table(title: str, columns: tuple[str, ...]) -> Table:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def timers_table(found: list[tuple[Job, Run | None]], now: datetime) -> Table:
    """Jobs as ``systemctl list-timers`` shows timers, times in each job's zone."""
    table = _table(
        f"{len(found)} job(s)", ("id", "name", "schedule", "next", "left", "last", "result")
    )
    for job, run in found:
        zone = zone_of(job)
        table.add_row(
            job.id,
            redact_text(job.name),
            job.trigger.describe(),
            local(job.next_fire_at, zone),
            left(job, now),
            local(last_at(run), zone),
            "-" if run is None else output.status_text(run.status),
        )
    return table


def removed_table(removed: list[RemovedJob]) -> Table:
    """Removed jobs, times in each job's zone."""
    table = _table(
        f"{len(removed)} removed job(s)", ("id", "name", "schedule", "removed", "last", "result")
    )
    for job in removed:
        run = job.last_run
        table.add_row(
            job.id,
            redact_text(job.name),
            job.when or "-",
            local(job.removed_at, job.zone),
            local(last_at(run), job.zone),
            "-" if run is None else output.status_text(run.status),
        )
    return table


def history_table(
    found: list[Run], zones: dict[str, str], losses: dict[int, int], title: str, *, jobs: bool
) -> Table:
    """Runs, newest first, times in each job's zone (``zones``, UTC if absent); with ``jobs``
    a column names each run's job."""
    columns: tuple[str, ...] = ("run", "job") if jobs else ("run",)
    columns += ("scheduled for", "started", "late", "took", "attempt", "status", "note")
    table = _table(title, columns)
    for run in found:
        zone = zones.get(run.job_id, "UTC")
        cells = [str(run.id), *([run.job_id] if jobs else [])]
        table.add_row(
            *cells,
            local(run.scheduled_for, zone),
            local(run.started_at, zone),
            _seconds(late(run)),
            _seconds(took(run)),
            str(run.attempt),
            output.status_text(run.status),
            note(run, losses.get(run.id, 0)),
        )
    return table


def run_json(run: Run, losses: dict[int, int]) -> dict[str, Any]:
    """The run's view (:func:`gnomon.views.run_view`) with its lateness and duration
    (seconds) and how often it was lost (its worker vanished) and run again."""
    data = output.run_json(run)
    data.update(late_seconds=late(run), took_seconds=took(run), losses=losses.get(run.id, 0))
    return data


def timer_json(job: Job, run: Run | None, now: datetime) -> dict[str, Any]:
    """The job's view with its last run and the seconds left until its next fire."""
    from gnomon.views import run_view

    data = output.job_json(job)
    data["left_seconds"] = (
        None if job.next_fire_at is None else (job.next_fire_at - now).total_seconds()
    )
    data["last_run"] = None if run is None else run_view(run, detail=False)
    return data


def removed_json(job: RemovedJob) -> dict[str, Any]:
    from gnomon.instants import iso
    from gnomon.views import run_view

    return {
        "id": job.id,
        "name": redact_text(job.name),
        "when": job.when,
        "tz": job.zone,
        "action": {"kind": job.action},
        "state": "removed",
        "removed_at": iso(job.removed_at),
        "last_run": None if job.last_run is None else run_view(job.last_run, detail=False),
    }
