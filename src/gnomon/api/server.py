"""Serving the app with uvicorn in a background thread (for ``gnomon up`` and ``gnomon api``).

Binding rules: with no token configured, a loopback address (127.0.0.1, ::1, localhost)
runs in *open mode* and says so loudly (:data:`gnomon.open_mode.OPEN_MODE_ADVICE`); any other
address is refused with :class:`~gnomon.errors.ConfigError`.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import uvicorn

from gnomon import service
from gnomon.api.app import DEFAULT_RATE_LIMIT, create_app
from gnomon.api.ratelimit import RateLimit
from gnomon.errors import ConfigError
from gnomon.open_mode import FIRST_TOKEN_COMMAND

if TYPE_CHECKING:
    from gnomon.scheduler import Scheduler

log = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def open_mode_allowed(scheduler: Scheduler, host: str, tokens: Mapping[str, str] | None) -> bool:
    """Whether to serve without auth; raises :class:`ConfigError` if that is not allowed."""
    if tokens or service.live_token_count(scheduler) > 0:
        return False
    if not is_loopback(host):
        raise ConfigError(
            f"refusing to serve the API on {host} without authentication: create a first "
            f"token ({FIRST_TOKEN_COMMAND}) or bind to 127.0.0.1"
        )
    return True


@dataclass
class ApiServer:
    """A running server: ``url`` to print, ``stop()`` to end it."""

    server: uvicorn.Server
    thread: threading.Thread
    host: str
    port: int
    open_mode: bool

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)


def build_server(
    scheduler: Scheduler,
    host: str = "127.0.0.1",
    port: int = 8787,
    *,
    tokens: Mapping[str, str] | None = None,
    rate_limit: RateLimit | None = DEFAULT_RATE_LIMIT,
    log_level: str = "warning",
) -> tuple[uvicorn.Server, bool]:
    """A uvicorn server for the app, and whether it runs in open mode (see the module doc)."""
    open_mode = open_mode_allowed(scheduler, host, tokens)
    app = create_app(scheduler, tokens=tokens, open_access=open_mode, rate_limit=rate_limit)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        lifespan="off",
        timeout_graceful_shutdown=2,
        access_log=False,
        log_config=None,  # uvicorn's loggers go through gnomon's handler (gnomon.logs)
    )
    return uvicorn.Server(config), open_mode


def serve_in_background(
    scheduler: Scheduler,
    host: str = "127.0.0.1",
    port: int = 8787,
    *,
    tokens: Mapping[str, str] | None = None,
    rate_limit: RateLimit | None = DEFAULT_RATE_LIMIT,
    log_level: str = "warning",
    startup_timeout: float = 15.0,
) -> ApiServer:
    """Start the API and dashboard in a daemon thread; return once it accepts connections.

    ``port=0`` picks a free port (see ``ApiServer.port``). Raises :class:`ConfigError` for a
    non-loopback ``host`` without tokens, or when the server cannot start (port taken).
    """
    server, open_mode = build_server(
        scheduler, host, port, tokens=tokens, rate_limit=rate_limit, log_level=log_level
    )
    thread = threading.Thread(target=server.run, name="gnomon-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise ConfigError(f"the API could not start on {host}:{port} (is the port taken?)")
        time.sleep(0.02)  # waiting on the server thread, not on scheduled time
    bound = server.servers[0].sockets[0].getsockname()[1] if server.servers else port
    return ApiServer(server=server, thread=thread, host=host, port=int(bound), open_mode=open_mode)
