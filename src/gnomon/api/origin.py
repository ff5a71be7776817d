"""Requests from this server's own users only: Host and Origin checks, CSRF in open mode.

Open mode serves whoever reaches a loopback port as ``admin`` — and web pages the local user
visits can reach it too. This middleware closes the ways they could:

- **DNS rebinding.** A page on ``evil.example`` re-points its name to 127.0.0.1 and then calls
  the API as its own origin; its requests carry ``Host: evil.example``. A server that may run
  in open mode (``open_access``: bound to loopback, no token at start) serves only requests
  whose Host is a loopback address or ``localhost`` (any port: the name is what rebinding
  fakes), reads included.
- **Cross-site requests**, in every mode: a state-changing request (POST, PUT, PATCH, DELETE)
  whose ``Origin`` — or, without one, ``Referer`` — is another origin than its ``Host`` (or a
  reverse proxy's ``X-Forwarded-Host``) is refused. ``Origin: null`` is another origin.
- **CSRF in open mode.** A state-changing API request (``/api/…``) that carries no Origin must
  be one a page elsewhere cannot send without a CORS preflight (which this server never
  grants): a JSON body (``Content-Type: application/json``), an ``Authorization`` header or an
  ``X-Requested-With`` header. Bodiless POSTs (trigger, pause, resume) included: a client such
  as curl adds ``-H 'X-Requested-With: gnomon'``. The dashboard's own forms (outside
  ``/api/``) carry a CSRF token instead (:mod:`gnomon.web.session`).

Refusals are ``403 forbidden`` with ``field`` naming the header at fault.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PREFLIGHT_HEADERS = ("authorization", "x-requested-with")


def is_local_host(host: str) -> bool:
    """Whether a ``Host`` header names this machine: a loopback address or ``localhost``."""
    try:
        name = urlsplit(f"//{host}").hostname
    except ValueError:
        return False
    if not name:
        return False
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _authority(value: str) -> str:
    """``host[:port]`` of a Host header or an origin URL, lowercased, default ports dropped."""
    if "//" in value:
        value = urlsplit(value).netloc
    value = value.lower().rsplit("@", 1)[-1]
    for default in (":80", ":443"):
        value = value.removesuffix(default)
    return value


def _own_authorities(headers: Mapping[str, str]) -> set[str]:
    """The names this request reached us by: ``Host``, and a proxy's ``X-Forwarded-Host``
    (a cross-site page cannot set that header without a preflight, so a proxy did)."""
    names = [headers.get("host", ""), headers.get("x-forwarded-host", "").split(",")[0]]
    return {_authority(n.strip()) for n in names if n.strip()}


def _foreign_origin(headers: Mapping[str, str]) -> tuple[str, str] | None:
    """The header and value naming another origin than this server's, if any."""
    for name in ("origin", "referer"):
        value = headers.get(name)
        if value is None:
            continue
        if value == "null" or _authority(value) not in _own_authorities(headers):
            return name.capitalize(), value
        return None  # a same-origin Origin settles it; a Referer is read only without one
    return None


def _cannot_be_forged(headers: Mapping[str, str]) -> bool:
    """Whether a cross-site page could only send this after a CORS preflight."""
    media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type == "application/json" or media_type.endswith("+json"):
        return True
    return any(name in headers for name in PREFLIGHT_HEADERS)


def refusal(
    method: str, path: str, headers: Mapping[str, str], open_access: bool
) -> tuple[str, str] | None:
    """Why this request is refused, as ``(message, header)``; None if it may go on."""
    host = headers.get("host")
    if open_access and host is not None and not is_local_host(host):
        return (
            f"Host {host!r} is not this machine: a server that may run without tokens "
            "answers only to 127.0.0.1, [::1] or localhost",
            "Host",
        )
    if method not in STATE_CHANGING:
        return None
    foreign = _foreign_origin(headers)
    if foreign is not None:
        header, value = foreign
        return (
            f"a {method} from {value!r} is refused: changes must come from this "
            "server's own pages or from a client that sends no Origin",
            header,
        )
    api = path.startswith("/api/")
    if open_access and api and "origin" not in headers and not _cannot_be_forged(headers):
        return (
            "open mode: a change through the API must send Content-Type: "
            "application/json or an X-Requested-With header (so that no web page "
            "can forge it)",
            "X-Requested-With",
        )
    return None


class LocalOnly:
    """ASGI middleware applying :func:`refusal` to every HTTP request."""

    def __init__(self, app: ASGIApp, *, open_access: bool) -> None:
        self.app, self.open_access = app, open_access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            found = refusal(scope["method"], scope["path"], Headers(scope=scope), self.open_access)
            if found is not None:
                message, header = found
                body = {"code": "forbidden", "message": message, "field": header}
                await JSONResponse(body, status_code=403)(scope, receive, send)
                return
        await self.app(scope, receive, send)
