"""``mcp`` action: call one tool on an MCP server (needs ``gnomon[mcp]``).

Config (normalised by :meth:`McpAction.validate`)::

    server       {"command": [argv...], "env": {...}, "cwd": "..."}    stdio: a fresh process
                 {"url": "http://host:port/mcp", "headers": {...}}      streamable HTTP
    server_name  a server named in GNOMON_MCP_SERVERS, instead of ``server``
    tool         the tool's name                                        required
    arguments    a JSON object                                          {}

``GNOMON_MCP_SERVERS`` maps names to server specs of the same form (a JSON object, or the
path of a JSON or YAML file: :func:`gnomon.settings.mcp_servers`), so credentials live with
the operator rather than in each job. A named server is looked up when the job is created
(the name must exist) and again at each run (so edits apply).

Authorization (:meth:`McpAction.runs_local_code`): a ``server`` given in the job with a
``command`` starts that command on this host, so the job needs the ``admin`` scope; an HTTP
``server``, or a ``server_name`` (vetted by the operator, stdio or not), needs ``write``.

Contract of :meth:`McpAction.execute`: one connection per attempt (a stdio server is
started and stopped each time, getting the run's ``GNOMON_*`` identity in its environment;
HTTP requests carry it as ``X-Gnomon-*`` headers). The tool's structured content (or else its
text content) is the result; a tool error (``isError``) is a failure carrying the tool's
error text; ``ctx.timeout`` bounds the whole call (connect included) and gives
``timed_out``; a cancelled run stops waiting. Values of ``env`` and ``headers`` and URL
passwords are masked in everything the outcome shows. The SDK is imported here lazily: it
costs about a second, which only runs that use MCP should pay.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import tempfile
import time
from collections.abc import Awaitable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, TextIO, TypeVar
from urllib.parse import urlsplit

from gnomon.actions.base import OUTPUT_CAP, RunContext, cap_output
from gnomon.errors import ConfigError, InvalidAction
from gnomon.models import Outcome, RunStatus
from gnomon.redaction import MASK, redact_text
from gnomon.settings import MCP_SERVERS_ENV as SERVERS_ENV
from gnomon.settings import mcp_servers

if TYPE_CHECKING:
    from mcp.types import CallToolResult

_FIELDS = frozenset({"server", "server_name", "tool", "arguments"})
_STDIO_FIELDS = frozenset({"command", "env", "cwd"})
_HTTP_FIELDS = frozenset({"url", "headers"})
_POLL = 0.1  # how often a call checks for cancellation, seconds
_T = TypeVar("_T")


def _bad(message: str) -> InvalidAction:
    return InvalidAction(f"mcp action: {message}")


def _string_map(where: str, value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise _bad(f"{where} must be an object of string values")
    return dict(value)


def check_server(spec: Any, where: str = "server") -> dict[str, Any]:
    """Validate one server spec (stdio or HTTP); return it normalised."""
    if not isinstance(spec, dict):
        raise _bad(f"{where} must be an object with either command or url")
    if ("command" in spec) == ("url" in spec):
        raise _bad(f"{where} needs exactly one of command (stdio) or url (HTTP)")
    allowed = _STDIO_FIELDS if "command" in spec else _HTTP_FIELDS
    unknown = set(spec) - allowed
    if unknown:
        raise _bad(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    if "url" in spec:
        url = spec["url"]
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise _bad(f"{where}.url {redact_text(str(url))!r} must be an http(s):// URL")
        return {"url": url, "headers": _string_map(f"{where}.headers", spec.get("headers", {}))}
    argv = spec["command"]
    if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
        raise _bad(f"{where}.command must be a non-empty list of strings (an argv, no shell)")
    out: dict[str, Any] = {"command": list(argv)}
    out["env"] = _string_map(f"{where}.env", spec.get("env", {}))
    if "cwd" in spec:
        if not isinstance(spec["cwd"], str):
            raise _bad(f"{where}.cwd must be a string")
        out["cwd"] = spec["cwd"]
    return out


def named_servers(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The servers defined in ``GNOMON_MCP_SERVERS`` (unvalidated specs by name)."""
    try:
        return mcp_servers(env)
    except ConfigError as exc:
        raise _bad(str(exc)) from None


def resolve_server(name: str) -> dict[str, Any]:
    """The validated spec of the server called ``name`` in ``GNOMON_MCP_SERVERS``."""
    servers = named_servers()
    if name not in servers:
        known = ", ".join(sorted(servers)) or "none defined"
        raise _bad(f"server_name {name!r} is not in {SERVERS_ENV} (known: {known})")
    return check_server(servers[name], f"{SERVERS_ENV}[{name!r}]")


def _secrets_of(spec: Mapping[str, Any]) -> list[str]:
    """Strings to mask in the outcome: env and header values, URL passwords."""
    values = [*spec.get("env", {}).values(), *spec.get("headers", {}).values()]
    # "Bearer <token>", "Basic <b64>": the credential alone may be echoed back, mask it too
    values += [v.split(None, 1)[1] for v in spec.get("headers", {}).values() if " " in v.strip()]
    password = urlsplit(spec["url"]).password if "url" in spec else None
    if password:
        values.append(password)
    return sorted({v for v in values if len(v) >= 4}, key=len, reverse=True)


def _mask(value: Any, secrets: list[str]) -> Any:
    """A copy of a JSON value with each secret string (and registered secret) masked.

    Only values are masked, never whole keys: a tool's ``token_count`` is data, not a secret.
    """
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, MASK)
        return redact_text(value)
    if isinstance(value, dict):
        return {k: _mask(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v, secrets) for v in value]
    return value


def _describe(spec: Mapping[str, Any]) -> str:
    if "url" in spec:
        return f"MCP server {spec['url']}"
    return f"MCP server {' '.join(spec['command'])}"


def _leaf(exc: BaseException) -> BaseException:
    """The first real error inside (possibly nested) exception groups."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


class _Stopped(Exception):
    def __init__(self, status: RunStatus, error: str) -> None:
        super().__init__(error)
        self.status, self.error = status, error


async def _supervise(work: Awaitable[_T], ctx: RunContext) -> _T:
    """Await ``work`` while honouring ``ctx.timeout`` and ``ctx.cancelled``.

    On either, the work is cancelled *and awaited*, so the SDK can stop a stdio server
    (it closes stdin, then terminates the process group) before the run ends.
    """
    task = asyncio.ensure_future(work)
    until = None if ctx.timeout is None else time.monotonic() + ctx.timeout
    while True:
        step = _POLL if until is None else max(0.0, min(_POLL, until - time.monotonic()))
        done, _ = await asyncio.wait({task}, timeout=step)
        if done:
            return task.result()
        stop: _Stopped | None = None
        if ctx.cancelled.is_set():
            stop = _Stopped(RunStatus.CANCELLED, "cancelled while calling the MCP tool")
        elif until is not None and time.monotonic() >= until:
            error = f"timed out after {ctx.timeout:g} s calling the MCP tool"
            stop = _Stopped(RunStatus.TIMED_OUT, error)
        if stop is not None:
            task.cancel()
            await asyncio.wait({task})
            raise stop


async def _call_tool(
    spec: Mapping[str, Any], tool: str, arguments: dict[str, Any], ctx: RunContext, errlog: TextIO
) -> tuple[CallToolResult, str]:
    """Connect, call ``tool`` once, disconnect; return the result and the server's name."""
    from mcp import Client, StdioServerParameters
    from mcp.client.stdio import stdio_client
    from mcp.client.streamable_http import streamable_http_client

    # the SDK's own client factory (its MCP timeouts); a private module, hence mcp<3 pinned
    from mcp.shared._httpx_utils import create_mcp_http_client

    identity = ctx.environment()
    async with contextlib.AsyncExitStack() as stack:
        if "command" in spec:
            params = StdioServerParameters(
                command=spec["command"][0],
                args=spec["command"][1:],
                env={**spec["env"], **identity},
                cwd=spec.get("cwd"),
            )
            transport: Any = stdio_client(params, errlog=errlog)
        else:
            # GNOMON_RUN_ID -> X-Gnomon-Run-Id, as the http action sends it
            headers = {
                "X-" + "-".join(p.capitalize() for p in k.split("_")): v
                for k, v in identity.items()
            }
            http = create_mcp_http_client(headers={**spec["headers"], **headers})
            await stack.enter_async_context(http)
            transport = streamable_http_client(spec["url"], http_client=http)
        client = await stack.enter_async_context(Client(transport))
        result = await client.call_tool(tool, arguments)
        return result, client.server_info.name if client.server_info else "?"


def _tool_text(result: CallToolResult) -> str:
    parts = [getattr(block, "text", None) or f"[{block.type} content]" for block in result.content]
    return "\n".join(parts)


def _outcome(result: CallToolResult, tool: str, log: list[str]) -> Outcome:
    """Turn a tool result into the run's outcome (structured content first, else text)."""
    text = _tool_text(result)
    if result.is_error:
        first = text.strip().splitlines()[0] if text.strip() else "the tool reported an error"
        return Outcome.failure(f"tool {tool!r} failed: {first}", output="\n".join([*log, text]))
    value = result.structured_content if result.structured_content is not None else text
    return Outcome.success(value, "\n".join(log))


class McpAction:
    kind: ClassVar[str] = "mcp"
    secret_fields: ClassVar[frozenset[str]] = frozenset({"env", "headers"})

    def runs_local_code(self, config: Mapping[str, Any]) -> bool:
        """A stdio ``server`` given in the job starts its command here; an HTTP one does not,
        nor does a ``server_name`` from ``GNOMON_MCP_SERVERS`` (the operator vetted it)."""
        if "server" not in config:
            return "server_name" not in config  # neither: malformed, so assume the worst
        server = config["server"]
        return not (isinstance(server, dict) and "url" in server and "command" not in server)

    def validate(self, config: Mapping[str, Any]) -> dict[str, Any]:
        unknown = set(config) - _FIELDS
        if unknown:
            raise _bad(f"unknown field(s) {', '.join(sorted(unknown))}")
        out: dict[str, Any] = {}
        if ("server" in config) == ("server_name" in config):
            raise _bad(
                "give exactly one of server (a spec) or server_name (from GNOMON_MCP_SERVERS)"
            )
        if "server" in config:
            out["server"] = check_server(config["server"])
        else:
            name = config["server_name"]
            if not isinstance(name, str) or not name:
                raise _bad("server_name must be a non-empty string")
            resolve_server(name)
            out["server_name"] = name
        tool = config.get("tool")
        if not isinstance(tool, str) or not tool.strip():
            raise _bad("tool must be a non-empty string (the tool's name)")
        out["tool"] = tool.strip()
        arguments = config.get("arguments", {})
        if not isinstance(arguments, dict):
            raise _bad("arguments must be a JSON object")
        try:
            json.dumps(arguments, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise _bad(f"arguments must be JSON: {exc}") from None
        out["arguments"] = dict(arguments)
        return out

    def execute(self, config: Mapping[str, Any], ctx: RunContext) -> Outcome:
        try:
            spec = config.get("server") or resolve_server(config["server_name"])
        except InvalidAction as exc:
            return Outcome.failure(str(exc))
        secrets = _secrets_of(spec)
        tool = config["tool"]
        with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as errlog:
            outcome = self._run(spec, tool, dict(config.get("arguments", {})), ctx, errlog)
            errlog.seek(0)
            stderr = errlog.read(OUTPUT_CAP)
        output = outcome.output + (f"\n--- server stderr ---\n{stderr}" if stderr else "")
        return Outcome(
            status=outcome.status,
            result=_mask(outcome.result, secrets),
            error=None if outcome.error is None else _mask(outcome.error, secrets),
            output=cap_output(_mask(output, secrets)),
        )

    def _run(
        self,
        spec: Mapping[str, Any],
        tool: str,
        args: dict[str, Any],
        ctx: RunContext,
        errlog: TextIO,
    ) -> Outcome:
        where = _describe(spec)
        started = time.monotonic()
        try:
            result, name = asyncio.run(_supervise(_call_tool(spec, tool, args, ctx, errlog), ctx))
        except _Stopped as stop:
            return Outcome(status=stop.status, error=stop.error, output=where)
        except ImportError as exc:
            return Outcome.failure(f"the mcp action needs gnomon[mcp] installed ({exc})")
        except Exception as exc:  # the SDK raises many kinds; each becomes one line
            leaf = _leaf(exc)
            return Outcome.failure(f"{where}: {type(leaf).__name__}: {leaf}".splitlines()[0])
        took = time.monotonic() - started
        return _outcome(result, tool, [f"{where} ({name}): called {tool!r} in {took:.3f} s"])
