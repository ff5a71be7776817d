"""``gnomon token create|revoke|list``: API tokens (shown once, stored hashed).

The first token ends open mode; revoking the last one is refused unless ``--reopen`` says
to bring open mode back (the wording is :mod:`gnomon.open_mode`'s, as everywhere).
"""

from __future__ import annotations

import typer

from gnomon.cli import output
from gnomon.cli.jobs import open_scheduler
from gnomon.errors import InvalidSpec
from gnomon.open_mode import (
    FIRST_TOKEN_COMMAND,
    FIRST_TOKEN_ENDS_OPEN_MODE,
    OPEN_MODE_BACK,
    OPEN_MODE_ENDED,
)

tokens_app = typer.Typer(help="API tokens: create, revoke, list.", no_args_is_help=True)


SCOPE_HELP = (
    "read | write | admin (required). admin may also create jobs that run commands or code "
    f"on this host. For the first token, use admin: {FIRST_TOKEN_ENDS_OPEN_MODE}."
)


@tokens_app.command("create")
def create(
    name: str = typer.Argument(..., help="Who or what uses it, e.g. 'ci' or 'grafana'."),
    scope: str | None = typer.Option(None, "--scope", help=SCOPE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Create a token; it is printed once and cannot be shown again.

    Creating the first token ends open mode: from then on every request needs a token.
    """
    from gnomon import service

    if scope is None:
        raise InvalidSpec(
            f"--scope: give read, write or admin; for a first token: "
            f"{FIRST_TOKEN_COMMAND} ({FIRST_TOKEN_ENDS_OPEN_MODE})"
        )
    with open_scheduler() as scheduler:
        made = service.create_token(scheduler, name, scope)
    secret, info, first = made.secret, made.info, made.ended_open_mode
    if as_json:
        output.print_json(
            {
                "id": info.id,
                "name": info.name,
                "scope": info.scope.value,
                "token": secret,
                "ended_open_mode": first,
            }
        )
        return
    output.console.print(f"token [bold]{info.name}[/] ({info.scope.value}), id {info.id}:")
    print(secret)  # noqa: T201 - the secret alone on stdout, for pipes
    output.console.print(
        "Store it now: it is not shown again. Use it as 'Authorization: Bearer <token>'."
    )
    if first:
        output.console.print(f"[yellow]{OPEN_MODE_ENDED}[/]", highlight=False)


@tokens_app.command("revoke")
def revoke(
    id_or_name: str = typer.Argument(..., help="The token's id or name."),
    reopen: bool = typer.Option(
        False,
        "--reopen",
        help="Revoke the last live token too, bringing open mode back for loopback servers.",
    ),
) -> None:
    """Revoke a token at once (every live token with that id or name).

    Revoking the last live token would bring open mode back, so it is refused without
    ``--reopen``.
    """
    from gnomon import service

    with open_scheduler() as scheduler:
        done = service.revoke_token(scheduler, id_or_name, reopen=reopen)
    for info in done.tokens:
        output.console.print(f"revoked {info.id} ({info.name}, {info.scope.value})")
    if done.reopened:
        output.console.print(f"[yellow]{OPEN_MODE_BACK}[/]", highlight=False)


@tokens_app.command("list")
def list_(
    include_revoked: bool = typer.Option(False, "--all", help="Include revoked tokens."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List tokens (never their secrets)."""
    from rich.table import Table

    from gnomon import service

    with open_scheduler() as scheduler:
        found = service.list_tokens(scheduler, include_revoked=include_revoked)
    rows = [
        {
            "id": t.id,
            "name": t.name,
            "scope": t.scope.value,
            "created_at": output.when(t.created_at),
            "revoked_at": None if t.revoked_at is None else output.when(t.revoked_at),
        }
        for t in found
    ]
    if as_json:
        output.print_json(rows)
        return
    table = Table(title=f"{len(rows)} token(s)", title_justify="left")
    for column in ("id", "name", "scope", "created (UTC)", "revoked (UTC)"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["id"], row["name"], row["scope"], row["created_at"], row["revoked_at"] or "-"
        )
    output.console.print(table)


def register(app: typer.Typer) -> None:
    """Add ``gnomon token …`` to the CLI."""
    app.add_typer(tokens_app, name="token")
