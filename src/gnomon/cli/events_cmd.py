"""``gnomon events``: the lifecycle events (a job created, paused, removed; a run started,
succeeded, failed, lost…), newest last, one line each; ``--follow`` keeps printing new ones
as they are recorded, as ``journalctl -f`` does, until Ctrl-C."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import typer

from gnomon.cli import output, timing
from gnomon.cli.jobs import open_scheduler
from gnomon.cli.runs_cmd import known_job, zones
from gnomon.redaction import redact

if TYPE_CHECKING:
    from gnomon.events import Event
    from gnomon.scheduler import Scheduler

BATCH = 500  # events read per poll
NO_EVENTS = "no events yet"


def event_line(event: Event, zone: str) -> str:
    """``2026-03-02 09:00:01 CET  run.succeeded  backup  run 12  attempt=1``: its time in its
    job's zone, its kind, job, run and (masked) data."""
    parts = [timing.local(event.at, zone), event.kind, event.job_id or "-"]
    if event.run_id is not None:
        parts.append(f"run {event.run_id}")
    data = redact(event.data) or {}
    parts += [f"{key}={json.dumps(value, default=str)}" for key, value in sorted(data.items())]
    return "  ".join(parts)


def follow(
    scheduler: Scheduler,
    after: int,
    job_id: str | None,
    show: Callable[[list[Event]], None],
    go_on: Callable[[], bool],
) -> int:
    """Show the events recorded after id ``after`` (of ``job_id``) as they come: poll, show
    what is new, then ask ``go_on`` (which waits the interval) whether to poll again.
    Returns the id of the last event shown (or ``after``)."""
    while True:
        batch = scheduler.events(after_id=after, job_id=job_id, limit=BATCH)
        if batch:
            show(batch)
            after = batch[-1].id or after
        if len(batch) < BATCH and not go_on():
            return after


def pause(seconds: float) -> bool:
    """Wait ``seconds`` between polls (Ctrl-C interrupts it); True: poll again."""
    return not threading.Event().wait(seconds)


def events(
    job_id: str | None = typer.Option(None, "--job", help="Only this job's events."),
    limit: int = typer.Option(20, "--limit", min=1, help="How many of the newest to show."),
    follow_new: bool = typer.Option(
        False, "--follow", "-f", help="Keep printing new events as they are recorded (Ctrl-C)."
    ),
    interval: float = typer.Option(
        1.0, "--interval", min=0.05, max=60.0, help="Seconds between polls with --follow."
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print JSON (with --follow: one object per line)."
    ),
) -> None:
    """Show lifecycle events, newest last; --follow keeps printing new ones until Ctrl-C."""
    from gnomon import service

    with open_scheduler() as scheduler:
        shown = service.latest_events(scheduler, job_id=job_id, limit=limit)
        if job_id is not None and not shown:
            known_job(scheduler, job_id, has_history=False)  # never seen: an error
        show = _printer(scheduler, as_json=as_json)
        if as_json and not follow_new:
            output.print_json([_view(e) for e in shown])
            return
        if shown:
            show(shown)
        elif not follow_new:
            output.console.print(NO_EVENTS)
            return
        if follow_new:
            after = (shown[-1].id or 0) if shown else 0
            try:
                follow(scheduler, after, job_id, show, lambda: pause(interval))
            except KeyboardInterrupt:  # Ctrl-C: the way to stop following, not an error
                return


def _view(event: Event) -> dict[str, Any]:
    from gnomon.views import event_view

    return event_view(event)


def _printer(scheduler: Scheduler, *, as_json: bool) -> Callable[[list[Event]], None]:
    """How a batch of events is printed: JSON lines, or one text line each in its job's
    zone; flushed at once, so a pipe (``| grep``) sees each as it comes."""

    def show(batch: list[Event]) -> None:
        if as_json:
            for event in batch:
                print(json.dumps(_view(event), sort_keys=True), flush=True)  # noqa: T201 - JSON lines, unwrapped
            return
        in_zones = zones(scheduler, sorted({e.job_id for e in batch if e.job_id}))
        for event in batch:
            line = event_line(event, in_zones.get(event.job_id or "", "UTC"))
            output.console.print(line, markup=False, highlight=False, soft_wrap=True)
        output.console.file.flush()

    return show


def register(app: typer.Typer) -> None:
    app.command()(events)
