"""Device-module discovery: ``DIR/<device>/tasks.py`` → jobs ``device:<device>:<task>``.

Each module is imported in isolation (its own module name, its folder on ``sys.path`` only
while it loads) and asked for its tasks: ``schedule_tasks(scheduler)`` declares them on a
:class:`~gnomon.devices.planner.DevicePlanner`, or ``schedule_tasks()`` returns a list of
mappings. A module that fails to import, lacks ``schedule_tasks`` or raises is reported with
its name and reason, and its existing jobs are kept untouched; the other devices carry on. A
module that declares an invalid task is reported too, with the task and the reason, but its
good tasks are brought in step (the bad task's existing job, if any, is kept as it was).

Applying a discovery is idempotent: a job whose definition is unchanged is left as it is
(an interval keeps its phase), a changed one is updated in place, a new one added, and the
jobs of a device folder that is gone — or of a task a device no longer declares — removed.
Each device's result is recorded as a ``device.ok`` / ``device.failed`` event, which is what
``gnomon devices status`` shows.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import sys
import traceback
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gnomon import service
from gnomon.definitions import define_job
from gnomon.devices.planner import DevicePlanner, TaskDefinition
from gnomon.errors import GnomonError, JobNotFound
from gnomon.events import Event
from gnomon.models import Job, JobState

if TYPE_CHECKING:
    from gnomon.scheduler import Scheduler

log = logging.getLogger(__name__)
PREFIX = "device:"


@dataclass(slots=True)
class DeviceReport:
    device: str
    ok: bool
    jobs: list[str] = field(default_factory=list)
    error: str | None = None
    changes: dict[str, int] = field(default_factory=dict)


def device_job_id(device: str, task: str) -> str:
    return f"{PREFIX}{device}:{task}"


def _failure(exc: BaseException) -> str:
    if isinstance(exc, GnomonError):
        return str(exc)
    frame = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" ({Path(frame[0].filename).name}:{frame[0].lineno})" if frame else ""
    return f"{type(exc).__name__}: {exc}{where}"


def load_tasks(device: str, path: Path) -> DevicePlanner:
    """Import one device module; the planner holds the tasks it declares and the problems of
    those it could not take (raises when the module itself fails)."""
    spec = importlib.util.spec_from_file_location(f"gnomon_devices.{device}.tasks", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.parent))
    schedule_tasks = getattr(module, "schedule_tasks", None)
    if not callable(schedule_tasks):
        raise AttributeError("tasks.py has no schedule_tasks function")
    location = getattr(module, "LOCATION", None)
    planner = DevicePlanner(
        device,
        tz=getattr(module, "TIMEZONE", "UTC"),
        location=tuple(location) if location else None,
    )
    if schedule_tasks.__code__.co_argcount == 0:
        for item in schedule_tasks() or []:
            planner.add_definition(item)
    else:
        schedule_tasks(planner)
    return planner


def discover(directory: Path) -> dict[str, DevicePlanner | BaseException]:
    """Every device folder's planner (its tasks), or the exception that stopped its module."""
    found: dict[str, DevicePlanner | BaseException] = {}
    for folder in sorted(p for p in directory.iterdir() if p.is_dir()):
        path = folder / "tasks.py"
        if not path.is_file() or folder.name.startswith((".", "_")):
            continue
        try:
            found[folder.name] = load_tasks(folder.name, path)
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                raise
            found[folder.name] = exc
    return found


def _same(old: Job, new: Job) -> bool:
    """Equal definitions; an interval counts as equal when its period is (phase kept)."""
    old_t, new_t = old.trigger.to_json(), new.trigger.to_json()
    if old_t.get("kind") == new_t.get("kind") == "interval":
        old_t.pop("start", None)
        new_t.pop("start", None)
    return (old_t, old.action, old.policy, old.name) == (new_t, new.action, new.policy, new.name)


def _define(device: str, task: TaskDefinition, now: datetime) -> Job:
    return define_job(
        task.when,
        task.action,
        now=now,
        id=device_job_id(device, task.name),
        name=f"{device}: {task.name}",
        tz=task.tz,
        location=task.location,
        **task.options,
    )


def apply_discovery(scheduler: Scheduler, directory: str | Path) -> list[DeviceReport]:
    """Discover ``directory`` and bring the ``device:*`` jobs in step with it."""
    folder = Path(directory)
    if not folder.is_dir():
        raise GnomonError(f"devices directory {str(folder)!r} does not exist")
    now = scheduler.clock.now()
    found = discover(folder)
    existing = {j.id: j for j in _device_jobs(scheduler)}
    reports: list[DeviceReport] = []
    for device, planner in found.items():
        report = DeviceReport(device, ok=False)
        if isinstance(planner, BaseException):
            report.error = _failure(planner)
            log.info("device %s: %s", device, report.error)
            reports.append(report)
            continue
        wanted, problems = [], list(planner.problems)
        for task in planner.tasks:
            try:
                wanted.append(_define(device, task, now))
            except Exception as exc:  # a bad task: reported, the others carry on
                problems.append((task.name, _failure(exc)))
        # A bad task's job, if one exists from before, is kept as it was (not removed).
        untouched = {device_job_id(device, name) for name, _ in problems if name is not None}
        report.jobs = [job.id for job in wanted]
        report.changes = _sync(scheduler, device, wanted, existing, now, untouched)
        report.ok = not problems
        if problems:
            report.error = "; ".join(reason for _, reason in problems)
            log.info("device %s: %s", device, report.error)
        reports.append(report)
    gone = {i for i in existing if i.split(":")[1] not in found}
    for job_id in sorted(gone):
        _remove(scheduler, job_id)
    _record(scheduler, reports, now)
    return reports


def _device_jobs(scheduler: Scheduler) -> list[Job]:
    return service.jobs_under(scheduler, PREFIX)


def _sync(
    scheduler: Scheduler,
    device: str,
    wanted: list[Job],
    existing: dict[str, Job],
    now: datetime,
    untouched: set[str],
) -> dict[str, int]:
    changes = {"added": 0, "updated": 0, "unchanged": 0, "removed": 0}
    for job in wanted:
        old = existing.get(job.id)
        if old is None:
            scheduler.add_many([job])
            changes["added"] += 1
        elif _same(old, job):
            changes["unchanged"] += 1
        else:
            paused = old.state is JobState.PAUSED
            kept = replace(
                job,
                created_at=old.created_at,
                state=old.state,
                next_fire_at=None if paused else job.next_fire_at,
            )
            service.replace_job(scheduler, kept, by="device discovery", at=now)
            changes["updated"] += 1
    keep = {job.id for job in wanted} | untouched
    for job_id in existing:
        if job_id.startswith(device_job_id(device, "")) and job_id not in keep:
            _remove(scheduler, job_id)
            changes["removed"] += 1
    return changes


def _remove(scheduler: Scheduler, job_id: str) -> None:
    with contextlib.suppress(JobNotFound):  # removed meanwhile: the goal is reached
        scheduler.remove(job_id)


def _record(scheduler: Scheduler, reports: list[DeviceReport], now: datetime) -> None:
    events = [
        Event(
            kind="device.ok" if r.ok else "device.failed",
            at=now,
            job_id=None,
            data={"device": r.device, "jobs": r.jobs, "error": r.error, **r.changes},
        )
        for r in reports
    ]
    service.record_events(scheduler, events)


def device_status(scheduler: Scheduler, scan: int = 50_000) -> list[dict[str, Any]]:
    """The latest discovery result of every device, from the newest ``scan`` events."""
    latest: dict[str, dict[str, Any]] = {}
    events = service.newest_events(scheduler, scan)
    for event in events:
        if event.kind in ("device.ok", "device.failed"):
            latest.setdefault(
                event.data["device"],
                {**event.data, "ok": event.kind == "device.ok", "at": event.at},
            )
    return [latest[k] for k in sorted(latest)]


REPLAN_JOB = "devices:replan"


def schedule_replanning(
    scheduler: Scheduler, directory: str | Path, *, database: str | None = None
) -> None:
    """Keep a daily job (00:05 UTC) that applies discovery again; also run it now.

    ``database``: the database the job opens (``gnomon up --db``); by default the one the
    settings name where it runs (``GNOMON_DATABASE_URL``)."""
    from gnomon.definitions import python

    folder = str(Path(directory).resolve())
    action = python(replan, folder) if database is None else python(replan, folder, database)
    scheduler.add(
        "5 0 * * *",
        action,
        id=REPLAN_JOB,
        name=f"re-plan devices in {folder}",
        replace_existing=True,
    )


def replan(directory: str, database: str | None = None) -> dict[str, Any]:
    """The daily re-planning job (a ``python`` action): apply discovery again.

    ``database`` defaults to the settings' (``GNOMON_DATABASE_URL``); ``gnomon up --db``
    passes its own in the job's arguments.
    """
    from gnomon.scheduler import Scheduler

    with Scheduler(database) as scheduler:
        reports = apply_discovery(scheduler, directory)
    return {r.device: ("ok" if r.ok else r.error) for r in reports}
