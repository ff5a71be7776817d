"""Job commands: add, list, info, pause, resume, cancel, trigger, history."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import typer

from gnomon.cli import audit, output
from gnomon.cli.job_options import (
    AS_JSON,
    PAUSED,
    PLACE,
    POLICY,
    location,
    policy_fields,
    with_options,
)
from gnomon.cli.state import state
from gnomon.errors import InvalidSpec

if TYPE_CHECKING:
    from gnomon.models import ActionSpec, Job
    from gnomon.scheduler import Scheduler


def open_scheduler() -> Scheduler:
    from gnomon.scheduler import Scheduler

    return Scheduler(state.db, clock=state.clock)


def _json_arg(text: str | None, what: str, kind: type) -> Any:
    if text is None:
        return kind()
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidSpec(f"{what}: not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(value, kind):
        raise InvalidSpec(f"{what}: must be a JSON {'array' if kind is list else 'object'}")
    return value


@with_options(POLICY, PLACE)
def add(  # noqa: PLR0913 - one parameter per command-line option (Typer)
    spec: str = typer.Argument(..., help="When: 'every 10m', 'in 30 minutes', ISO time, cron."),
    command: list[str] | None = typer.Argument(None, help="With --shell: the command after --."),
    *,
    shell: bool = typer.Option(False, "--shell", help="Run the command given after --."),
    python: str | None = typer.Option(None, "--python", help="Call 'package.module:function'."),
    args: str | None = typer.Option(None, "--args", help="JSON array of arguments (--python)."),
    kwargs: str | None = typer.Option(None, "--kwargs", help="JSON object of keyword arguments."),
    job_id: str | None = typer.Option(None, "--id", help="Job id (default: generated)."),
    name: str | None = typer.Option(None, "--name", help="A name for people."),
    tz: str = typer.Option("UTC", "--tz", help="Time zone of the schedule (IANA name)."),
    paused: bool = PAUSED,
    as_json: bool = AS_JSON,
    **options: Any,
) -> None:
    """Add a job: gnomon add 'every 10m' --shell -- /usr/local/bin/backup.sh --fast"""
    from gnomon import service
    from gnomon.definitions import python as python_action
    from gnomon.definitions import shell as shell_action

    if shell == (python is not None):
        raise InvalidSpec("give exactly one action: --shell -- COMMAND…, or --python REF")
    if shell:
        if not command:
            raise InvalidSpec("--shell needs a command after --, e.g. -- echo hello")
        action = shell_action(command)
    else:
        if command:
            raise InvalidSpec(f"unexpected arguments {command!r}; use --args for --python")
        action = python_action(
            python or "", *_json_arg(args, "--args", list), **_json_arg(kwargs, "--kwargs", dict)
        )
    warn_of_missing_program(action)
    with open_scheduler() as scheduler:
        job = create_job(
            scheduler, spec, action, job_id=job_id, name=name, tz=tz, paused=paused, options=options
        )
        database = service.database_url(scheduler)
    output.show_write(
        output.job_json(job), output.job_line(job, "added"), database, as_json=as_json
    )


def warn_of_missing_program(action: ActionSpec) -> None:
    """A shell action whose program this machine lacks is a warning, not an error: the job
    may run on a worker that has it."""
    if action.kind != "shell":
        return
    from gnomon.actions.shell import missing_program

    if (problem := missing_program(list(action.config["argv"]))) is not None:
        output.warn(f"{problem}: the job will fail unless it runs where the program is")


def create_job(
    scheduler: Scheduler,
    spec: str,
    action: ActionSpec,
    *,
    job_id: str | None,
    name: str | None,
    tz: str,
    paused: bool,
    options: dict[str, Any],
) -> Job:
    """Store a new job with the policy and place given in ``options``; audit it."""
    job = scheduler.add(
        spec,
        action,
        id=job_id,
        name=name,
        tz=tz,
        paused=paused,
        location=location(options),
        **policy_fields(options),
    )
    audit.record(scheduler, "job.create", job.id, {"after": audit.summary(job)})
    return job


def list_jobs(
    state_filter: str | None = typer.Option(None, "--state", help="active | paused | done"),
    search: str | None = typer.Option(
        None, "--search", help="Part of an id, name or action (command, URL, topic…), any case."
    ),
    limit: int = typer.Option(100, "--limit", min=1),
    show_all: bool = typer.Option(
        False, "--all", help="Also removed jobs: id, name, when removed, last run."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List jobs as systemctl list-timers does: next fire, time left, last run and result."""
    from gnomon import service
    from gnomon.cli import timing
    from gnomon.models import JobState

    try:
        wanted = None if state_filter is None else JobState(state_filter)
    except ValueError:
        raise InvalidSpec(f"--state: {state_filter!r} is not active, paused or done") from None
    with open_scheduler() as scheduler:
        now = scheduler.clock.now()
        found = service.jobs_with_last_runs(scheduler, state=wanted, search=search, limit=limit)
        removed = service.removed_jobs(scheduler, search=search, limit=limit) if show_all else []
    if as_json:
        live = [timing.timer_json(job, run, now) for job, run in found]
        output.print_json(live + [timing.removed_json(r) for r in removed])
        return
    if not found and not removed:
        output.console.print("no jobs" if wanted is None and not search else "no matching jobs")
    if found:
        output.console.print(timing.timers_table(found, now))
    if removed:
        output.console.print(timing.removed_table(removed))


def info(
    job_id: str = typer.Argument(..., help="Job id."),
    count: int = typer.Option(5, "--next", help="How many upcoming fires to show."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show one job: its schedule, action, policy and next fires."""
    from gnomon.triggers.base import next_fires

    with open_scheduler() as scheduler:
        job = scheduler.get(job_id)
        runs = scheduler.runs(job_id, limit=5)
        upcoming = next_fires(job.trigger, scheduler.clock.now(), count) if job.next_fire_at else []
    data = output.job_json(job)
    data["upcoming"] = [output.when(f) for f in upcoming]
    if as_json:
        data["recent_runs"] = [output.run_json(r) for r in runs]
        output.print_json(data)
        return
    for key in ("id", "name", "when", "state", "next_fire_at"):
        output.console.print(f"[bold]{key}[/]: {data[key]}")
    output.console.print(f"[bold]action[/]: {json.dumps(data['action'])}")
    output.console.print(f"[bold]policy[/]: {json.dumps(data['policy'])}")
    output.console.print(f"[bold]upcoming[/]: {', '.join(data['upcoming']) or '-'}")
    output.console.print(output.runs_table(runs, "recent runs"))


def pause(job_id: str = typer.Argument(...), as_json: bool = AS_JSON) -> None:
    """Pause a job: no fires until resumed."""
    from gnomon import service

    with open_scheduler() as scheduler:
        job = scheduler.pause(job_id)
        audit.record(scheduler, "job.pause", job_id)
        database = service.database_url(scheduler)
    output.show_write(output.job_json(job), f"paused {job_id}", database, as_json=as_json)


def resume(job_id: str = typer.Argument(...), as_json: bool = AS_JSON) -> None:
    """Resume a paused job from now (fires during the pause are not caught up)."""
    from gnomon import service

    with open_scheduler() as scheduler:
        job = scheduler.resume(job_id)
        audit.record(scheduler, "job.resume", job_id)
        database = service.database_url(scheduler)
    line = f"resumed {job_id}; next fire {output.when(job.next_fire_at)}"
    output.show_write(output.job_json(job), line, database, as_json=as_json)


def cancel(
    job_ids: list[str] = typer.Argument(..., help="One or more job ids."),
    as_json: bool = AS_JSON,
) -> None:
    """Remove jobs: no more fires; pending runs cancelled; history kept."""
    from gnomon import service

    with open_scheduler() as scheduler:
        database = service.database_url(scheduler)
        for job_id in job_ids:
            before = audit.summary(scheduler.get(job_id))
            scheduler.remove(job_id)
            audit.record(scheduler, "job.remove", job_id, {"before": before})
            if not as_json:
                output.console.print(f"cancelled {job_id}")
    if as_json:
        output.print_json({"cancelled": job_ids})
    output.wrote_to(database)


def trigger(job_id: str = typer.Argument(...), as_json: bool = AS_JSON) -> None:
    """Run a job now, outside its schedule (a running `gnomon up` executes it)."""
    from gnomon import service

    with open_scheduler() as scheduler:
        run = scheduler.trigger(job_id)
        audit.record(scheduler, "job.trigger", job_id, {"run_id": run.id})
        database = service.database_url(scheduler)
    line = f"triggered {job_id}: run {run.id} is due now"
    output.show_write(output.run_json(run), line, database, as_json=as_json)


def history(
    job_id: str = typer.Argument(...),
    limit: int = typer.Option(20, "--limit", min=1),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show a job's runs, newest first: when each started (in the job's zone), how late, how
    long, and whether it was lost and run again. A removed job's runs are kept."""
    from gnomon.cli import runs_cmd, timing

    with open_scheduler() as scheduler:
        runs = runs_cmd.find(scheduler, [], job_id, limit)
        removed = runs_cmd.known_job(scheduler, job_id, has_history=bool(runs))
        title = f"runs of {job_id}"
        if removed is not None:
            title += f" (removed {timing.local(removed.removed_at, removed.zone)})"
        runs_cmd.show_runs(scheduler, runs, title, jobs=False, as_json=as_json)


def register(app: typer.Typer) -> None:
    app.command()(add)
    app.command("list")(list_jobs)
    app.command()(info)
    app.command()(pause)
    app.command()(resume)
    app.command()(cancel)
    app.command()(trigger)
    app.command()(history)
