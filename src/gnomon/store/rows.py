"""Conversions between domain objects and table rows (JSON text, integer instants)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from gnomon.errors import GnomonError
from gnomon.events import Event
from gnomon.instants import from_micros, to_micros
from gnomon.models import ActionSpec, Job, JobState, Policy, Run, RunReason, RunStatus
from gnomon.search_text import search_text
from gnomon.triggers.base import Trigger, trigger_from_json
from gnomon.triggers.unreadable import UnreadableTrigger


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


@lru_cache(maxsize=8192)
def load_trigger(text: str) -> Trigger:
    """Triggers are immutable, so one parsed object serves every job with the same JSON.

    The cache is kept small on purpose: memory must not grow with the number of jobs. 65,536
    cached interval triggers held 15 MB; 8,192 hold at most ~3 MB (~350 bytes each, with
    their text). A miss costs ~12 us (a JSON parse). Jobs due in turn cycle through the
    cache, so with more distinct triggers than it holds, *every* look-up misses: 4,096
    missed every fire of 5,000 periodic jobs (bench/run.py periodic).

    A trigger that cannot be read comes back as an :class:`UnreadableTrigger`, so one such
    job never stops listing, showing or scheduling the others."""
    data = json.loads(text)
    try:
        return trigger_from_json(data)
    except GnomonError as exc:
        return UnreadableTrigger(data, str(exc))


@lru_cache(maxsize=4096)
def load_policy(text: str) -> Policy:
    return Policy.from_json(json.loads(text))


def policy_text(policy: Policy) -> str:
    """A policy's JSON text; cached, as most jobs share a few policies (asdict is slow)."""
    try:
        return _policy_text(policy)
    except TypeError:  # an unhashable field value (a list where a tuple belongs)
        return dumps(policy.to_json())


@lru_cache(maxsize=4096)
def _policy_text(policy: Policy) -> str:
    return dumps(policy.to_json())


def attempt_data(attempt: int, error: str | None = None) -> str:
    """``dumps({"attempt": attempt, "error": error})`` (no ``error`` key when there is none),
    the data of a run's outcome event, written without encoding the dict: it is written
    once per outcome recorded."""
    head = f'{{"attempt":{int(attempt)}'
    return head + "}" if not error else head + "," + dumps({"error": error})[1:]


def micros(value: datetime | None) -> int | None:
    return None if value is None else to_micros(value)


def instant(value: int | None) -> datetime | None:
    return None if value is None else from_micros(value)


def job_values(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "name": job.name,
        "trigger": dumps(job.trigger.to_json()),
        "action_kind": job.action.kind,
        "action_config": dumps(dict(job.action.config)),
        "policy": policy_text(job.policy),
        "overlap": job.policy.overlap.value,
        "state": job.state.value,
        "next_fire_at": micros(job.next_fire_at),
        "created_at": to_micros(job.created_at),
        "updated_at": to_micros(job.updated_at),
        "search_text": search_text(job),
    }


_STATES = {s.value: s for s in JobState}


def job_from_row(row: Mapping[Any, Any]) -> Job:
    return Job(
        id=row["id"],
        name=row["name"],
        trigger=load_trigger(row["trigger"]),
        action=ActionSpec(kind=row["action_kind"], config=json.loads(row["action_config"])),
        policy=load_policy(row["policy"]),
        state=_STATES.get(row["state"]) or JobState(row["state"]),
        next_fire_at=instant(row["next_fire_at"]),
        created_at=from_micros(row["created_at"]),
        updated_at=from_micros(row["updated_at"]),
    )


_REASONS = {r.value: r for r in RunReason}
_STATUSES = {s.value: s for s in RunStatus}


def run_from_row(row: Mapping[Any, Any]) -> Run:
    # A step reads or writes thousands of these: the instants a run often shares (due when
    # scheduled, started when due) are converted once, and enums are looked up, not called.
    scheduled_us, due_us, started_us = row["scheduled_for"], row["due_at"], row["started_at"]
    scheduled = from_micros(scheduled_us)
    due = scheduled if due_us == scheduled_us else from_micros(due_us)
    reason, status = row["reason"], row["status"]
    return Run(
        id=row["id"],
        job_id=row["job_id"],
        scheduled_for=scheduled,
        due_at=due,
        attempt=row["attempt"],
        reason=_REASONS.get(reason) or RunReason(reason),
        status=_STATUSES.get(status) or RunStatus(status),
        created_at=from_micros(row["created_at"]),
        started_at=due if started_us == due_us else instant(started_us),
        finished_at=instant(row["finished_at"]),
        worker=row["worker"],
        result=None if row["result"] is None else json.loads(row["result"]),
        error=row["error"],
        output=row["output"] or "",
    )


def event_values(event: Event) -> dict[str, Any]:
    return event_row(
        to_micros(event.at),
        event.kind,
        event.job_id,
        event.run_id,
        dumps(event.data) if event.data else None,
    )


def event_row(
    at: int, kind: str, job_id: str | None, run_id: int | None, data: str | None
) -> dict[str, Any]:
    """An event's row from its stored parts (µs, JSON text): for the per-fire and per-outcome
    events, built without an :class:`Event` or encoding a dict (see :func:`attempt_data`)."""
    return {"at": at, "kind": kind, "job_id": job_id, "run_id": run_id, "data": data}


def event_from_row(row: Mapping[Any, Any]) -> Event:
    return Event(
        id=row["id"],
        at=from_micros(row["at"]),
        kind=row["kind"],
        job_id=row["job_id"],
        run_id=row["run_id"],
        data=json.loads(row["data"]) if row["data"] else {},
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class ClaimedRun:
    """A run handed to a worker, with what the runner needs from its job."""

    run: Run
    action: ActionSpec
    policy: Policy


@dataclass(frozen=True, slots=True, kw_only=True)
class FinishedRun:
    """What a worker reports when an attempt ends."""

    run_id: int
    worker: str
    status: RunStatus
    finished_at: datetime
    result: Any = None
    error: str | None = None
    output: str = ""
    retry_due: datetime | None = None
    job_id: str | None = None  # for listeners; the store reads the run's own job_id
