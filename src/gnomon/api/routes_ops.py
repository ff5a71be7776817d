"""Preview, the event stream, the audit log, health and metrics."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

import gnomon
from gnomon import definitions, limits, service
from gnomon.api import convert
from gnomon.api.auth import Principal, need
from gnomon.api.context import ApiContext, context
from gnomon.api.problems import responses
from gnomon.api.schemas import AuditPage, HealthOut, PreviewOut
from gnomon.errors import StoreUnavailable
from gnomon.events import Event
from gnomon.limits import MAX_ID
from gnomon.service import Scope
from gnomon.triggers.base import next_fires
from gnomon.views import event_view

router = APIRouter(prefix="/api/v1")
root = APIRouter()  # /health and /metrics, where probes and scrapers look
READ = Depends(need(Scope.READ))
SSE_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "`text/event-stream`: `id`, `event` (the kind) and JSON `data`.",
        "content": {
            "text/event-stream": {
                "schema": {
                    "type": "object",
                    "description": "One event; `data` is the event as JSON.",
                    "properties": {
                        "id": {"type": "string"},
                        "event": {"type": "string"},
                        "data": {"type": "string", "contentMediaType": "application/json"},
                    },
                }
            }
        },
    }
}


@router.get(
    "/preview",
    response_model=PreviewOut,
    tags=["schedules"],
    responses=responses(401, 403, 422, 429, 503),
)
def preview(
    request: Request,
    who: Principal = READ,
    when: str = Query(min_length=1, max_length=limits.MAX_SPEC_CHARS, examples=["0 9 * * 1-5"]),
    tz: str = Query("UTC", min_length=1, max_length=limits.MAX_TZ_CHARS),
    count: int = Query(10, ge=1, le=100),
) -> PreviewOut:
    """The next ``count`` fires of a schedule and its description; nothing is stored."""
    now = context(request).scheduler.clock.now()
    trigger = definitions.to_trigger(when, tz=tz, now=now)
    return PreviewOut(description=trigger.describe(), tz=tz, fires=next_fires(trigger, now, count))


def sse(event: Event, named: bool = True) -> str:
    """One SSE message; unnamed ones reach ``EventSource.onmessage`` whatever the kind."""
    name = f"event: {event.kind}\n" if named else ""
    return f"id: {event.id}\n{name}data: {json.dumps(event_view(event))}\n\n"


async def event_stream(
    ctx: ApiContext,
    request: Request,
    after: int,
    job_id: str | None,
    follow: bool,
    named: bool = True,
) -> AsyncIterator[str]:
    """Events after ``after`` as SSE; with ``follow``, keep waiting for new ones."""
    scheduler, loops = ctx.scheduler, 0
    deadline = ctx.scheduler.clock.monotonic() + ctx.stream_seconds
    yield "retry: 2000\n\n"
    while True:
        found = await run_in_threadpool(scheduler.events, after_id=after, job_id=job_id, limit=200)
        for event in found:
            yield sse(event, named)
            after = event.id or after
        if len(found) == 200:
            continue
        if not follow or ctx.scheduler.clock.monotonic() >= deadline:
            return
        if await request.is_disconnected():
            return
        loops += 1
        if loops % 30 == 0:
            yield ": keep-alive\n\n"
        await asyncio.sleep(ctx.event_poll)


@router.get(
    "/events",
    response_class=StreamingResponse,
    tags=["events"],
    responses={**SSE_DOC, **responses(401, 403, 422, 429, 503)},
)
def events(
    request: Request,
    who: Principal = READ,
    after: int = Query(0, ge=0, le=MAX_ID, description="Send events with a larger id."),
    job_id: str | None = Query(None, max_length=200),
    follow: bool = Query(False, description="Keep the stream open for new events."),
    last_event_id: int | None = Header(None, ge=0, le=MAX_ID),
) -> StreamingResponse:
    """Lifecycle events as Server-Sent Events (``EventSource`` resumes with Last-Event-ID)."""
    start = max(after, last_event_id or 0)
    stream = event_stream(context(request), request, start, job_id, follow)
    return StreamingResponse(
        stream, media_type="text/event-stream", headers={"Cache-Control": "no-store"}
    )


@router.get(
    "/audit", response_model=AuditPage, tags=["audit"], responses=responses(401, 403, 422, 429, 503)
)
def audit(
    request: Request,
    who: Principal = READ,
    target: str | None = Query(None, max_length=250, examples=["job:nightly-backup"]),
    before_id: int | None = Query(None, ge=1, le=MAX_ID),
    limit: int = Query(50, ge=1, le=limits.MAX_PAGE),
) -> AuditPage:
    """Who changed what, newest first; page back with ``before_id``."""
    found = service.audit_entries(
        context(request).scheduler, target=target, before_id=before_id, limit=limit
    )
    last = found[-1].id if len(found) == limit else None
    return AuditPage(items=[convert.audit_out(e) for e in found], next_before_id=last)


@root.get(
    "/health",
    response_model=HealthOut,
    tags=["operations"],
    responses={503: {"model": HealthOut, "description": "The database is unreachable."}},
)
def health(request: Request) -> Response:
    """Liveness and database reachability; needs no token. ``database_id`` names the
    database served (a digest, no part of its URL): `gnomon status` compares it with its own."""
    scheduler = context(request).scheduler
    try:
        service.ping(scheduler)
        identity = service.database_identity(scheduler)
    except StoreUnavailable as exc:  # named by the driver's error, e.g. OperationalError
        body = HealthOut(
            status="unavailable",
            database=type(exc.__cause__ or exc).__name__,
            version=gnomon.__version__,
            database_id=None,
        )
        return JSONResponse(body.model_dump(), status_code=503)
    body = HealthOut(status="ok", database="ok", version=gnomon.__version__, database_id=identity)
    return JSONResponse(body.model_dump())


@root.get(
    "/metrics",
    response_class=Response,
    tags=["operations"],
    responses={
        200: {
            "description": "Prometheus text format.",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        },
        **responses(401, 403, 429, 503),
    },
)
def metrics(request: Request, who: Principal = READ) -> Response:
    """Prometheus metrics (scrape with a ``read`` token)."""
    body = context(request).metrics.render()
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")
