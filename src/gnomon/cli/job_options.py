"""Options that several job commands share, declared once: a job's policy (``add``,
``schedule``, ``update``) and a solar schedule's place (``--lat``/``--lon``).

:func:`with_options` appends a group of options to a command's signature (Typer reads
``__signature__``); the command receives their values in its ``**options``, and
:func:`policy_fields` / :func:`location` turn them into what :class:`~gnomon.Scheduler` takes.
Every policy option defaults to ``None``, "not given": ``add`` and ``schedule`` then keep the
policy's default, ``update`` the job's current value. The values themselves are checked where
every face's are (:func:`gnomon.definitions.to_policy`), so the CLI and the API refuse alike.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import typer

from gnomon.errors import InvalidSpec

F = TypeVar("F", bound=Callable[..., Any])

MISFIRE_HELP = (
    "Fires missed by more than --grace (downtime): latest runs one for them all (coalesce), "
    "skip runs none, all runs each (at most 100). Default: latest."
)


def option(name: str, kind: Any, *flags: str, help: str, default: Any = None) -> inspect.Parameter:
    """A keyword-only command parameter ``name`` declared as a Typer option."""
    return inspect.Parameter(
        name,
        inspect.Parameter.KEYWORD_ONLY,
        default=typer.Option(default, *flags, help=help),
        annotation=kind,
    )


POLICY: tuple[inspect.Parameter, ...] = (
    option("max_attempts", int | None, "--max-attempts", help="Attempts before giving up (1)."),
    option("retries", int | None, "--retries", help="Retries after a failure: --max-attempts N+1."),
    option("backoff", float | None, "--backoff", help="Seconds before the first retry (1)."),
    option("timeout", float | None, "--timeout", help="Seconds an attempt may take (no limit)."),
    option("misfire", str | None, "--misfire", help=MISFIRE_HELP),
    option("grace", float | None, "--grace", help="Seconds late a fire may still run (60)."),
    option("overlap", str | None, "--overlap", help="allow | skip | queue | replace (allow)."),
    option("jitter", float | None, "--jitter", help="Random delay up to N seconds (0)."),
    option(
        "notify",
        list[str] | None,
        "--notify",
        help="Apprise URL told when a run fails (repeatable; see --notify-on).",
    ),
    option(
        "notify_on",
        list[str] | None,
        "--notify-on",
        help="Outcomes that notify: failed, timed_out, lost (default), succeeded… (repeatable).",
    ),
)
PLACE: tuple[inspect.Parameter, ...] = (
    option("lat", float | None, "--lat", help="Latitude of sunrise/sunset schedules."),
    option("lon", float | None, "--lon", help="Longitude of sunrise/sunset schedules."),
)
PAUSED = typer.Option(False, "--paused", help="Store it paused.")
AS_JSON = typer.Option(False, "--json", help="Print JSON.")

# option name -> Policy field, for the options whose value is the field's as it is
_SAME = ("max_attempts", "backoff", "timeout", "misfire", "grace", "overlap", "jitter")


def with_options(*groups: tuple[inspect.Parameter, ...]) -> Callable[[F], F]:
    """Add ``groups`` of options to a command that takes them in ``**options``."""

    def add(command: F) -> F:
        own = inspect.signature(command).parameters.values()
        params = [p for p in own if p.kind is not inspect.Parameter.VAR_KEYWORD]
        params += [p for group in groups for p in group]
        command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        return command

    return add


def policy_fields(options: Mapping[str, Any]) -> dict[str, Any]:
    """The :class:`~gnomon.models.Policy` fields given on the command line (not checked yet)."""
    fields = {key: options[key] for key in _SAME if options.get(key) is not None}
    retries = options.get("retries")
    if retries is not None:
        if "max_attempts" in fields:
            raise InvalidSpec("give --retries or --max-attempts, not both")
        if retries < 0:
            raise InvalidSpec(f"--retries: {retries} must be 0 or more")
        fields["max_attempts"] = retries + 1
    if options.get("notify"):
        fields["notify_urls"] = list(options["notify"])
    if options.get("notify_on"):
        fields["notify_on"] = list(options["notify_on"])
    return fields


def location(options: Mapping[str, Any]) -> tuple[float, float] | None:
    """``(--lat, --lon)``, or None when neither is given."""
    lat, lon = options.get("lat"), options.get("lon")
    if (lat is None) != (lon is None):
        raise InvalidSpec("give both --lat and --lon, or neither")
    return None if lat is None or lon is None else (lat, lon)
