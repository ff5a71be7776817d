"""``gnomon mcp``: gnomon as an MCP server (official ``mcp`` SDK, 2.x ``MCPServer``).

Tools (each a thin call into :class:`~gnomon.mcp.tools.AgentDesk`): ``preview_schedule``,
``create_job``, ``list_jobs``, ``job_info``, ``job_history``, ``pause_job``, ``resume_job``,
``cancel_job``, ``trigger_job``. Resources: ``gnomon://jobs`` (the job list) and
``gnomon://jobs/{id}/runs`` (a job's recent runs).

Who calls: over stdio, the local user who started the process (``admin``, as the CLI is);
over HTTP, the bearer token of each request, checked by :mod:`gnomon.mcp.http` before the
SDK sees it and again per tool call for its scope. A :class:`~gnomon.errors.GnomonError`
comes back as an MCP tool error carrying its one-line message; anything else as the SDK's
generic "Error executing tool" (the traceback goes to the server's log only).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError
from mcp.types import CallToolResult, TextContent

from gnomon.errors import GnomonError
from gnomon.mcp.tools import AgentDesk, Caller, Forbidden
from gnomon.service import Scope

if TYPE_CHECKING:
    from gnomon.api.auth import Authenticator
    from gnomon.scheduler import Scheduler

MAX_CONNECTIONS = 1000
INSTRUCTIONS = """\
gnomon schedules jobs durably. Before create_job, call preview_schedule with the same spec
and tz, and show the user the description and fires; then call create_job (or pass
confirm=true when the user already approved the exact schedule). Schedules are written as
cron ("0 9 * * 1-5"), in words ("every weekday at 9am", "tomorrow at 9am", "in 30 minutes"),
ISO 8601, RRULE or solar events ("sunset", with lat and lon)."""


class Connections:
    """Who calls, with what was previewed on their connection.

    The SDK (2.x, protocol 2026-07-28) builds a fresh ``Connection`` for every request, so
    "the same connection" is kept here: over stdio, the process (it serves one client);
    over HTTP, the ``Mcp-Session-Id`` of a handshake-era session, else the token together
    with the client's declared name. At most :data:`MAX_CONNECTIONS` are remembered.
    """

    def __init__(self, desk: AgentDesk, auth: Authenticator | None) -> None:
        self.desk, self.auth = desk, auth
        self._previewed: OrderedDict[str, set[tuple[str, str]]] = OrderedDict()
        self._lock = threading.Lock()

    def previewed(self, key: str) -> set[tuple[str, str]]:
        with self._lock:
            found = self._previewed.pop(key, None)
            self._previewed[key] = found = found if found is not None else set()
            while len(self._previewed) > MAX_CONNECTIONS:
                self._previewed.popitem(last=False)
            return found

    def caller(self, ctx: Context) -> Caller:
        params = getattr(ctx.request_context.session, "client_params", None)
        info = getattr(params, "client_info", None)
        agent = f"{info.name} {info.version}".strip() if info is not None else "unknown agent"
        request = ctx.request_context.request
        if request is None or self.auth is None:  # stdio: the local user who started us
            return Caller("local (stdio)", Scope.ADMIN, agent, "stdio", self.previewed("stdio"))
        headers = getattr(request, "headers", {})
        secret = _bearer(headers.get("authorization"))
        address = request.client.host if getattr(request, "client", None) else "unknown"
        principal = self.auth.authenticate(secret, address)
        if principal is None:
            raise Forbidden("a valid bearer token is required")
        key = headers.get("mcp-session-id") or f"{principal.key}|{agent}"
        return Caller(principal.actor, principal.scope, agent, address, self.previewed(key))


def _bearer(header: str | None) -> str | None:
    if not header or not header.lower().startswith("bearer "):
        return None
    return header[7:].strip() or None


async def _call(
    ctx: Context, conns: Connections, work: Callable[[Caller], dict[str, Any]]
) -> dict[str, Any]:
    """Run one desk call in a worker thread (the store is synchronous).

    A :class:`GnomonError` becomes a tool error whose text is exactly its one line (a
    ``ToolError`` would gain the SDK's "Error executing tool …" prefix).
    """
    try:
        caller = conns.caller(ctx)
        return await anyio.to_thread.run_sync(work, caller)
    except GnomonError as exc:
        line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        error = CallToolResult(content=[TextContent(type="text", text=line)], is_error=True)
        # the SDK hands a returned CallToolResult to the client as it is
        return cast("dict[str, Any]", error)


def build_server(scheduler: Scheduler, auth: Authenticator | None = None) -> MCPServer:
    """An MCP server over ``scheduler``; ``auth`` checks bearer tokens (HTTP only)."""
    desk = AgentDesk(scheduler)
    conns = Connections(desk, auth)
    server: MCPServer = MCPServer("gnomon", instructions=INSTRUCTIONS, version="0.1.0")

    @server.tool()
    async def preview_schedule(
        spec: str,
        ctx: Context,
        tz: str = "UTC",
        lat: float | None = None,
        lon: float | None = None,
        count: int = 5,
    ) -> dict[str, Any]:
        """Show what a schedule means before creating a job: its description in words and
        its next fires in local time and UTC, or why it cannot be read.

        Args:
            spec: the schedule: cron, words ("every weekday at 9am"), ISO 8601, RRULE, solar.
            tz: IANA time zone the schedule is read in, e.g. "Europe/Paris".
            lat: latitude, for solar schedules (with lon).
            lon: longitude, for solar schedules (with lat).
            count: how many fires to list (1-50).
        """
        return await _call(
            ctx, conns, lambda c: desk.preview_schedule(c, spec, tz, lat, lon, count)
        )

    @server.tool()
    async def create_job(
        spec: str,
        action: dict[str, Any],
        ctx: Context,
        *,
        id: str | None = None,
        tz: str = "UTC",
        policy: dict[str, Any] | None = None,
        confirm: bool = False,
        name: str | None = None,
    ) -> dict[str, Any]:
        """Create a scheduled job. Refused unless preview_schedule was called first with the
        same spec and tz on this connection, or confirm is true. Actions that run code on
        the host (shell, python, stdio MCP servers) need an admin token.

        Args:
            spec: the schedule, as given to preview_schedule.
            action: what to do: {"kind": "http"|"notify"|"mqtt"|"mcp"|..., "config": {...}}.
            id: the job's id (default: generated).
            tz: IANA time zone of the schedule.
            policy: retries, timeout, misfire and overlap, e.g. {"max_attempts": 3}.
            confirm: true when the user approved this exact schedule without a preview.
            name: a name for people; the agent's name is added as a tag.
        """
        return await _call(
            ctx,
            conns,
            lambda c: desk.create_job(
                c, spec, action, id=id, tz=tz, policy=policy, confirm=confirm, name=name
            ),
        )

    @server.tool()
    async def list_jobs(ctx: Context, limit: int = 50) -> dict[str, Any]:
        """List jobs (id, name, schedule in words, state, next fire).

        Args:
            limit: at most this many jobs (1-500).
        """
        return await _call(ctx, conns, lambda c: desk.list_jobs(c, limit))

    @server.tool()
    async def job_info(id: str, ctx: Context) -> dict[str, Any]:
        """One job in full: schedule, action (secrets masked), policy, state, next fire.

        Args:
            id: the job's id.
        """
        return await _call(ctx, conns, lambda c: desk.job_info(c, id))

    @server.tool()
    async def job_history(id: str, ctx: Context, limit: int = 20) -> dict[str, Any]:
        """A job's recent runs, newest first, with status, result and error.

        Args:
            id: the job's id.
            limit: at most this many runs (1-500).
        """
        return await _call(ctx, conns, lambda c: desk.job_history(c, id, limit))

    for verb, doc in (
        ("pause", "Pause a job: it does not fire until resumed."),
        ("resume", "Resume a paused job from now (the pause's fires: one missed run)."),
        ("cancel", "Remove a job: its pending runs are cancelled, its history is kept."),
        ("trigger", "Run a job now, outside its schedule."),
    ):
        _add_by_id(server, conns, f"{verb}_job", doc)

    _add_resources(server, desk)
    return server


def _add_by_id(server: MCPServer, conns: Connections, tool: str, doc: str) -> None:
    method = getattr(conns.desk, tool)

    async def by_id(id: str, ctx: Context) -> dict[str, Any]:
        return await _call(ctx, conns, lambda c: method(c, id))

    by_id.__doc__ = f"{doc}\n\nArgs:\n    id: the job's id.\n"
    server.add_tool(by_id, name=tool)


def _add_resources(server: MCPServer, desk: AgentDesk) -> None:
    """Read-only views; over HTTP the request was authenticated before it got here."""
    reader = Caller("resource reader", Scope.READ, "resource", "mcp")

    def read(work: Callable[[], Any]) -> str:
        try:
            return json.dumps(work(), indent=1)
        except GnomonError as exc:
            raise ResourceError(str(exc)) from None

    @server.resource(
        "gnomon://jobs",
        name="jobs",
        mime_type="application/json",
        description="Every job: id, name, schedule in words, state, next fire.",
    )
    def jobs() -> str:
        return read(lambda: desk.list_jobs(reader, 500))

    @server.resource(
        "gnomon://jobs/{id}/runs",
        name="job-runs",
        mime_type="application/json",
        description="A job's 20 most recent runs, newest first.",
    )
    def job_runs(id: str) -> str:
        return read(lambda: desk.job_history(reader, id, 20))
