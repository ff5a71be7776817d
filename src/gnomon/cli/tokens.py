"""``gnomon token create|revoke|list``: API tokens (shown once, stored hashed)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from gnomon.cli import output
from gnomon.cli.state import state
from gnomon.errors import InvalidSpec

if TYPE_CHECKING:
    from gnomon.store import SqlStore

tokens_app = typer.Typer(help="API tokens: create, revoke, list.", no_args_is_help=True)


def _store() -> SqlStore:
    from gnomon.settings import Settings
    from gnomon.store import SqlStore

    return SqlStore(state.db or Settings.from_env().database_url)


@tokens_app.command("create")
def create(
    name: str = typer.Argument(..., help="Who or what uses it, e.g. 'ci' or 'grafana'."),
    scope: str = typer.Option("read", "--scope", help="read | write | admin"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:  # fmt: skip
    """Create a token; it is printed once and cannot be shown again."""
    from gnomon.clock import SystemClock
    from gnomon.store.admin import create_token

    store = _store()
    try:
        secret, info = create_token(store, name, scope, SystemClock().now())
    finally:
        store.close()
    if as_json:
        output.print_json({"id": info.id, "name": info.name, "scope": info.scope.value,
                           "token": secret})  # fmt: skip
        return
    output.console.print(f"token [bold]{info.name}[/] ({info.scope.value}), id {info.id}:")
    print(secret)
    output.console.print("Store it now: it is not shown again. Use it as "
                         "'Authorization: Bearer <token>'.")  # fmt: skip


@tokens_app.command("revoke")
def revoke(id_or_name: str = typer.Argument(..., help="The token's id or name.")) -> None:
    """Revoke a token at once (every live token with that id or name)."""
    from gnomon.clock import SystemClock
    from gnomon.store.admin import revoke_token

    store = _store()
    try:
        revoked = revoke_token(store, id_or_name, SystemClock().now())
    finally:
        store.close()
    if not revoked:
        raise InvalidSpec(f"no live token with id or name {id_or_name!r} (see gnomon token list)")
    for info in revoked:
        output.console.print(f"revoked {info.id} ({info.name}, {info.scope.value})")


@tokens_app.command("list")
def list_(
    include_revoked: bool = typer.Option(False, "--all", help="Include revoked tokens."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:  # fmt: skip
    """List tokens (never their secrets)."""
    from rich.table import Table

    from gnomon.store.admin import list_tokens

    store = _store()
    try:
        found = list_tokens(store, include_revoked=include_revoked)
    finally:
        store.close()
    rows = [{"id": t.id, "name": t.name, "scope": t.scope.value,
             "created_at": output.when(t.created_at),
             "revoked_at": None if t.revoked_at is None else output.when(t.revoked_at)}
            for t in found]  # fmt: skip
    if as_json:
        output.print_json(rows)
        return
    table = Table(title=f"{len(rows)} token(s)", title_justify="left")
    for column in ("id", "name", "scope", "created (UTC)", "revoked (UTC)"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["id"], row["name"], row["scope"], row["created_at"],
                      row["revoked_at"] or "-")  # fmt: skip
    output.console.print(table)


def register(app: typer.Typer) -> None:
    """Add ``gnomon token …`` to the CLI."""
    app.add_typer(tokens_app, name="token")
