"""What the ``gnomon mcp`` tools do, independent of the MCP SDK.

:class:`AgentDesk` is the service behind every tool: it checks the caller's scope exactly as
the REST API does (``read`` ⊂ ``write`` ⊂ ``admin``; an action that runs code on this host
needs ``admin``, as decided by :func:`gnomon.actions.registry.runs_local_code`), calls the
same :class:`~gnomon.scheduler.Scheduler` methods, masks secrets with the API's converters
and appends one audit entry per call (:func:`gnomon.service.record_audit`), refused
calls included.

Contract: every method returns JSON-ready data or raises a :class:`~gnomon.errors.GnomonError`
whose one-line message is what the agent sees.

*Preview first*: :meth:`AgentDesk.create_job` is refused unless the same ``(spec, tz)`` was
previewed successfully on the same connection (:attr:`Caller.previewed`), or ``confirm`` is
true, so an agent shows a person what a schedule means before storing it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from gnomon import service
from gnomon.errors import GnomonError, InvalidAction, InvalidSpec, InvalidTrigger
from gnomon.instants import iso
from gnomon.limits import MAX_NAME_CHARS
from gnomon.models import ActionSpec
from gnomon.redaction import redact_text
from gnomon.service import Scope

if TYPE_CHECKING:
    from gnomon.scheduler import Scheduler

MAX_PREVIEW = 50
HISTORY_OUTPUT = 2000  # characters of a run's captured output shown to an agent


class Forbidden(GnomonError):
    """The caller's token does not allow this call."""


@dataclass(eq=False, slots=True)
class Caller:
    """Who calls, over which connection.

    ``actor`` is the token's audit name (``token:ci``, ``local (stdio)``), ``agent`` the MCP
    client's self-declared name (a tag, never a credential), ``address`` where it connects
    from; ``previewed`` is the connection's set of successfully previewed ``(spec, tz)``.
    """

    actor: str
    scope: Scope
    agent: str
    address: str
    previewed: set[tuple[str, str]] = field(default_factory=set)


def _job_json(job: Any) -> dict[str, Any]:
    from gnomon.api.convert import job_out

    data: dict[str, Any] = job_out(job).model_dump(mode="json")
    return data


def _run_json(run: Any) -> dict[str, Any]:
    from gnomon.api.convert import run_detail

    data: dict[str, Any] = run_detail(run).model_dump(mode="json")
    if len(data.get("output") or "") > HISTORY_OUTPUT:
        data["output"] = data["output"][:HISTORY_OUTPUT] + "…"
    return data


class AgentDesk:
    """The tools' service over one scheduler (see the module docstring)."""

    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler

    # -- bookkeeping ----------------------------------------------------------------------

    def audit(
        self, caller: Caller, action: str, target: str | None, diff: dict[str, Any] | None = None
    ) -> None:
        """One audit entry, as the API writes them (``diff`` redacted here)."""
        service.record_audit(
            self.scheduler,
            actor=f"{caller.actor} via mcp ({caller.agent})",
            action=action,
            target=target,
            client=caller.address,
            diff=diff,
        )

    def require(self, caller: Caller, needed: Scope, tool: str, target: str | None) -> None:
        if caller.scope.allows(needed):
            return
        message = (
            f"{tool}: this needs the {needed.value!r} scope; the token has {caller.scope.value!r}"
        )
        self.audit(caller, f"mcp.{tool}", target, {"refused": message})
        raise Forbidden(message)

    # -- reading --------------------------------------------------------------------------

    def preview_schedule(
        self,
        caller: Caller,
        spec: str,
        tz: str = "UTC",
        lat: float | None = None,
        lon: float | None = None,
        count: int = 5,
    ) -> dict[str, Any]:
        """The schedule's description and next fires in local time and UTC."""
        from gnomon.triggers import parse
        from gnomon.triggers.base import next_fires

        self.require(caller, Scope.READ, "preview_schedule", None)
        if not 1 <= count <= MAX_PREVIEW:
            raise InvalidSpec(f"count: {count} must be from 1 to {MAX_PREVIEW}")
        if (lat is None) != (lon is None):
            raise InvalidTrigger("give both lat and lon, or neither")
        now = self.scheduler.clock.now()
        place = (lat, lon) if lat is not None and lon is not None else None
        try:
            trigger = parse(spec, tz=tz, now=now, location=place)
        except GnomonError as exc:
            self.audit(caller, "mcp.preview_schedule", None, {"spec": spec, "error": str(exc)})
            raise
        fires = next_fires(trigger, now, count)
        zone = ZoneInfo(tz)
        caller.previewed.add((spec.strip(), tz))
        self.audit(caller, "mcp.preview_schedule", None, {"spec": spec, "tz": tz})
        return {
            "spec": spec,
            "tz": tz,
            "description": trigger.describe(),
            "fires": [{"local": _local(f, zone), "utc": iso(f)} for f in fires],
            "more": "no fire left" if not fires else None,
        }

    def list_jobs(self, caller: Caller, limit: int = 50) -> dict[str, Any]:
        self.require(caller, Scope.READ, "list_jobs", None)
        if not 1 <= limit <= 500:
            raise InvalidSpec(f"limit: {limit} must be from 1 to 500")
        jobs = self.scheduler.list(limit=limit)
        self.audit(caller, "mcp.list_jobs", None)
        return {"jobs": [_brief(j) for j in jobs]}

    def job_info(self, caller: Caller, id: str) -> dict[str, Any]:
        self.require(caller, Scope.READ, "job_info", f"job:{id}")
        job = self.scheduler.get(id)
        self.audit(caller, "mcp.job_info", f"job:{id}")
        return _job_json(job)

    def job_history(self, caller: Caller, id: str, limit: int = 20) -> dict[str, Any]:
        self.require(caller, Scope.READ, "job_history", f"job:{id}")
        if not 1 <= limit <= 500:
            raise InvalidSpec(f"limit: {limit} must be from 1 to 500")
        runs = self.scheduler.runs(id, limit=limit)
        self.audit(caller, "mcp.job_history", f"job:{id}")
        return {"job_id": id, "runs": [_run_json(r) for r in runs]}

    # -- changing -------------------------------------------------------------------------

    def create_job(
        self,
        caller: Caller,
        spec: str,
        action: Mapping[str, Any],
        *,
        id: str | None = None,
        tz: str = "UTC",
        policy: Mapping[str, Any] | None = None,
        confirm: bool = False,
        name: str | None = None,
    ) -> dict[str, Any]:
        """Store a job (preview first, or ``confirm``); its name carries the agent's tag."""
        from gnomon.actions.registry import runs_local_code

        self.require(caller, Scope.WRITE, "create_job", None if id is None else f"job:{id}")
        kind, config = _action_parts(action)
        if not caller.scope.allows(Scope.ADMIN) and runs_local_code(kind, config):
            message = (
                f"action: this {kind!r} action starts a process or loads code on this "
                "host, so it needs the 'admin' scope"
            )
            self.audit(caller, "mcp.create_job", None, {"refused": message})
            raise Forbidden(message)
        if not confirm and (spec.strip(), tz) not in caller.previewed:
            raise InvalidSpec(
                f"spec: preview {spec!r} (tz {tz}) with preview_schedule on this connection "
                "and show the fires to the user first, or pass confirm=true"
            )
        tag = f"[agent:{caller.agent}]"
        job = self.scheduler.add(
            spec,
            ActionSpec(kind=kind, config=config),
            id=id,
            tz=tz,
            policy=dict(policy or {}),
            name=f"{name or kind + ' job'} {tag}"[:MAX_NAME_CHARS],
        )
        self.audit(
            caller, "job.create", f"job:{job.id}", {"after": _summary(job), "agent": caller.agent}
        )
        return _job_json(job)

    def pause_job(self, caller: Caller, id: str) -> dict[str, Any]:
        self.require(caller, Scope.WRITE, "pause_job", f"job:{id}")
        job = self.scheduler.pause(id)
        self.audit(caller, "job.pause", f"job:{id}")
        return _brief(job)

    def resume_job(self, caller: Caller, id: str) -> dict[str, Any]:
        self.require(caller, Scope.WRITE, "resume_job", f"job:{id}")
        job = self.scheduler.resume(id)
        self.audit(caller, "job.resume", f"job:{id}")
        return _brief(job)

    def cancel_job(self, caller: Caller, id: str) -> dict[str, Any]:
        """Remove the job: its pending runs are cancelled, its history is kept."""
        self.require(caller, Scope.WRITE, "cancel_job", f"job:{id}")
        before = self.scheduler.get(id)
        self.scheduler.remove(id)
        self.audit(caller, "job.remove", f"job:{id}", {"before": _summary(before)})
        return {"id": id, "removed": True}

    def trigger_job(self, caller: Caller, id: str) -> dict[str, Any]:
        self.require(caller, Scope.WRITE, "trigger_job", f"job:{id}")
        run = self.scheduler.trigger(id)
        self.audit(caller, "job.trigger", f"job:{id}", {"run_id": run.id})
        return _run_json(run)


def _action_parts(action: Any) -> tuple[str, dict[str, Any]]:
    if not isinstance(action, Mapping) or set(action) - {"kind", "config"}:
        raise InvalidAction("action must be an object {kind, config}")
    kind, config = action.get("kind"), action.get("config", {})
    if not isinstance(kind, str) or not kind:
        raise InvalidAction("action.kind must be an action kind such as 'http' or 'notify'")
    if not isinstance(config, Mapping):
        raise InvalidAction(f"{kind} action: config must be a JSON object")
    return kind, dict(config)


def _summary(job: Any) -> dict[str, Any]:
    from gnomon.api.convert import job_summary

    return job_summary(job)


def _brief(job: Any) -> dict[str, Any]:
    return {
        "id": job.id,
        "name": redact_text(job.name),
        "when": job.trigger.describe(),
        "state": job.state.value,
        "action": job.action.kind,
        "next_fire_at": None if job.next_fire_at is None else iso(job.next_fire_at),
    }


def _local(instant: datetime, zone: ZoneInfo) -> str:
    return f"{instant.astimezone(zone):%Y-%m-%d %a %H:%M:%S %z}"
