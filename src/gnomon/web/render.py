"""Jinja2 set-up: autoescaping everywhere, filters for times and statuses, security headers."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from gnomon.api.context import context
from gnomon.instants import iso
from gnomon.open_mode import FIRST_TOKEN_COMMAND, OPEN_MODE_ADVICE
from gnomon.redaction import redact_text
from gnomon.service import Scope
from gnomon.web.session import csrf_token, remember_csrf

HERE = Path(__file__).parent
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def when(value: datetime | None) -> str:
    return "—" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def stamp(value: datetime | None, zone: str = "") -> Markup:
    """A ``<time>`` element: UTC on the server; the script shows it in ``zone`` (a job's time
    zone) or the browser's, and keeps UTC on hover."""
    if value is None:
        return Markup("—")
    zone_attr = Markup(' data-tz="{}"').format(zone) if zone else ""
    return Markup('<time datetime="{}" title="{}"{}>{}</time>').format(
        iso(value), when(value), zone_attr, when(value)
    )


def seconds(value: float | None) -> str:
    """A short duration: '120 ms', '4.2 s', '3 min 5 s', '2 h 10 min'."""
    if value is None:
        return "—"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 60:
        return f"{value:.1f} s"
    if value < 3600:
        return f"{int(value // 60)} min {int(value % 60)} s"
    return f"{int(value // 3600)} h {int(value % 3600 // 60)} min"


def relative(value: datetime | None, now: datetime) -> str:
    """'in 5 min', '3 h ago': for people scanning a table."""
    if value is None:
        return "—"
    seconds = (value - now).total_seconds()
    size = abs(seconds)
    if size < 60:
        text = f"{int(size)} s"
    elif size < 3600:
        text = f"{int(size // 60)} min"
    elif size < 172_800:
        text = f"{size / 3600:.1f} h".replace(".0 h", " h")
    else:
        text = f"{int(size // 86400)} d"
    return f"in {text}" if seconds >= 0 else f"{text} ago"


def duration(started: datetime | None, finished: datetime | None) -> str:
    if started is None or finished is None:
        return "—"
    return seconds((finished - started).total_seconds())


env = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
env.filters.update(
    when=when, duration=duration, redact=redact_text, stamp=stamp, iso=iso, seconds=seconds
)
env.globals.update(first_token_command=FIRST_TOKEN_COMMAND, open_mode_advice=OPEN_MODE_ADVICE)


def render(request: Request, template: str, status_code: int = 200, **values: Any) -> HTMLResponse:
    """Render a page with the common values (CSRF token, open-mode banner, now)."""
    ctx = context(request)
    now = ctx.scheduler.clock.now()
    who = values.setdefault("who", getattr(request.state, "principal", None))
    values.setdefault("can_write", who is not None and who.scope.allows(Scope.WRITE))
    page = env.get_template(template).render(
        request=request,
        csrf=csrf_token(request),
        open_mode=ctx.auth.is_open(),
        now=now,
        relative=lambda v: relative(v, now),
        **values,
    )
    response = HTMLResponse(page, status_code=status_code)
    remember_csrf(request, response)
    return response
