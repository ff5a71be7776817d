"""What every route needs, kept on ``app.state.gnomon``."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import Request

from gnomon import service
from gnomon.api.auth import Authenticator, Principal, client_of
from gnomon.api.ratelimit import RateLimiter

if TYPE_CHECKING:
    from gnomon.api.metrics import Metrics
    from gnomon.scheduler import Scheduler

log = logging.getLogger(__name__)


@dataclass
class ApiContext:
    scheduler: Scheduler
    auth: Authenticator
    limiter: RateLimiter | None
    metrics: Metrics
    secret: bytes  # signs CSRF tokens; random per process unless given
    event_poll: float = 0.5
    stream_seconds: float = 600.0

    def audit(
        self,
        request: Request,
        principal: Principal,
        action: str,
        target: str | None,
        diff: dict[str, Any] | None = None,
    ) -> None:
        """Append who did what to the audit log (``diff`` is redacted here too)."""
        service.record_audit(
            self.scheduler,
            actor=principal.actor,
            action=action,
            target=target,
            client=client_of(request),
            diff=diff,
        )


def context(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.gnomon
    return ctx
