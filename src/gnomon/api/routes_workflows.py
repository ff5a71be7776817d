"""``/api/v1/workflows/{id}/schedule``: a workflow service owns its schedule by id.

The schedule is the job ``workflow:<id>``; its action (``http``, ``amqp``, ``redis`` or
``celery``) hands each run to the workflow runner. PUT creates or replaces it, GET reads it,
DELETE removes it. A body's ``destination`` names a broker destination for the action (see
:mod:`gnomon.destinations`) instead of a URL in its config; an unknown name is refused (422).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Request, Response

from gnomon.api import convert
from gnomon.api.auth import Principal, need, require_admin_for
from gnomon.api.context import context
from gnomon.api.problems import ApiError, responses
from gnomon.api.schemas import WorkflowScheduleIn, WorkflowScheduleOut
from gnomon.definitions import check_job_id
from gnomon.errors import JobNotFound
from gnomon.models import ActionSpec
from gnomon.service import Scope

router = APIRouter(prefix="/api/v1/workflows", tags=["workflows"])
WORKFLOW_KINDS = ("http", "amqp", "redis", "celery")
READ, WRITE = Depends(need(Scope.READ)), Depends(need(Scope.WRITE))
WorkflowId = Path(min_length=1, max_length=190, description="The workflow's id.")


def _job_id(workflow_id: str) -> str:
    return check_job_id(f"workflow:{workflow_id}")


@router.put(
    "/{workflow_id}/schedule",
    response_model=WorkflowScheduleOut,
    responses={
        201: {"model": WorkflowScheduleOut, "description": "Created."},
        **responses(401, 403, 422, 429, 503),
    },
)
def put_schedule(
    request: Request,
    response: Response,
    body: WorkflowScheduleIn,
    workflow_id: str = WorkflowId,
    who: Principal = WRITE,
) -> WorkflowScheduleOut:
    """Create (201) or replace (200) the workflow's schedule."""
    if body.action.kind not in WORKFLOW_KINDS:
        raise ApiError(
            422,
            "invalid_spec",
            f"action: a workflow schedule needs an {', '.join(WORKFLOW_KINDS)} "
            f"action, not {body.action.kind!r}",
            field="action",
        )
    require_admin_for(who, body.action.kind, body.action.config)
    ctx, job_id = context(request), _job_id(workflow_id)
    action = ActionSpec(kind=body.action.kind, config=_with_destination(body))
    policy = body.policy.model_dump(exclude_none=True)
    name = body.name or f"workflow {workflow_id}"
    try:
        before = ctx.scheduler.get(job_id)
    except JobNotFound:
        job = ctx.scheduler.add(
            body.when, action, id=job_id, name=name, tz=body.tz, policy=policy, paused=body.paused
        )
        ctx.audit(
            request,
            who,
            "workflow.schedule.create",
            f"job:{job_id}",
            {"after": convert.job_summary(job)},
        )
        response.status_code = 201
        return WorkflowScheduleOut(workflow_id=workflow_id, job=convert.job_out(job))
    job = ctx.scheduler.update(
        job_id, when=body.when, tz=body.tz, action=action, name=name, policy=policy
    )
    job = ctx.scheduler.pause(job_id) if body.paused else ctx.scheduler.resume(job_id)
    diff = {"before": convert.job_summary(before), "after": convert.job_summary(job)}
    ctx.audit(request, who, "workflow.schedule.replace", f"job:{job_id}", diff)
    return WorkflowScheduleOut(workflow_id=workflow_id, job=convert.job_out(job))


def _with_destination(body: WorkflowScheduleIn) -> dict[str, Any]:
    """The action's config, with the body's ``destination`` (if any) in it."""
    if body.destination is None:
        return body.action.config
    if body.action.kind == "http":
        raise ApiError(
            422,
            "invalid_spec",
            "destination: an http action has no destination; use amqp, redis or celery",
            field="destination",
        )
    if "destination" in body.action.config:
        raise ApiError(
            422,
            "invalid_spec",
            "destination: given twice (in the body and in the action's config)",
            field="destination",
        )
    return {**body.action.config, "destination": body.destination}


@router.get(
    "/{workflow_id}/schedule",
    response_model=WorkflowScheduleOut,
    responses=responses(401, 403, 404, 422, 429, 503),
)
def get_schedule(
    request: Request, workflow_id: str = WorkflowId, who: Principal = READ
) -> WorkflowScheduleOut:
    job = context(request).scheduler.get(_job_id(workflow_id))
    return WorkflowScheduleOut(workflow_id=workflow_id, job=convert.job_out(job))


@router.delete(
    "/{workflow_id}/schedule",
    status_code=204,
    response_class=Response,
    responses=responses(401, 403, 404, 422, 429, 503),
)
def delete_schedule(
    request: Request, workflow_id: str = WorkflowId, who: Principal = WRITE
) -> Response:
    ctx, job_id = context(request), _job_id(workflow_id)
    before = ctx.scheduler.get(job_id)
    ctx.scheduler.remove(job_id)
    ctx.audit(
        request,
        who,
        "workflow.schedule.remove",
        f"job:{job_id}",
        {"before": convert.job_summary(before)},
    )
    return Response(status_code=204)
