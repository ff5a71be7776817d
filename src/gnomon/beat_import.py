"""Celery beat's ``beat_schedule`` as gnomon jobs that send the same tasks (``celery`` action).

:func:`plan` reads an app's schedule and converts each entry, without touching a database:

==========================================  ==============================================
beat entry's ``schedule``                   gnomon schedule
==========================================  ==============================================
``crontab(...)``                            5-field cron in the app's timezone
``solar(event, lat, lon)``                  solar trigger (``dawn_civil`` → ``dawn``, …)
``timedelta``, a number, ``schedule(...)``  interval (``every N seconds``)
==========================================  ==============================================

``args``, ``kwargs`` and the ``options`` ``queue``, ``priority``, ``expires`` (seconds),
``exchange`` and ``routing_key`` are kept. An entry that cannot be expressed faithfully is
*refused with its reason*, never dropped or approximated: a custom schedule class,
``relative=True``, a crontab restricting both day of month and day of week (Celery requires
both, cron either), an ``expires`` datetime, any other option, arguments that are not JSON.

:func:`apply` stores the plan through a scheduler's public methods, idempotently: an entry's
job id is ``beat-<slug of its name>``, an unchanged entry is left alone, a changed one is
updated.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from gnomon.actions.registry import validate_action
from gnomon.errors import GnomonError, InvalidSpec, JobNotFound
from gnomon.models import ActionSpec
from gnomon.references import resolve
from gnomon.triggers import CronTrigger, IntervalTrigger, Trigger
from gnomon.triggers.solar import SolarTrigger

if TYPE_CHECKING:
    from gnomon.scheduler import Scheduler

SOLAR_EVENTS = {
    "dawn_astronomical": "astronomical_dawn",
    "dawn_nautical": "nautical_dawn",
    "dawn_civil": "dawn",
    "sunrise": "sunrise",
    "solar_noon": "noon",
    "sunset": "sunset",
    "dusk_civil": "dusk",
    "dusk_nautical": "nautical_dusk",
    "dusk_astronomical": "astronomical_dusk",
}
OPTIONS = ("queue", "priority", "expires", "exchange", "routing_key")
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)  # an interval's anchor, to describe it
_CRON_FIELDS = (  # crontab attribute, its full range
    ("minute", range(60)),
    ("hour", range(24)),
    ("day_of_month", range(1, 32)),
    ("month_of_year", range(1, 13)),
    ("day_of_week", range(7)),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Planned:
    """A beat entry converted: the job it becomes."""

    entry: str
    job_id: str
    when: Trigger | timedelta
    action: ActionSpec


@dataclass(frozen=True, slots=True, kw_only=True)
class Refused:
    """A beat entry that cannot be expressed, and why."""

    entry: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Applied:
    """What importing one entry did: ``created``, ``updated``, ``unchanged`` (or, in a dry run,
    ``would create``/``would update``), or ``refused`` with the reason."""

    entry: str
    job_id: str | None
    verdict: str
    schedule: str = ""
    reason: str = ""


def load_app(ref: str) -> Any:
    """The Celery app named ``MODULE:APP``; :class:`InvalidSpec` if it is not one."""
    if ":" not in ref:
        raise InvalidSpec(f"{ref!r}: write the app as MODULE:APP (e.g. myproject.celery:app)")
    app = resolve(ref)
    if not hasattr(app, "conf") or not hasattr(app, "send_task"):
        raise InvalidSpec(f"{ref!r} is not a Celery app")
    return app


def job_id_for(entry: str) -> str:
    slug = re.sub(r"[^a-z0-9_.-]+", "-", entry.lower()).strip("-.") or "entry"
    return f"beat-{slug[:190]}"


def app_timezone(app: Any) -> str | None:
    """The app's IANA zone (``timezone``, else UTC when ``enable_utc``); None: local time."""
    name = app.conf.timezone
    if name:
        return str(getattr(name, "key", name))
    return "UTC" if app.conf.enable_utc else None


def plan(app: Any, target: Mapping[str, Any]) -> list[Planned | Refused]:
    """Every entry of ``app.conf.beat_schedule``, converted or refused, by entry name.

    ``target`` is where the jobs send: ``{"broker": URL}`` or ``{"destination": NAME}``,
    and optionally ``{"backend": URL}``.
    """
    schedule = app.conf.beat_schedule or {}
    tz = app_timezone(app)
    found: list[Planned | Refused] = []
    taken: dict[str, str] = {}
    for entry in sorted(schedule):
        try:
            planned = _convert(entry, schedule[entry], tz, target)
        except InvalidSpec as exc:
            found.append(Refused(entry=entry, reason=str(exc)))
            continue
        if planned.job_id in taken:
            reason = f"its job id {planned.job_id} is also entry {taken[planned.job_id]!r}'s"
            found.append(Refused(entry=entry, reason=reason))
            continue
        taken[planned.job_id] = entry
        found.append(planned)
    return found


def _convert(entry: str, spec: Any, tz: str | None, target: Mapping[str, Any]) -> Planned:
    if not isinstance(spec, Mapping) or not isinstance(spec.get("task"), str):
        raise InvalidSpec("an entry needs 'task' (a task name) and 'schedule'")
    unknown = set(spec) - {"task", "schedule", "args", "kwargs", "options", "relative"}
    if unknown:
        raise InvalidSpec(f"unknown entry field(s) {', '.join(sorted(unknown))}")
    if spec.get("relative"):
        raise InvalidSpec("relative=True (fires rounded to the interval's unit) has no equivalent")
    when = to_schedule(spec.get("schedule"), tz)
    config: dict[str, Any] = {"task": spec["task"], **target}
    config["args"] = list(spec.get("args") or ())
    config["kwargs"] = dict(spec.get("kwargs") or {})
    config.update(_options(spec.get("options") or {}))
    try:
        action = validate_action("celery", config)
    except InvalidSpec as exc:
        raise InvalidSpec(str(exc).removeprefix("celery action: ")) from None
    return Planned(entry=entry, job_id=job_id_for(entry), when=when, action=action)


def _options(options: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(options) - set(OPTIONS)
    if unknown:
        raise InvalidSpec(
            f"option(s) {', '.join(sorted(unknown))} cannot be expressed "
            f"(gnomon sends {', '.join(OPTIONS)})"
        )
    out = dict(options)
    if "expires" in out and not isinstance(out["expires"], int | float):
        raise InvalidSpec("expires must be seconds (a datetime cannot repeat)")
    for key in ("exchange", "routing_key", "queue"):
        value = out.get(key)
        if value is not None and not isinstance(value, str):
            name = getattr(value, "name", None)
            if not isinstance(name, str) or not name:
                raise InvalidSpec(f"{key} {value!r} must be a name")
            out[key] = name
    return out


def to_schedule(schedule: Any, tz: str | None) -> Trigger | timedelta:
    """A beat schedule as a gnomon trigger (an interval as a timedelta)."""
    schedules = importlib.import_module("celery.schedules")  # untyped: imported as Any

    if isinstance(schedule, bool):
        raise InvalidSpec(f"schedule {schedule!r} is not a schedule")
    if isinstance(schedule, int | float):
        return timedelta(seconds=schedule)
    if isinstance(schedule, timedelta):
        return schedule
    if isinstance(schedule, schedules.crontab):
        return _cron(schedule, tz)
    if isinstance(schedule, schedules.solar):
        return SolarTrigger(
            SOLAR_EVENTS[schedule.event],
            float(schedule.lat),
            float(schedule.lon),
            timedelta(0),
            tz or "UTC",
        )
    if type(schedule) is schedules.schedule:
        if schedule.relative:
            raise InvalidSpec(
                "relative=True (fires rounded to the interval's unit) has no equivalent"
            )
        every: timedelta = schedule.run_every
        return every
    raise InvalidSpec(f"schedule class {type(schedule).__name__} cannot be expressed")


def _cron(schedule: Any, tz: str | None) -> CronTrigger:
    if tz is None:
        raise InvalidSpec(
            "the app's timezone is the host's local time (enable_utc=False, no "
            "timezone): set app.conf.timezone to an IANA zone"
        )
    fields = [_cron_field(set(getattr(schedule, name)), full) for name, full in _CRON_FIELDS]
    if fields[2] != "*" and fields[4] != "*":
        raise InvalidSpec(
            "a crontab restricting both day_of_month and day_of_week (Celery "
            "requires both to match, cron either) cannot be expressed"
        )
    return CronTrigger(" ".join(fields), tz)


def _cron_field(values: set[int], full: range) -> str:
    if values >= set(full):
        return "*"
    runs: list[str] = []
    ordered = sorted(values)
    start = prev = ordered[0]
    for value in [*ordered[1:], None]:
        if value is not None and value == prev + 1:
            prev = value
            continue
        runs.append(str(start) if start == prev else f"{start}-{prev}")
        if value is not None:
            start = prev = value
    return ",".join(runs)


def same_schedule(trigger: Trigger, when: Trigger | timedelta) -> bool:
    """Whether a stored job's trigger is the planned one (an interval's phase not compared)."""
    if isinstance(when, timedelta):
        return isinstance(trigger, IntervalTrigger) and trigger.every == when
    return trigger.to_json() == when.to_json()


def describe(when: Trigger | timedelta) -> str:
    if isinstance(when, timedelta):
        return IntervalTrigger(when, _EPOCH).describe()
    return when.describe()


def apply(
    scheduler: Scheduler, found: Iterable[Planned | Refused], *, dry_run: bool = False
) -> list[Applied]:
    """Create or update each planned job (nothing when ``dry_run``); say what happened."""
    done: list[Applied] = []
    for item in found:
        if isinstance(item, Refused):
            done.append(
                Applied(entry=item.entry, job_id=None, verdict="refused", reason=item.reason)
            )
            continue
        try:
            verdict = _apply_one(scheduler, item, dry_run)
        except GnomonError as exc:
            done.append(
                Applied(
                    entry=item.entry,
                    job_id=item.job_id,
                    verdict="refused",
                    schedule=describe(item.when),
                    reason=str(exc),
                )
            )
            continue
        done.append(
            Applied(
                entry=item.entry, job_id=item.job_id, verdict=verdict, schedule=describe(item.when)
            )
        )
    return done


def _apply_one(scheduler: Scheduler, item: Planned, dry_run: bool) -> str:
    try:
        job = scheduler.get(item.job_id)
    except JobNotFound:
        if not dry_run:
            scheduler.add(item.when, item.action, id=item.job_id, name=item.entry)
        return "would create" if dry_run else "created"
    same = (
        same_schedule(job.trigger, item.when)
        and dict(job.action.config) == dict(item.action.config)
        and job.action.kind == item.action.kind
        and job.name == item.entry
    )
    if same:
        return "unchanged"
    if not dry_run:
        when = None if same_schedule(job.trigger, item.when) else item.when
        scheduler.update(item.job_id, when=when, action=item.action, name=item.entry)
    return "would update" if dry_run else "updated"
