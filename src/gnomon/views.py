"""One JSON view of a Job, a Run and an Event, with every secret masked.

The CLI's ``--json``, the REST API's bodies (its pydantic schemas are built from these dicts)
and the SSE event stream all show these views, so one object reads the same everywhere and a
secret masked in one face is masked in all. Each view names its fields explicitly (a new field
of the domain object is not shown until added here) and is ready for :func:`json.dumps`:
instants are ISO 8601 UTC strings with a ``Z`` (:func:`gnomon.instants.iso`), enums their
values.

Masking: the action config's secret-looking keys and the kind's own ``secret_fields``; a
policy's ``notify_urls`` (apprise URLs carry credentials in every part) show only their scheme;
names, errors, output, results and event data through :mod:`gnomon.redaction`.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from gnomon.errors import InvalidAction
from gnomon.events import Event
from gnomon.instants import iso
from gnomon.models import ActionSpec, Job, Misfire, Overlap, Policy, Run
from gnomon.redaction import redact, redact_text


def _instant(value: datetime | None) -> str | None:
    return None if value is None else iso(value)


def action_config(action: ActionSpec) -> dict[str, Any]:
    """The config with secret-looking keys and the kind's own secret fields masked."""
    from gnomon.actions.registry import get_action  # not at import: ``gnomon next`` starts fast

    try:
        extra = get_action(action.kind).secret_fields
    except InvalidAction:
        extra = frozenset()
    config: dict[str, Any] = redact(dict(action.config), extra)
    return config


def policy_view(policy: Policy) -> dict[str, Any]:
    """The policy; notification URLs carry credentials, so only their scheme is shown."""
    return dict(_policy_view(policy))


@lru_cache(maxsize=1024)
def _policy_view(policy: Policy) -> dict[str, Any]:
    # Policies are frozen and few distinct ones exist: a page of jobs shares them.
    data: dict[str, Any] = redact(policy.to_json())
    urls = data.get("notify_urls")
    if isinstance(urls, list):
        data["notify_urls"] = [f"{str(u).split('://', 1)[0]}://***" for u in urls]
    return data


def job_view(job: Job) -> dict[str, Any]:
    """A job: id, name, schedule (described and as stored), masked action and policy, state
    and times."""
    return {
        "id": job.id,
        "name": redact_text(job.name),
        "when": job.trigger.describe(),
        "trigger": job.trigger.to_json(),  # schedules hold no secrets
        "action": {"kind": job.action.kind, "config": action_config(job.action)},
        "policy": policy_view(job.policy),
        "state": job.state.value,
        "next_fire_at": _instant(job.next_fire_at),
        "created_at": iso(job.created_at),
        "updated_at": iso(job.updated_at),
    }


def run_view(run: Run, *, detail: bool = True) -> dict[str, Any]:
    """A run; with ``detail`` also its ``result`` and captured ``output`` (both masked)."""
    view: dict[str, Any] = {
        "id": run.id,
        "job_id": run.job_id,
        "scheduled_for": iso(run.scheduled_for),
        "due_at": iso(run.due_at),
        "attempt": run.attempt,
        "reason": run.reason.value,
        "status": run.status.value,
        "started_at": _instant(run.started_at),
        "finished_at": _instant(run.finished_at),
        "error": None if run.error is None else redact_text(run.error),
    }
    if detail:
        view["result"] = redact(run.result)
        view["output"] = redact_text(run.output)
    return view


def event_view(event: Event) -> dict[str, Any]:
    """An event: id, kind, when, the job and run it concerns, and its (masked) data."""
    return {
        "id": event.id,
        "kind": event.kind,
        "at": iso(event.at),
        "job_id": event.job_id,
        "run_id": event.run_id,
        "data": redact(event.data),
    }


_MISFIRE_WORDS = {
    Misfire.SKIP: "none of them runs",
    Misfire.LATEST: "only the latest of them runs",
    Misfire.ALL: "they all run (the latest {cap} at most)",
}
_OVERLAP_WORDS = {
    Overlap.ALLOW: "runs side by side with an unfinished earlier run",
    Overlap.SKIP: "is skipped while an earlier run is unfinished",
    Overlap.QUEUE: "waits for an unfinished earlier run to end",
    Overlap.REPLACE: "cancels an unfinished earlier run",
}


def describe_policy(policy: Policy) -> list[str]:
    """The policy in words, one short sentence a rule (notification URLs by scheme only)."""
    from gnomon.triggers.interval import describe_seconds

    def secs(value: float) -> str:
        return describe_seconds(value).removeprefix("every ")

    if policy.max_attempts == 1:
        lines = ["One attempt; a failure is not retried."]
    else:
        lines = [
            f"Up to {policy.max_attempts} attempts, the next after {secs(policy.backoff)}, "
            f"doubling up to {secs(policy.max_backoff)}."
        ]
    lines.append(f"Timeout {secs(policy.timeout)}." if policy.timeout else "No timeout.")
    if policy.jitter:
        lines.append(f"Each fire starts up to {secs(policy.jitter)} late, at random (jitter).")
    misfire = _MISFIRE_WORDS[policy.misfire].format(cap=policy.catchup_cap)
    lines.append(f"Fires missed by more than {secs(policy.grace)}: {misfire}.")
    lines.append(f"A fire {_OVERLAP_WORDS[policy.overlap]}.")
    if policy.notify_urls:
        schemes = ", ".join(sorted({u.split("://", 1)[0] for u in policy.notify_urls}))
        lines.append(f"Notifies ({schemes}) when a run is {', '.join(policy.notify_on)}.")
    return lines


__all__ = ["action_config", "describe_policy", "event_view", "job_view", "policy_view", "run_view"]
