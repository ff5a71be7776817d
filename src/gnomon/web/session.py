"""Dashboard sessions and CSRF.

The dashboard signs in with an API token (pasted once on ``/login``), kept in an HttpOnly,
``SameSite=Strict`` cookie; every page checks it exactly as the API checks a bearer token.
In open mode no sign-in is needed. Every form carries a CSRF token: an HMAC of a random
per-browser cookie under the app's secret, checked on each POST (403 if wrong or missing).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request, Response

from gnomon.api.auth import Principal, check
from gnomon.api.context import context
from gnomon.api.problems import ApiError
from gnomon.service import Scope

TOKEN_COOKIE = "gnomon_token"  # noqa: S105 - a cookie's name, not a password
CSRF_COOKIE = "gnomon_csrf"


class LoginRequired(Exception):
    """No valid session: the page redirects to ``/login``."""


def principal(request: Request, scope: Scope = Scope.READ) -> Principal:
    """The signed-in caller holding ``scope``; :class:`LoginRequired` if none."""
    ctx = context(request)
    secret = request.cookies.get(TOKEN_COOKIE)
    try:
        who = check(request, secret, scope, ctx.auth, ctx.limiter)
    except ApiError as exc:
        if exc.status == 401:
            raise LoginRequired from None
        raise
    request.state.principal = who
    return who


def csrf_seed(request: Request) -> str:
    """The browser's CSRF cookie value, made up (and remembered on the request) if new."""
    seed = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "csrf_seed", None)
    if not seed:
        seed = secrets.token_urlsafe(24)
        request.state.csrf_seed = seed
    return str(seed)


def csrf_token(request: Request) -> str:
    key = context(request).secret
    return hmac.new(key, csrf_seed(request).encode(), hashlib.sha256).hexdigest()


def remember_csrf(request: Request, response: Response) -> None:
    """Set the CSRF cookie if this request made one up."""
    seed = getattr(request.state, "csrf_seed", None)
    if seed and not request.cookies.get(CSRF_COOKIE):
        response.set_cookie(
            CSRF_COOKIE,
            seed,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )


def check_csrf(request: Request, submitted: str | None) -> None:
    """Refuse a form whose CSRF token is missing or wrong (403 ``forbidden``)."""
    seed = request.cookies.get(CSRF_COOKIE)
    if not seed or not submitted or not hmac.compare_digest(submitted, csrf_token(request)):
        raise ApiError(
            403,
            "forbidden",
            "the form's CSRF token is missing or wrong; reload the page and try again",
        )
