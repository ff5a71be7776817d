"""``gnomon mcp --http``: the MCP server over streamable HTTP, behind the API's bearer tokens.

Binding rules are the REST API's (:func:`gnomon.api.server.open_mode_allowed`): with no live
token, only a loopback address may be served, in open mode (every caller is ``admin``);
once a token exists, every request needs ``Authorization: Bearer gnm_…``. A request without
a valid token is refused with 401 here, before the SDK sees it; each tool call then checks
the token's scope (:class:`gnomon.mcp.server.Connections`).
"""

from __future__ import annotations

import json
import sys
import threading
from typing import TYPE_CHECKING, Any

import uvicorn

from gnomon.api.auth import Authenticator
from gnomon.api.server import open_mode_allowed
from gnomon.errors import ConfigError
from gnomon.mcp.server import _bearer, build_server

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, MutableMapping

    from gnomon.scheduler import Scheduler

    Scope = MutableMapping[str, Any]
    Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
    Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
    App = Callable[[Scope, Receive, Send], Awaitable[None]]


class BearerGate:
    """ASGI middleware: HTTP requests need a token the :class:`Authenticator` accepts."""

    def __init__(self, app: App, auth: Authenticator) -> None:
        self.app, self.auth = app, auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = {
                k.decode("latin-1").lower(): v.decode("latin-1")
                for k, v in scope.get("headers", [])
            }
            secret = _bearer(headers.get("authorization"))
            client = scope.get("client") or ("unknown", 0)
            if self.auth.authenticate(secret, str(client[0])) is None:
                message = (
                    "unknown or revoked token" if secret else "a valid bearer token is required"
                )
                await _refuse(send, message)
                return
        await self.app(scope, receive, send)


async def _refuse(send: Send, message: str) -> None:
    body = json.dumps({"error": "unauthorized", "detail": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 401,
            "headers": [
                (b"content-type", b"application/json"),
                (b"www-authenticate", b"Bearer"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def serve_http(scheduler: Scheduler, host: str = "127.0.0.1", port: int = 8788) -> None:
    """Serve until interrupted; prints ``gnomon MCP server on URL`` to stderr once listening
    (``port=0`` picks a free port, shown there)."""
    open_mode = open_mode_allowed(scheduler, host, None)
    auth = Authenticator(scheduler, open_access=open_mode)
    mcp_app = build_server(scheduler, auth).streamable_http_app(host=host)
    config = uvicorn.Config(
        BearerGate(mcp_app, auth),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="gnomon-mcp-http", daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise ConfigError(
                f"the MCP server could not start on {host}:{port} (is the port taken?)"
            )
        thread.join(0.02)  # waiting on the server thread to bind
    bound = server.servers[0].sockets[0].getsockname()[1] if server.servers else port
    shown = f"[{host}]" if ":" in host else host
    mode = " (open mode: no token exists yet)" if open_mode else ""
    print(f"gnomon MCP server on http://{shown}:{bound}/mcp{mode}", file=sys.stderr, flush=True)  # noqa: T201 - where the server listens, on stderr
    try:
        while thread.is_alive():
            thread.join(0.5)
    except KeyboardInterrupt:
        server.should_exit = True
        thread.join(5)
