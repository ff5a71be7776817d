"""Dashboard pages: jobs (with the timeline and live feed), one job, new job, audit, login."""

from __future__ import annotations

import shlex
from typing import Any

from fastapi import APIRouter, FastAPI, Header, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

from gnomon import service
from gnomon.api.context import context
from gnomon.api.problems import ApiError
from gnomon.api.routes_ops import event_stream
from gnomon.errors import JobNotFound
from gnomon.limits import MAX_ID
from gnomon.models import Job, JobState, RunStatus
from gnomon.scheduler import Scheduler
from gnomon.service import Scope
from gnomon.triggers.base import next_fires
from gnomon.views import action_config, describe_policy
from gnomon.web import apidocs, edit, forms, runs, workers
from gnomon.web.render import HERE, SECURITY_HEADERS, render
from gnomon.web.session import LoginRequired, principal
from gnomon.web.timeline import build_timeline

router = APIRouter(include_in_schema=False)
PAGE = 50


JobQuery = Query(None, max_length=200)
StateQuery = Query(None, max_length=20)
Offset = Query(0, ge=0, le=10**9)


def _job_rows(
    scheduler: Scheduler, q: str | None, state: str | None, offset: int
) -> dict[str, Any]:
    """One page of the jobs table (searched, filtered) with each job's recent runs."""
    wanted = JobState(state) if state in {s.value for s in JobState} else None
    found = scheduler.list(state=wanted, search=q or None, limit=PAGE + 1, offset=offset)
    more, found = len(found) > PAGE, found[:PAGE]
    return {
        "jobs": found,
        "more": more,
        "q": q or "",
        "offset": offset,
        "state": wanted.value if wanted else "",
        "history": service.recent_runs(scheduler, [j.id for j in found], per_job=16),
        "finished": {s.value for s in RunStatus if s.finished},
    }


@router.get("/", response_class=HTMLResponse)
def jobs_page(
    request: Request,
    q: str | None = JobQuery,
    state: str | None = StateQuery,
    offset: int = Offset,
    window: str = Query("24h", pattern="^(24h|7d)$"),
) -> HTMLResponse:
    """The jobs table (searchable, paged), the timeline of upcoming fires and the live feed."""
    principal(request)
    scheduler = context(request).scheduler
    now = scheduler.clock.now()
    timeline = build_timeline([], now, window)
    soon = service.upcoming_jobs(scheduler, timeline.end, 24)
    return render(
        request,
        "jobs.html",
        **_job_rows(scheduler, q, state, offset),
        page=PAGE,
        timeline=build_timeline(soon, now, window),
        counts=service.job_counts(scheduler),
    )


@router.get("/ui/job-rows", response_class=HTMLResponse)
def job_rows(
    request: Request, q: str | None = JobQuery, state: str | None = StateQuery, offset: int = Offset
) -> HTMLResponse:
    """The jobs table's rows (the jobs page refreshes them as fires pass and jobs change)."""
    principal(request)
    return render(
        request, "_job_rows.html", **_job_rows(context(request).scheduler, q, state, offset)
    )


@router.get("/jobs/{job_id:path}/runs-fragment", response_class=HTMLResponse)
def runs_fragment(request: Request, job_id: str) -> HTMLResponse:
    """The runs table of one job (the job page refreshes it when events arrive)."""
    principal(request)
    scheduler = context(request).scheduler
    runs = scheduler.runs(job_id, limit=30)
    try:
        zone = _zone(scheduler.get(job_id))
    except JobNotFound:  # a removed job's runs: in its zone if its removal kept it
        removed = service.removed_job(scheduler, job_id)
        zone = removed.zone if removed is not None else ""
    return render(request, "_runs.html", runs=runs, zone=zone)


def _zone(job: Job) -> str:
    return str(getattr(job.trigger, "tz", "UTC"))


def _job_values(scheduler: Scheduler, job: Job) -> dict[str, Any]:
    """What the job page and its live fragments show of ``job``."""
    now = scheduler.clock.now()
    upcoming = next_fires(job.trigger, now, 8) if job.state is JobState.ACTIVE else []
    argv = job.action.config.get("argv") if job.action.kind == "shell" else None
    return {
        "job": job,
        "upcoming": upcoming,
        "zone": _zone(job),
        "command": shlex.join(argv) if isinstance(argv, list) else None,
    }


@router.get("/jobs/{job_id:path}/upcoming-fragment", response_class=HTMLResponse)
def upcoming_fragment(request: Request, job_id: str) -> HTMLResponse:
    """The job's next fires (the job page refreshes them as fires pass and the job changes)."""
    principal(request)
    scheduler = context(request).scheduler
    return render(request, "_upcoming.html", **_job_values(scheduler, scheduler.get(job_id)))


@router.get("/jobs/{job_id:path}", response_class=HTMLResponse)
def job_page(request: Request, job_id: str) -> HTMLResponse:
    """One job: its spec in words, upcoming fires, runs with output, audit entries. A removed
    job's page says when it was removed and shows its runs (kept); an unknown id is a 404."""
    principal(request)
    scheduler = context(request).scheduler
    try:
        job = scheduler.get(job_id)
    except JobNotFound:
        return _removed_page(request, scheduler, job_id)
    return render(
        request,
        "job.html",
        **_job_values(scheduler, job),
        runs=scheduler.runs(job_id, limit=30),
        config=action_config(job.action),
        policy_words=describe_policy(job.policy),
        audit=service.audit_entries(scheduler, target=f"job:{job_id}", limit=20),
        timeline=build_timeline([job], scheduler.clock.now(), "7d"),
    )


def _removed_page(request: Request, scheduler: Scheduler, job_id: str) -> HTMLResponse:
    """A removed job: when (if its ``job.removed`` event is still kept) and its kept runs.
    Raises :class:`JobNotFound` for an id with neither."""
    removed = service.removed_job(scheduler, job_id)
    runs = service.find_runs(scheduler, job_id=job_id, limit=30).runs
    if removed is None and not runs:
        raise JobNotFound(job_id)
    return render(
        request,
        "job_removed.html",
        job_id=job_id,
        removed=removed,
        zone=removed.zone if removed is not None else "",
        runs=runs,
        audit=service.audit_entries(scheduler, target=f"job:{job_id}", limit=20),
    )


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, before_id: int | None = Query(None, ge=1)) -> HTMLResponse:
    principal(request)
    entries = service.audit_entries(context(request).scheduler, before_id=before_id, limit=100)
    return render(
        request,
        "audit.html",
        entries=entries,
        older=entries[-1].id if len(entries) == 100 else None,
    )


@router.get("/ui/events")
def ui_events(
    request: Request,
    after: int = Query(0, ge=0, le=MAX_ID),
    job_id: str | None = Query(None, max_length=200),
    last_event_id: int | None = Header(None, ge=0, le=MAX_ID),
) -> StreamingResponse:
    """The live feed (SSE) for signed-in browsers (EventSource cannot send a bearer header)."""
    principal(request)
    start = max(after, last_event_id or 0)
    stream = event_stream(context(request), request, start, job_id, follow=True, named=False)
    return StreamingResponse(
        stream, media_type="text/event-stream", headers={"Cache-Control": "no-store"}
    )


def _security_headers(app: FastAPI) -> None:
    class Headers(BaseHTTPMiddleware):
        async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
            response = await call_next(request)
            response.headers.update(SECURITY_HEADERS)
            return response

    app.add_middleware(Headers)


def install(app: FastAPI) -> None:
    """Mount the dashboard on ``app``."""

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(JobNotFound)
    async def _missing(request: Request, exc: JobNotFound) -> Response:
        if request.url.path.startswith("/api/"):
            from gnomon.api.problems import gnomon_error_response

            return gnomon_error_response(exc)
        return render(request, "error.html", status_code=404, title="No such job", message=str(exc))

    @app.exception_handler(ApiError)
    async def _api(request: Request, exc: ApiError) -> Response:
        if request.url.path.startswith(("/api/", "/metrics", "/health")):
            from fastapi.responses import JSONResponse

            body = {"code": exc.code, "message": exc.message, "field": exc.field}
            return JSONResponse(body, status_code=exc.status, headers=exc.headers)
        return render(
            request, "error.html", status_code=exc.status, title=exc.code, message=exc.message
        )

    _security_headers(app)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(edit.router)  # before forms: POST /jobs/{id}/{verb} would take it
    app.include_router(forms.router)
    app.include_router(runs.router)
    app.include_router(apidocs.router)
    app.include_router(workers.router)
    app.include_router(router)


__all__ = ["Scope", "install"]
