"""Dashboard forms: sign in, create a job, pause/resume/trigger/remove. All CSRF-checked.

Forms call the same functions as the REST API (``add_job``, the scheduler facade) and leave
the same audit entries.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from pydantic import ValidationError

from gnomon import definitions
from gnomon.actions.registry import builtin_kinds, plugin_kinds
from gnomon.api.auth import check
from gnomon.api.context import context
from gnomon.api.convert import job_summary
from gnomon.api.problems import ApiError
from gnomon.api.routes_jobs import add_job
from gnomon.api.schemas import JobIn
from gnomon.errors import GnomonError
from gnomon.limits import MAX_SPEC_CHARS, MAX_TZ_CHARS
from gnomon.service import Scope
from gnomon.triggers.base import next_fires
from gnomon.web.render import render
from gnomon.web.render import when as show_time
from gnomon.web.session import TOKEN_COOKIE, check_csrf, principal

router = APIRouter(include_in_schema=False)


def kinds() -> list[str]:
    """The form's action kinds: built-ins, then installed plugins. Who may use which is
    decided when the form is posted, by the same check as the API (``add_job``)."""
    return [*builtin_kinds(), *sorted(set(plugin_kinds()) - set(builtin_kinds()))]


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> HTMLResponse:
    return render(request, "login.html", error=None)


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, token: str = Form(max_length=200), csrf: str = Form("")) -> Response:
    """Check the pasted token; keep it in an HttpOnly, SameSite=Strict cookie."""
    check_csrf(request, csrf)
    ctx = context(request)
    try:
        check(request, token.strip(), Scope.READ, ctx.auth, ctx.limiter)
    except ApiError as exc:
        return render(request, "login.html", status_code=exc.status, error=exc.message)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        TOKEN_COOKIE,
        token.strip(),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        max_age=12 * 3600,
    )
    return response


@router.post("/logout")
def logout(request: Request, csrf: str = Form("")) -> Response:
    check_csrf(request, csrf)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(TOKEN_COOKIE)
    return response


@router.get("/jobs/new", response_class=HTMLResponse)
def new_job_page(request: Request) -> HTMLResponse:
    principal(request, Scope.WRITE)
    return render(request, "new.html", kinds=kinds(), form={}, error=None)


POLICY_FIELDS = ("max_attempts", "timeout", "overlap", "misfire")


def action_of(form: dict[str, str]) -> dict[str, Any] | None:
    """The action the form gives (a shell command, or a kind with its JSON config), or None
    when it gives neither a command nor a config."""
    kind = form.get("kind", "shell")
    if kind == "shell" and form.get("command", "").strip():
        return {"kind": kind, "config": {"argv": shlex.split(form["command"])}}
    text = form.get("config", "").strip()
    if not text:
        return None
    try:
        return {"kind": kind, "config": json.loads(text)}
    except json.JSONDecodeError as exc:
        raise ApiError(
            422, "invalid_spec", f"config: not valid JSON ({exc.msg})", field="config"
        ) from None


def policy_of(form: dict[str, str]) -> dict[str, str]:
    """The policy fields the form fills in."""
    return {k: form[k] for k in POLICY_FIELDS if form.get(k, "").strip()}


def _job_body(form: dict[str, str]) -> JobIn:
    """A :class:`JobIn` from the form's fields (raises ValidationError or GnomonError)."""
    action = action_of(form) or {"kind": form.get("kind", "shell"), "config": {}}
    return JobIn.model_validate(
        {
            "when": form.get("when", ""),
            "tz": form.get("tz", "").strip() or "UTC",
            "id": form.get("id", "").strip() or None,
            "name": form.get("name", "").strip() or None,
            "action": action,
            "policy": policy_of(form),
            "paused": form.get("paused") == "on",
        }
    )


@router.post("/jobs/new", response_class=HTMLResponse)
async def create_job(request: Request) -> Response:
    """Create a job from the form; on a bad field, show the form again with the message."""
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    check_csrf(request, form.get("csrf"))
    who = principal(request, Scope.WRITE)
    try:
        job = add_job(request, who, _job_body(form))
    except (ValidationError, ApiError, GnomonError) as exc:
        message, status = error_message(exc)
        return _form_error(request, form, message, status)
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


def error_message(exc: ValidationError | ApiError | GnomonError) -> tuple[str, int]:
    """A form's error line and HTTP status: the field at fault first, as the API says it."""
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}", 422
    if isinstance(exc, ApiError):
        return exc.message, exc.status
    from gnomon.api.problems import gnomon_error_response

    response = gnomon_error_response(exc)
    return json.loads(bytes(response.body))["message"], 422


def _form_error(
    request: Request, form: dict[str, str], message: str, status: int = 422
) -> HTMLResponse:
    form.pop("csrf", None)
    return render(request, "new.html", status_code=status, kinds=kinds(), form=form, error=message)


@router.post("/jobs/{job_id:path}/{verb}")
def job_action(request: Request, job_id: str, verb: str, csrf: str = Form("")) -> Response:
    """Pause, resume, trigger or remove a job, then go back to where the button was."""
    check_csrf(request, csrf)
    who = principal(request, Scope.WRITE)
    ctx = context(request)
    scheduler = ctx.scheduler
    diff: dict[str, Any] | None = None
    if verb == "pause":
        scheduler.pause(job_id)
    elif verb == "resume":
        scheduler.resume(job_id)
    elif verb == "trigger":
        diff = {"run_id": scheduler.trigger(job_id).id}
    elif verb == "remove":
        diff = {"before": job_summary(scheduler.get(job_id))}
        scheduler.remove(job_id)
    else:
        raise ApiError(404, "not_found", f"no action {verb!r}")
    ctx.audit(request, who, f"job.{verb}", f"job:{job_id}", diff)
    back = request.headers.get("referer", "")
    target = "/" if verb == "remove" or f"/jobs/{job_id}" not in back else f"/jobs/{job_id}"
    return RedirectResponse(target, status_code=303)


@router.get("/ui/preview")
def ui_preview(
    request: Request,
    when: str = Query("", max_length=MAX_SPEC_CHARS),
    tz: str = Query("UTC", max_length=MAX_TZ_CHARS),
) -> JSONResponse:
    """Live preview for the new-job form: description and next fires, or the error."""
    principal(request)
    now = context(request).scheduler.clock.now()
    try:
        trigger = definitions.to_trigger(when, tz=tz or "UTC", now=now)
    except GnomonError as exc:
        return JSONResponse({"error": str(exc)})
    fires = [show_time(f) for f in next_fires(trigger, now, 5)]
    return JSONResponse({"description": trigger.describe(), "fires": fires})
