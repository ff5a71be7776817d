"""Bounded input at the door: request bodies up to a size, paths and queries without control
characters.

An ASGI middleware, so it applies to every route (REST API and dashboard) before anything
reads the body or a parameter:

- A body larger than ``max_body`` bytes is answered ``413 too_large``: at once when
  ``Content-Length`` says so, and for a body sent without one (chunked) as soon as the
  bytes received pass the limit — the route's own answer to the cut body is replaced.
- A path or query parameter holding a control character (U+0000-U+001F, U+007F) is answered
  ``422 invalid_request``. PostgreSQL cannot store or compare text holding NUL (psycopg
  refuses it), so without this a search for ``a%00b`` was a 500 there and a 404 on SQLite.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gnomon.api.problems import error_response

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class BodyTooLarge(HTTPException):
    """Raised into the app when the body passes the limit (an HTTPException, so FastAPI
    passes it on instead of calling it a malformed body)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")


def control_character_in(scope: Scope) -> tuple[str, str] | None:
    """``(field, message)`` for the first path or query value holding a control character."""
    path = scope.get("path", "")
    if _CONTROL.search(path):
        return "path", f"path {path!r} contains a control character"
    query = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True):
        if _CONTROL.search(name) or _CONTROL.search(value):
            return name, f"{name!r}: {value!r} contains a control character"
    return None


class BoundedInput:
    """The middleware: ``app.add_middleware(BoundedInput, max_body=...)``."""

    def __init__(self, app: ASGIApp, max_body: int) -> None:
        self.app, self.max_body = app, max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refused = control_character_in(scope)
        if refused is not None:
            field, message = refused
            await error_response(422, "invalid_request", message, field)(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body:
            await self._too_large(scope, receive, send)
            return
        await self._limited(scope, receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = f"the request body is larger than {self.max_body} bytes"
        await error_response(413, "too_large", message)(scope, receive, send)

    async def _limited(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app counting body bytes; past the limit, answer 413 instead of it."""
        received, over, started = 0, False, False

        async def counting_receive() -> Message:
            nonlocal received, over
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    over = True
                    raise BodyTooLarge(self.max_body)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if over and not started:
                return  # the app's answer to a body cut short: ours replaces it
            started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not over or started:
                raise
        if over and not started:
            await self._too_large(scope, receive, send)
