"""Domain objects to API bodies: the views of :mod:`gnomon.views` (secrets masked) as schemas."""

from __future__ import annotations

from typing import Any

from gnomon.api.schemas import AuditOut, JobOut, RunDetail, RunOut
from gnomon.models import Job, Run
from gnomon.redaction import redact, redact_text
from gnomon.service import AuditEntry
from gnomon.views import action_config, job_view, policy_view, run_view


def job_out(job: Job) -> JobOut:
    return JobOut.model_validate(job_view(job))


def run_out(run: Run) -> RunOut:
    return RunOut.model_validate(run_view(run, detail=False))


def run_detail(run: Run) -> RunDetail:
    return RunDetail.model_validate(run_view(run))


def audit_out(entry: AuditEntry) -> AuditOut:
    return AuditOut(
        id=entry.id,
        at=entry.at,
        actor=entry.actor,
        action=entry.action,
        target=entry.target,
        client=entry.client,
        diff=redact(entry.diff),
    )


def job_summary(job: Job) -> dict[str, Any]:
    """What the audit log keeps of a job (redacted)."""
    return {
        "name": redact_text(job.name),
        "when": job.trigger.describe(),
        "action": {"kind": job.action.kind, "config": action_config(job.action)},
        "policy": policy_view(job.policy),
        "state": job.state.value,
    }
