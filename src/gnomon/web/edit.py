"""Edit a job from the dashboard: the same change, checks and audit entry as ``PATCH
/api/v1/jobs/{id}`` (:func:`gnomon.api.routes_jobs.update_job`).

Fields left empty keep what the job has: the schedule (give ``when`` to change it, and the
zone with it), the action (its config is shown masked, so it is never sent back: give a
new command or config to replace it). The policy fields come filled in with the job's.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from gnomon.api.context import context
from gnomon.api.problems import ApiError
from gnomon.api.routes_jobs import update_job
from gnomon.api.schemas import JobPatch
from gnomon.errors import GnomonError
from gnomon.models import Job
from gnomon.service import Scope
from gnomon.web.forms import action_of, error_message, kinds, policy_of
from gnomon.web.render import render
from gnomon.web.session import check_csrf, principal

router = APIRouter(include_in_schema=False)


def _filled(job: Job) -> dict[str, str]:
    """The form's starting values: the job's name, zone, kind and policy."""
    policy = job.policy
    return {
        "name": job.name,
        "tz": str(getattr(job.trigger, "tz", "UTC")),
        "kind": job.action.kind,
        "max_attempts": str(policy.max_attempts),
        "overlap": policy.overlap.value,
        "misfire": policy.misfire.value,
        "timeout": "" if policy.timeout is None else f"{policy.timeout:g}",
    }


def _patch(form: dict[str, str], job: Job) -> JobPatch:
    """The changes the form asks for (raises ValidationError or GnomonError)."""
    body: dict[str, Any] = {"policy": policy_of(form)}
    name = form.get("name", "").strip()
    if name and name != job.name:
        body["name"] = name
    if form.get("when", "").strip():
        body["when"] = form["when"].strip()
        body["tz"] = form.get("tz", "").strip() or "UTC"
    action = action_of(form)
    if action is not None:
        body["action"] = action
    return JobPatch.model_validate(body)


@router.get("/jobs/{job_id:path}/edit", response_class=HTMLResponse)
def edit_page(request: Request, job_id: str) -> HTMLResponse:
    principal(request, Scope.WRITE)
    job = context(request).scheduler.get(job_id)
    return render(request, "edit.html", job=job, kinds=kinds(), form=_filled(job), error=None)


@router.post("/jobs/{job_id:path}/edit", response_class=HTMLResponse)
async def edit_job(request: Request, job_id: str) -> Response:
    """Change the job; on a bad field, show the form again with the message."""
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    check_csrf(request, form.get("csrf"))
    who = principal(request, Scope.WRITE)
    job = context(request).scheduler.get(job_id)
    try:
        update_job(request, _patch(form, job), job_id, who)
    except (ValidationError, ApiError, GnomonError) as exc:
        message, status = error_message(exc)
        form.pop("csrf", None)
        return render(
            request,
            "edit.html",
            status_code=status,
            job=job,
            kinds=kinds(),
            form=form,
            error=message,
        )
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)
