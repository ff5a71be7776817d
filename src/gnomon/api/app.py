"""The app factory: REST API, dashboard, metrics, all over one :class:`Scheduler`."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING

from fastapi import FastAPI

import gnomon
from gnomon.api import problems, routes_destinations, routes_jobs, routes_ops, routes_workflows
from gnomon.api.auth import Authenticator
from gnomon.api.context import ApiContext
from gnomon.api.limits import BoundedInput
from gnomon.api.metrics import Metrics
from gnomon.api.origin import LocalOnly
from gnomon.api.ratelimit import RateLimit, RateLimiter
from gnomon.open_mode import OPEN_MODE_ADVICE

if TYPE_CHECKING:
    from gnomon.scheduler import Scheduler

log = logging.getLogger(__name__)
DEFAULT_RATE_LIMIT = RateLimit()
OPEN_MODE_WARNING = f"gnomon API: {OPEN_MODE_ADVICE}"


def create_app(
    scheduler: Scheduler,
    *,
    tokens: Mapping[str, str] | None = None,
    open_access: bool = False,
    rate_limit: RateLimit | None = DEFAULT_RATE_LIMIT,
    dashboard: bool = True,
    secret_key: bytes | None = None,
    event_poll: float = 0.5,
) -> FastAPI:
    """The ASGI app for ``scheduler``.

    ``tokens`` maps extra plain-text tokens (e.g. from the environment) to a scope, besides
    those stored with ``gnomon token create``. ``open_access`` allows open mode while no
    token exists — only :func:`gnomon.api.serve_in_background` decides that, for loopback
    addresses; such an app answers only to requests from this machine's own users
    (:mod:`gnomon.api.origin`). ``rate_limit=None`` turns rate limiting off. ``secret_key``
    signs CSRF tokens.
    """
    app = FastAPI(
        title="gnomon",
        version=gnomon.__version__,
        description="A durable task scheduler. Errors are JSON `{code, message, field}`.",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,
        redoc_url=None,  # no CDN assets
    )
    auth = Authenticator(scheduler, static_tokens=tokens, open_access=open_access)
    limiter = RateLimiter(rate_limit, scheduler.clock.monotonic) if rate_limit else None
    app.state.gnomon = ApiContext(
        scheduler=scheduler,
        auth=auth,
        limiter=limiter,
        metrics=Metrics(scheduler),
        secret=secret_key or secrets.token_bytes(32),
        event_poll=event_poll,
    )
    problems.install(app)
    app.add_middleware(LocalOnly, open_access=open_access and not tokens)
    for router in (
        routes_jobs.router,
        routes_ops.router,
        routes_ops.root,
        routes_workflows.router,
        routes_destinations.router,
    ):
        app.include_router(router)
    if dashboard:
        from gnomon.web import install as install_dashboard

        install_dashboard(app)
    app.add_middleware(BoundedInput, max_body=scheduler.settings.max_body_bytes)  # outermost
    if auth.is_open():
        log.warning(OPEN_MODE_WARNING)
    return app
