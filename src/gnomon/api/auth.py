"""Who is calling, and may they? Bearer tokens with scopes, and the open local mode.

A request carries ``Authorization: Bearer gnm_…`` (the dashboard sends the same token from
its session cookie). Scopes nest: ``read`` ⊂ ``write`` ⊂ ``admin``; creating or changing an
action that starts a process or loads code on this host needs ``admin`` (each action kind
declares whether it does: ``shell``, ``python``, ``mcp`` with a stdio server given in the
job, a ``sequence`` holding one, and any plugin kind that does not declare otherwise).

*Open mode* — allowed only when the server binds a loopback address — lets every request act
as ``admin`` while no live token exists; creating the first token ends it. Because it trusts
whoever reaches the port, :mod:`gnomon.api.origin` lets only the local user's own requests
through (no DNS rebinding, no cross-site requests).
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gnomon import service
from gnomon.api.problems import ApiError
from gnomon.api.ratelimit import RateLimiter
from gnomon.service import Scope

if TYPE_CHECKING:
    from gnomon.scheduler import Scheduler

bearer = HTTPBearer(auto_error=False, description="A token from `gnomon token create`.")
_BEARER = Depends(bearer)


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller: ``actor`` is what the audit log records."""

    actor: str
    scope: Scope
    key: str  # rate-limit bucket
    open: bool = False


class Authenticator:
    """Turns a bearer secret into a :class:`Principal` (or None)."""

    def __init__(
        self,
        scheduler: Scheduler,
        *,
        static_tokens: Mapping[str, str] | None = None,
        open_access: bool = False,
    ) -> None:
        self.scheduler, self.clock, self.open_access = scheduler, scheduler.clock, open_access
        self._static = {secret: Scope(scope) for secret, scope in (static_tokens or {}).items()}
        self._open_checked = -1e18
        self._open = False
        self._lock = threading.Lock()

    def is_open(self) -> bool:
        """True while open mode applies (re-checked at most once a second)."""
        if not self.open_access or self._static:
            return False
        now = self.clock.monotonic()
        with self._lock:
            if now - self._open_checked >= 1.0:
                self._open = service.live_token_count(self.scheduler) == 0
                self._open_checked = now
            return self._open

    def forget(self) -> None:
        """Re-check open mode on the next request (after a token was created)."""
        with self._lock:
            self._open_checked = -1e18

    def authenticate(self, secret: str | None, client: str) -> Principal | None:
        if secret:
            for known, scope in self._static.items():
                if hmac.compare_digest(known.encode(), secret.encode()):
                    return Principal("token:configured", scope, "token:configured")
            info = service.verify_token(self.scheduler, secret)
            if info is not None:
                return Principal(f"token:{info.name}", info.scope, f"token:{info.id}")
            return None
        if self.is_open():
            return Principal("local (open mode)", Scope.ADMIN, f"ip:{client}", open=True)
        return None


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def check(
    request: Request,
    secret: str | None,
    needed: Scope,
    auth: Authenticator,
    limiter: RateLimiter | None,
) -> Principal:
    """Authenticate, rate-limit and authorise one request; raise :class:`ApiError` if not."""
    client = client_of(request)
    principal = auth.authenticate(secret, client)
    if limiter is not None:
        wait = limiter.take(principal.key if principal else f"ip:{client}")
        if wait > 0:
            retry = str(max(1, int(wait + 0.999)))
            raise ApiError(
                429,
                "rate_limited",
                f"too many requests; retry in {retry} s",
                headers={"Retry-After": retry},
            )
    if principal is None:
        message = "a valid bearer token is required" if not secret else "unknown or revoked token"
        raise ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"})
    if not principal.scope.allows(needed):
        raise ApiError(
            403,
            "forbidden",
            f"this needs the {needed.value!r} scope; the token has {principal.scope.value!r}",
        )
    return principal


def need(scope: Scope) -> Callable[..., Principal]:
    """A FastAPI dependency: the caller, who must hold ``scope``."""

    def dependency(
        request: Request, credentials: HTTPAuthorizationCredentials | None = _BEARER
    ) -> Principal:
        ctx = request.app.state.gnomon
        secret = credentials.credentials if credentials else None
        principal = check(request, secret, scope, ctx.auth, ctx.limiter)
        request.state.principal = principal
        return principal

    return dependency


def require_admin_for(principal: Principal, kind: str, config: Any) -> None:
    """Refuse (403) an action that runs code on this host unless the caller is ``admin``.

    Which actions do is decided by :func:`gnomon.actions.registry.runs_local_code` (each kind
    declares it; an undeclared plugin kind does). Asked before the config is validated, since
    validating a ``python`` action imports its module.
    """
    if principal.scope.allows(Scope.ADMIN):
        return
    from gnomon.actions.registry import runs_local_code

    if runs_local_code(kind, config):
        raise ApiError(
            403,
            "forbidden",
            f"action: this {kind!r} action starts a process or loads code on this "
            "host, so it needs the 'admin' scope",
            field="action",
        )
