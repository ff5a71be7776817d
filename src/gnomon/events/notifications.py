"""A job's own notifications (policy ``notify_urls``): one message per run outcome it names."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from gnomon.actions.base import RunContext
from gnomon.instants import iso
from gnomon.models import RunStatus

log = logging.getLogger(__name__)


def notify_failure(
    spec_urls: Sequence[str],
    job_id: str,
    status: RunStatus,
    error: str | None,
    scheduled_for: datetime,
) -> None:
    """Send a job's own notification (policy ``notify_urls``) about one run's outcome."""
    from gnomon.actions.registry import get_action

    action = get_action("notify")
    kind = {"succeeded": "success", "failed": "failure", "timed_out": "failure"}.get(
        status.value, "warning"
    )
    config = action.validate(
        {
            "urls": list(spec_urls),
            "type": kind,
            "title": f"gnomon: {job_id} {status.value}",
            "body": f"run scheduled for {iso(scheduled_for)}: {status.value}"
            + (f" — {error}" if error else ""),
        }
    )
    ctx = RunContext(job_id=job_id, run_id=0, scheduled_for=scheduled_for, attempt=1, timeout=15.0)
    outcome = action.execute(config, ctx)
    if outcome.status is not RunStatus.SUCCEEDED:
        log.warning("notification for job %s failed: %s", job_id, outcome.error)
