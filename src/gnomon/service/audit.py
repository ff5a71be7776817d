"""The audit log: append who did what (redacted), and read it back newest first."""

from __future__ import annotations

from typing import Any

from gnomon.redaction import redact
from gnomon.scheduler import Scheduler
from gnomon.store import admin
from gnomon.store.admin import AuditEntry


def record_audit(
    scheduler: Scheduler,
    *,
    actor: str,
    action: str,
    target: str | None,
    client: str | None = None,
    diff: dict[str, Any] | None = None,
) -> None:
    """Append who did what, now, to the audit log; ``diff`` is redacted here."""
    admin.append_audit(
        scheduler.store,
        at=scheduler.clock.now(),
        actor=actor,
        action=action,
        target=target,
        client=client,
        diff=redact(diff) if diff else None,
    )


def audit_entries(
    scheduler: Scheduler,
    *,
    target: str | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[AuditEntry]:
    """Audit entries newest first (of one ``target``, e.g. ``job:backup``); page back with
    ``before_id``."""
    return admin.list_audit(scheduler.store, target=target, before_id=before_id, limit=limit)
