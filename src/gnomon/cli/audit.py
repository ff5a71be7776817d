"""The audit entries of CLI changes: the same log as the API's and the dashboard's, with the
actor ``cli:<login name>`` and this machine's name as the client."""

from __future__ import annotations

import getpass
import socket
from typing import TYPE_CHECKING, Any

from gnomon.views import job_view

if TYPE_CHECKING:
    from gnomon.models import Job
    from gnomon.scheduler import Scheduler

SUMMARY = ("name", "when", "action", "policy", "state")  # what the API's audit keeps of a job


def actor() -> str:
    """``cli:<login name>`` (``cli:unknown`` when the system cannot name the user)."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry and no LOGNAME/USER
        return "cli:unknown"


def summary(job: Job) -> dict[str, Any]:
    """What the audit log keeps of a job (secrets masked, as in the API's entries)."""
    view = job_view(job)
    return {key: view[key] for key in SUMMARY}


def changes(before: Job, after: Job) -> dict[str, Any]:
    """What an update changed, as the API's ``job.update`` entries keep it: the summary
    fields that differ, ``before`` and ``after``."""
    old, new = summary(before), summary(after)
    keys = [key for key in new if old[key] != new[key]]
    return {"before": {k: old[k] for k in keys}, "after": {k: new[k] for k in keys}}


def record(
    scheduler: Scheduler, action: str, job_id: str, diff: dict[str, Any] | None = None
) -> None:
    """Append ``action`` on ``job:<job_id>`` by this CLI user to the audit log."""
    record_on(scheduler, action, f"job:{job_id}", diff)


def record_on(
    scheduler: Scheduler, action: str, target: str, diff: dict[str, Any] | None = None
) -> None:
    """Append ``action`` on ``target`` (``job:backup``, ``history``) by this CLI user."""
    from gnomon import service

    service.record_audit(
        scheduler,
        actor=actor(),
        action=action,
        target=target,
        client=socket.gethostname(),
        diff=diff,
    )
