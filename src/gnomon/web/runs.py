"""The runs page (every job's runs, filtered) and what a person may do to one run: retry a
finished unsuccessful run, cancel one that has not finished. Both forms are CSRF-checked,
need the ``write`` scope and leave an audit entry, like the job buttons."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Form, Path, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from gnomon import service
from gnomon.api.context import context
from gnomon.api.problems import ApiError
from gnomon.errors import Conflict
from gnomon.limits import MAX_ID
from gnomon.models import RunStatus
from gnomon.service import Scope
from gnomon.web.render import render
from gnomon.web.session import check_csrf, principal

router = APIRouter(include_in_schema=False)
PAGE = 50
RANGES = {
    "1h": timedelta(hours=1),
    "6h": timedelta(hours=6),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
}
GROUPS = {
    "unsuccessful": (RunStatus.FAILED, RunStatus.TIMED_OUT, RunStatus.LOST),
    "in-flight": (RunStatus.PENDING, RunStatus.QUEUED, RunStatus.RUNNING),
}
RETRYABLE = frozenset(s for s in RunStatus if s.finished and s is not RunStatus.SUCCEEDED)


def _statuses(value: str) -> tuple[RunStatus, ...]:
    if value in GROUPS:
        return GROUPS[value]
    if value in {s.value for s in RunStatus}:
        return (RunStatus(value),)
    if value:
        raise ApiError(422, "invalid_request", f"status: {value!r} is not a run status")
    return ()


def _instant(name: str, value: str) -> datetime | None:
    """A form time, given in UTC (the form says so): ``2026-03-02T08:00`` or with a zone."""
    if not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ApiError(
            422,
            "invalid_request",
            f"{name}: {value!r} is not a date and time like 2026-03-02T08:00 (UTC)",
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


@router.get("/runs", response_class=HTMLResponse)
def runs_page(
    request: Request,
    *,
    status: str = Query("", max_length=20),
    job: str = Query("", max_length=200),
    last: str = Query("", pattern="^(|1h|6h|24h|7d)$"),
    since: str = Query("", max_length=40),
    until: str = Query("", max_length=40),
    before_id: int | None = Query(None, ge=1, le=MAX_ID),
) -> HTMLResponse:
    """Runs of every job, newest first, filtered by status, job and time (scheduled for)."""
    principal(request)
    scheduler = context(request).scheduler
    now = scheduler.clock.now()
    start = now - RANGES[last] if last else _instant("since", since)
    page = service.find_runs(
        scheduler,
        statuses=_statuses(status),
        job_id=job.strip() or None,
        since=start,
        until=None if last else _instant("until", until),
        before_id=before_id,
        limit=PAGE,
    )
    query = {"status": status, "job": job, "last": last, "since": since, "until": until}
    return render(
        request,
        "runs.html",
        runs=page.runs,
        older=page.older,
        query=query,
        statuses=[s.value for s in RunStatus],
        groups=list(GROUPS),
        retryable={s.value for s in RETRYABLE},
        ranges=list(RANGES),
        finished={s.value for s in RunStatus if s.finished},
    )


@router.post("/runs/{run_id}/{verb}")
def run_action(
    request: Request, verb: str, run_id: int = Path(ge=1, le=MAX_ID), csrf: str = Form("")
) -> Response:
    """Retry or cancel one run, then go back to the page the button was on."""
    check_csrf(request, csrf)
    who = principal(request, Scope.WRITE)
    ctx = context(request)
    run = service.get_run(ctx.scheduler, run_id)
    diff: dict[str, object]
    try:
        if verb == "retry":
            new = service.retry_run(ctx.scheduler, run_id)
            diff = {"run_id": run_id, "new_run_id": new.id}
        elif verb == "cancel":
            after = service.cancel_run(ctx.scheduler, run_id)
            diff = {"run_id": run_id, "status": after.value}
        else:
            raise ApiError(404, "not_found", f"no action {verb!r}")
    except Conflict as exc:
        raise ApiError(409, "conflict", str(exc)) from None
    ctx.audit(request, who, f"run.{verb}", f"job:{run.job_id}", diff)
    back = request.headers.get("referer", "")
    origin = str(request.base_url).rstrip("/")
    target = back[len(origin) :] if back.startswith(origin + "/") else "/runs"
    return RedirectResponse(target, status_code=303)
