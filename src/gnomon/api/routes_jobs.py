"""``/api/v1/jobs``: create, read, change, remove, pause, resume, trigger and backfill jobs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from gnomon import service
from gnomon.api import convert
from gnomon.api.auth import Principal, need, require_admin_for
from gnomon.api.context import context
from gnomon.api.problems import ApiError, responses
from gnomon.api.schemas import (
    BackfillIn,
    BackfillOut,
    JobIn,
    JobOut,
    JobPage,
    JobPatch,
    RunDetail,
    RunList,
    RunOut,
)
from gnomon.errors import InvalidSpec
from gnomon.limits import MAX_ID, MAX_OFFSET, MAX_PAGE
from gnomon.models import ActionSpec, JobState, RunStatus
from gnomon.service import Scope

router = APIRouter(prefix="/api/v1", tags=["jobs"])
JobId = Path(min_length=1, max_length=200, description="The job's id.")
READ, WRITE = Depends(need(Scope.READ)), Depends(need(Scope.WRITE))
BACKFILL_FIELDS = ("start", "end", "max_fires")


@router.get("/jobs", response_model=JobPage, responses=responses(401, 403, 422, 429, 503))
def list_jobs(
    request: Request,
    *,
    who: Principal = READ,
    limit: int = Query(50, ge=1, le=MAX_PAGE),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
    state: JobState | None = None,
    search: str | None = Query(
        None,
        max_length=200,
        description="A literal part of the id, name or action summary (command, URL, topic, "
        "reference, tool), any case.",
    ),
    after: str | None = Query(None, max_length=200, description="Cursor: ids after this one."),
) -> JobPage:
    """One page of jobs ordered by id: follow ``next_after`` (or ``next_offset``)."""
    ctx = context(request)
    if after is not None:
        found = service.jobs_after(
            ctx.scheduler, after, limit=limit + 1, state=state, search=search
        )
    else:
        found = ctx.scheduler.list(state=state, search=search, limit=limit + 1, offset=offset)
    more, found = len(found) > limit, found[:limit]
    return JobPage(
        items=[convert.job_out(j) for j in found],
        limit=limit,
        offset=offset,
        next_offset=offset + limit if more and after is None else None,
        next_after=found[-1].id if more else None,
    )


def add_job(request: Request, who: Principal, body: JobIn) -> JobOut:
    """Create a job from a validated body (shared with the dashboard's form)."""
    ctx = context(request)
    require_admin_for(who, body.action.kind, body.action.config)
    job = ctx.scheduler.add(
        body.when,
        ActionSpec(kind=body.action.kind, config=body.action.config),
        id=body.id,
        name=body.name,
        tz=body.tz,
        policy=body.policy.model_dump(exclude_none=True),
        paused=body.paused,
    )
    ctx.audit(request, who, "job.create", f"job:{job.id}", {"after": convert.job_summary(job)})
    return convert.job_out(job)


@router.post(
    "/jobs",
    status_code=201,
    response_model=JobOut,
    responses=responses(401, 403, 409, 422, 429, 503),
)
def create_job(request: Request, body: JobIn, who: Principal = WRITE) -> JobOut:
    """Create a job. An action that runs code on this host needs the ``admin`` scope."""
    return add_job(request, who, body)


@router.get(
    "/jobs/{job_id}", response_model=JobOut, responses=responses(401, 403, 404, 422, 429, 503)
)
def get_job(request: Request, job_id: str = JobId, who: Principal = READ) -> JobOut:
    return convert.job_out(context(request).scheduler.get(job_id))


@router.patch(
    "/jobs/{job_id}", response_model=JobOut, responses=responses(401, 403, 404, 422, 429, 503)
)
def update_job(
    request: Request, body: JobPatch, job_id: str = JobId, who: Principal = WRITE
) -> JobOut:
    """Change a job; a new ``when`` takes effect from now. An action that runs code on this
    host needs the ``admin`` scope."""
    ctx = context(request)
    before = ctx.scheduler.get(job_id)
    changes: dict[str, Any] = {}
    if body.action is not None:
        require_admin_for(who, body.action.kind, body.action.config)
        changes["action"] = ActionSpec(kind=body.action.kind, config=body.action.config)
    if body.when is not None:
        changes.update(when=body.when, tz=body.tz)
    elif body.tz is not None:
        raise ApiError(
            422, "invalid_request", "tz: give 'when' too when changing the zone", field="tz"
        )
    if body.name is not None:
        changes["name"] = body.name
    if body.policy is not None:
        changes["policy"] = {**before.policy.to_json(), **body.policy.model_dump(exclude_none=True)}
    job = ctx.scheduler.update(job_id, **changes)
    ctx.audit(
        request,
        who,
        "job.update",
        f"job:{job_id}",
        _diff(convert.job_summary(before), convert.job_summary(job)),
    )
    return convert.job_out(job)


def _diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    keys = [k for k in after if before.get(k) != after[k]]
    return {"before": {k: before.get(k) for k in keys}, "after": {k: after[k] for k in keys}}


@router.delete(
    "/jobs/{job_id}",
    status_code=204,
    response_class=Response,
    responses=responses(401, 403, 404, 422, 429, 503),
)
def delete_job(request: Request, job_id: str = JobId, who: Principal = WRITE) -> Response:
    """Remove a job; its pending runs are cancelled, its history is kept."""
    ctx = context(request)
    before = ctx.scheduler.get(job_id)
    ctx.scheduler.remove(job_id)
    ctx.audit(request, who, "job.remove", f"job:{job_id}", {"before": convert.job_summary(before)})
    return Response(status_code=204)


@router.post(
    "/jobs/{job_id}/pause", response_model=JobOut, responses=responses(401, 403, 404, 422, 429, 503)
)
def pause_job(request: Request, job_id: str = JobId, who: Principal = WRITE) -> JobOut:
    ctx = context(request)
    job = ctx.scheduler.pause(job_id)
    ctx.audit(request, who, "job.pause", f"job:{job_id}")
    return convert.job_out(job)


@router.post(
    "/jobs/{job_id}/resume",
    response_model=JobOut,
    responses=responses(401, 403, 404, 422, 429, 503),
)
def resume_job(request: Request, job_id: str = JobId, who: Principal = WRITE) -> JobOut:
    """Resume from now: fires that fell in the pause are recorded ``missed``, not run."""
    ctx = context(request)
    job = ctx.scheduler.resume(job_id)
    ctx.audit(request, who, "job.resume", f"job:{job_id}")
    return convert.job_out(job)


@router.post(
    "/jobs/{job_id}/trigger",
    status_code=201,
    response_model=RunOut,
    responses=responses(401, 403, 404, 422, 429, 503),
)
def trigger_job(request: Request, job_id: str = JobId, who: Principal = WRITE) -> RunOut:
    """Run the job now, outside its schedule (reason ``manual``)."""
    ctx = context(request)
    run = ctx.scheduler.trigger(job_id)
    ctx.audit(request, who, "job.trigger", f"job:{job_id}", {"run_id": run.id})
    return convert.run_out(run)


@router.post(
    "/jobs/{job_id}/backfill",
    status_code=201,
    response_model=BackfillOut,
    responses=responses(401, 403, 404, 422, 429, 503),
)
def backfill_job(
    request: Request, body: BackfillIn, job_id: str = JobId, who: Principal = WRITE
) -> BackfillOut:
    """Record the job's fires in ``[start, end)`` (a past range) as runs due now."""
    ctx = context(request)
    try:
        done = service.backfill(
            ctx.scheduler, job_id, body.start, body.end, max_fires=body.max_fires
        )
    except InvalidSpec as exc:  # the message starts with the field at fault
        field = next((f for f in BACKFILL_FIELDS if str(exc).startswith(f"{f}:")), None)
        raise ApiError(422, "invalid_spec", str(exc), field=field) from None
    ctx.audit(
        request,
        who,
        "job.backfill",
        f"job:{job_id}",
        {
            "start": body.start.isoformat(),
            "end": body.end.isoformat(),
            "runs": [r.id for r in done.runs],
        },
    )
    return BackfillOut(
        job_id=job_id,
        runs=[convert.run_out(r) for r in done.runs],
        already_recorded=done.already_recorded,
    )


@router.get(
    "/jobs/{job_id}/runs", response_model=RunList, responses=responses(401, 403, 404, 422, 429, 503)
)
def job_runs(
    request: Request,
    job_id: str = JobId,
    who: Principal = READ,
    limit: int = Query(50, ge=1, le=MAX_PAGE),
    status: RunStatus | None = None,
) -> RunList:
    """The job's runs, newest first."""
    found = context(request).scheduler.runs(job_id, limit=limit, status=status)
    return RunList(items=[convert.run_out(r) for r in found])


@router.get(
    "/runs/{run_id}",
    response_model=RunDetail,
    tags=["runs"],
    responses=responses(401, 403, 404, 422, 429, 503),
)
def get_run(
    request: Request, run_id: int = Path(ge=1, le=MAX_ID), who: Principal = READ
) -> RunDetail:
    """One run with its result and captured output."""
    return convert.run_detail(service.get_run(context(request).scheduler, run_id))
