"""``gnomon update ID [options]``: change a job's schedule, action, policy or name.

    gnomon update backup --when "every 5m"
    gnomon update backup --when "0 3 * * *" --tz Europe/Berlin --retries 2 --timeout 600
    gnomon update hook --kind http --url https://example.org/new --method POST
    gnomon update standup --python myapp.tasks:standup2 --name "Stand-up"

Only what is given changes; the rest stays. A new schedule takes effect from now (the next
fire is computed again; a paused job stays paused). The options are those of ``gnomon add``
and ``gnomon schedule`` (:mod:`gnomon.cli.job_options`, :data:`gnomon.cli.schedule.ACTION`),
and the change is checked and stored by :meth:`gnomon.Scheduler.update`, as the API's
``PATCH /api/v1/jobs/{id}`` does: bad input is one error line and nothing changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from gnomon.cli import audit, output
from gnomon.cli.job_options import AS_JSON, PLACE, POLICY, location, policy_fields, with_options
from gnomon.cli.jobs import open_scheduler, warn_of_missing_program
from gnomon.cli.schedule import ACTION, KIND_HELP, build_action
from gnomon.errors import InvalidSpec

if TYPE_CHECKING:
    from gnomon.models import ActionSpec


@with_options(ACTION, POLICY, PLACE)
def update(  # noqa: PLR0913 - one parameter per command-line option (Typer)
    job_id: str = typer.Argument(..., help="The job to change."),
    command: list[str] | None = typer.Argument(None, help="--shell: the command after --."),
    *,
    when: str | None = typer.Option(None, "--when", help="New schedule, from now."),
    tz: str | None = typer.Option(None, "--tz", help="Zone of the new schedule (with --when)."),
    name: str | None = typer.Option(None, "--name", help="A new name for people."),
    kind: str | None = typer.Option(None, "--kind", help=f"New action: {KIND_HELP}"),
    shell: bool = typer.Option(False, "--shell", help="New action: the command after --."),
    python: str | None = typer.Option(None, "--python", help="New action: call this function."),
    as_json: bool = AS_JSON,
    **options: Any,
) -> None:
    """Change a job: its schedule, action, policy or name (the rest stays)."""
    from gnomon import service

    action = _new_action(kind, shell, python, command, options)
    if action is not None:
        warn_of_missing_program(action)
    place = location(options)
    if when is None and (tz is not None or place is not None):
        raise InvalidSpec(f"{'--tz' if tz else '--lat/--lon'}: give --when too to change it")
    policy = policy_fields(options)
    if when is None and action is None and name is None and not policy:
        raise InvalidSpec("nothing to change: give --when, --name, an action or a policy option")
    with open_scheduler() as scheduler:
        before = scheduler.get(job_id)
        job = scheduler.update(
            job_id, when=when, tz=tz, location=place, action=action, name=name, **policy
        )
        audit.record(scheduler, "job.update", job_id, audit.changes(before, job))
        database = service.database_url(scheduler)
    output.show_write(
        output.job_json(job), output.job_line(job, "updated"), database, as_json=as_json
    )


def _new_action(
    kind: str | None,
    shell: bool,
    python: str | None,
    command: list[str] | None,
    options: dict[str, Any],
) -> ActionSpec | None:
    """The new action, if one is given (``--kind``, ``--shell`` or ``--python``; an action
    is replaced as a whole, so an action option alone is refused rather than ignored)."""
    chosen = [c for c in (kind and "--kind", shell and "--shell", python and "--python") if c]
    if len(chosen) > 1:
        raise InvalidSpec(f"give one new action, not {' and '.join(chosen)}")
    if shell:
        return build_action("shell", command, options)
    if python is not None:
        return build_action("python", command, {**options, "ref": python})
    if kind is not None:
        return build_action(kind, command, options)
    given = [
        f"--{p.name.replace('_', '-')}" for p in ACTION if options[p.name] != p.default.default
    ]
    if command:
        given.append("a command after --")
    if given:
        raise InvalidSpec(
            f"{', '.join(given)}: give the new action's kind too (--kind, --shell or --python); "
            "an action is replaced as a whole"
        )
    return None


def register(app: typer.Typer) -> None:
    app.command(context_settings={"allow_interspersed_args": True})(update)
