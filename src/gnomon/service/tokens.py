"""Tokens: create, revoke, list and verify them, and count the live ones (none: open mode)."""

from __future__ import annotations

from dataclasses import dataclass

from gnomon.errors import InvalidSpec
from gnomon.open_mode import LAST_TOKEN_REFUSAL
from gnomon.scheduler import Scheduler
from gnomon.store import admin
from gnomon.store.admin import Scope, TokenInfo


@dataclass(frozen=True, slots=True)
class NewToken:
    """A token just created: ``secret`` is shown once and never stored."""

    secret: str
    info: TokenInfo
    ended_open_mode: bool  # it was the first live token


def create_token(scheduler: Scheduler, name: str, scope: Scope | str) -> NewToken:
    """Store a new token (hashed); raises :class:`InvalidSpec` for a bad name or scope."""
    first = admin.live_token_count(scheduler.store) == 0
    secret, info = admin.create_token(scheduler.store, name, scope, scheduler.clock.now())
    return NewToken(secret=secret, info=info, ended_open_mode=first)


@dataclass(frozen=True, slots=True)
class Revoked:
    """What a revocation did: ``reopened`` when no live token is left (open mode is back)."""

    tokens: list[TokenInfo]
    reopened: bool


def revoke_token(scheduler: Scheduler, id_or_name: str, *, reopen: bool = False) -> Revoked:
    """Revoke every live token with this id or name.

    Revoking the last live token brings open mode back, so it is refused
    (:class:`InvalidSpec`, :data:`~gnomon.open_mode.LAST_TOKEN_REFUSAL`) unless ``reopen``;
    a name that matches no live token is refused too.
    """
    live = admin.list_tokens(scheduler.store)
    matching = [t for t in live if id_or_name in (t.id, t.name)]
    if matching and len(matching) == len(live) and not reopen:
        raise InvalidSpec(LAST_TOKEN_REFUSAL.format(name=id_or_name))
    revoked = admin.revoke_token(scheduler.store, id_or_name, scheduler.clock.now())
    if not revoked:
        raise InvalidSpec(f"no live token with id or name {id_or_name!r} (see gnomon token list)")
    return Revoked(tokens=revoked, reopened=len(revoked) == len(live))


def list_tokens(scheduler: Scheduler, *, include_revoked: bool = False) -> list[TokenInfo]:
    """Tokens by creation time (never their secrets); the live ones unless ``include_revoked``."""
    return admin.list_tokens(scheduler.store, include_revoked=include_revoked)


def verify_token(scheduler: Scheduler, secret: str) -> TokenInfo | None:
    """The live token ``secret`` belongs to, or None (unknown, malformed or revoked)."""
    return admin.verify_token(scheduler.store, secret)


def live_token_count(scheduler: Scheduler) -> int:
    """How many tokens are live (none: a loopback server may run in open mode)."""
    return admin.live_token_count(scheduler.store)
