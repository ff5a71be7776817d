"""Domain objects to API bodies, with every secret masked."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from gnomon.actions.registry import get_action
from gnomon.api.schemas import ActionOut, AuditOut, JobOut, RunDetail, RunOut
from gnomon.errors import InvalidAction
from gnomon.models import ActionSpec, Job, Policy, Run
from gnomon.redaction import redact, redact_text
from gnomon.store.admin import AuditEntry


def action_config(action: ActionSpec) -> dict[str, Any]:
    """The config with secret-looking keys and the kind's own secret fields masked."""
    try:
        extra = get_action(action.kind).secret_fields
    except InvalidAction:
        extra = frozenset()
    config: dict[str, Any] = redact(dict(action.config), extra)
    return config


def policy_out(policy: Policy) -> dict[str, Any]:
    """The policy; notification URLs carry credentials, so only their scheme is shown."""
    return dict(_policy_out(policy))


@lru_cache(maxsize=1024)
def _policy_out(policy: Policy) -> dict[str, Any]:
    # Policies are frozen and few distinct ones exist: a page of jobs shares them.
    data: dict[str, Any] = redact(policy.to_json())
    urls = data.get("notify_urls")
    if isinstance(urls, list):
        data["notify_urls"] = [f"{str(u).split('://', 1)[0]}://***" for u in urls]
    return data


def job_out(job: Job) -> JobOut:
    return JobOut(
        id=job.id, name=redact_text(job.name), when=job.trigger.describe(),
        trigger=job.trigger.to_json(),  # schedules hold no secrets
        action=ActionOut(kind=job.action.kind, config=action_config(job.action)),
        policy=policy_out(job.policy), state=job.state, next_fire_at=job.next_fire_at,
        created_at=job.created_at, updated_at=job.updated_at,
    )  # fmt: skip


def _run_fields(run: Run) -> dict[str, Any]:
    return {
        "id": run.id, "job_id": run.job_id, "scheduled_for": run.scheduled_for,
        "due_at": run.due_at, "attempt": run.attempt, "reason": run.reason,
        "status": run.status, "started_at": run.started_at, "finished_at": run.finished_at,
        "error": None if run.error is None else redact_text(run.error),
    }  # fmt: skip


def run_out(run: Run) -> RunOut:
    return RunOut(**_run_fields(run))


def run_detail(run: Run) -> RunDetail:
    return RunDetail(**_run_fields(run), result=redact(run.result),
                     output=redact_text(run.output))  # fmt: skip


def audit_out(entry: AuditEntry) -> AuditOut:
    return AuditOut(id=entry.id, at=entry.at, actor=entry.actor, action=entry.action,
                    target=entry.target, client=entry.client, diff=redact(entry.diff))  # fmt: skip


def job_summary(job: Job) -> dict[str, Any]:
    """What the audit log keeps of a job (redacted)."""
    return {
        "name": redact_text(job.name), "when": job.trigger.describe(),
        "action": {"kind": job.action.kind, "config": action_config(job.action)},
        "policy": policy_out(job.policy), "state": job.state.value,
    }  # fmt: skip
