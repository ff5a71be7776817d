"""The ``gnomon`` command line's Typer app (Typer + Rich).

A thin face over the same services the API uses. Command modules import heavy parts
(SQLAlchemy, the store) inside the commands, so ``gnomon next`` and ``--help`` start fast.
A :class:`~gnomon.errors.GnomonError` prints one line and exits non-zero (2 for bad input,
1 otherwise); so does any other exception (a bug), without its message; ``-v`` shows the
traceback.
"""

from __future__ import annotations

import re
import sys
import traceback
from typing import Any

import typer
from typer.exceptions import TyperException

from gnomon.cli import devices, jobs, schedule, up
from gnomon.cli.state import state
from gnomon.errors import GnomonError, InvalidSpec

app = typer.Typer(
    name="gnomon",
    help="gnomon: a durable task scheduler. Fires at the right time, once.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _options(
    db: str | None = typer.Option(
        None,
        "--db",
        help="Database URL or SQLite file (default: GNOMON_DATABASE_URL, else ./gnomon.db).",
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show tracebacks and debug logs."),
    log_format: str | None = typer.Option(
        None,
        "--log-format",
        help="Log lines as text or json, in every process (default: GNOMON_LOG_FORMAT, else text).",
    ),
) -> None:
    state.db = db
    state.verbose = verbose
    if log_format is not None:
        from gnomon.settings import LOG_FORMATS

        if log_format.strip().lower() not in LOG_FORMATS:
            raise InvalidSpec(
                f"--log-format: {log_format!r} is not one of {', '.join(LOG_FORMATS)}"
            )
        state.log_format = log_format.strip().lower()


jobs.register(app)
devices.register(app)
schedule.register(app)
up.register(app)
for _optional in (
    "next_cmd",
    "tokens",
    "api_cmd",
    "status",
    "mcp_cmd",
    "worker_cmd",
    "destinations",
    "beat",
    "prune",
    "update_cmd",
    "backfill_cmd",
    "runs_cmd",
    "events_cmd",
):
    try:
        _module = __import__(f"gnomon.cli.{_optional}", fromlist=["register"])
    except ImportError:  # a command whose module is not there yet
        continue
    _module.register(app)


GLOBAL = ("--db", "--verbose", "--log-format")  # options of every command, accepted after it too
VALUED = ("--db", "--log-format")  # global options that take a value


def hoist_global_options(argv: list[str]) -> list[str]:
    """``gnomon list --db x.db`` as ``gnomon --db x.db list``: the global options given after
    the command move before it (nothing after ``--``, which belongs to the job's command)."""
    front: list[str] = []
    i = 0
    while i < len(argv) and argv[i].startswith("-") and argv[i] != "--":  # before the command
        takes_value = argv[i] in VALUED and i + 1 < len(argv)
        front.extend(argv[i : i + 2] if takes_value else argv[i : i + 1])
        i += 2 if takes_value else 1
    rest: list[str] = []
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            rest.extend(argv[i:])
            break
        if arg.split("=", 1)[0] in GLOBAL:
            takes_value = arg in VALUED and i + 1 < len(argv)
            front.extend(argv[i : i + 2] if takes_value else [arg])
            i += 2 if takes_value else 1
            continue
        rest.append(arg)
        i += 1
    return front + rest


_LIST_TYPE = re.compile(r"^<list\[(.+)\]>$")


def shown_as_flags(command: Any) -> Any:
    """``command`` (the app's click command tree) with help that shows a flag as a flag.

    Typer 0.29 labels every option with its type, so ``--json <bool>`` reads as if it took a
    value; a repeatable option reads ``<list[str]>`` as if it took a list. Decided here, once
    for every command: a flag (``--help`` too) shows no value, a repeatable option shows one
    value (its help says it repeats).
    """
    for param in [*command.params, command.get_help_option(typer.Context(command))]:
        if param is None or param.metavar is not None:
            continue
        if getattr(param, "is_flag", False):
            param.metavar = ""
        elif getattr(param, "multiple", False) and hasattr(param, "display_type"):
            shown = _LIST_TYPE.match(str(param.display_type(None)))
            if shown:
                param.metavar = f"<{shown.group(1)}>"
    for sub in getattr(command, "commands", {}).values():
        shown_as_flags(sub)
    return command


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``gnomon`` console script."""
    args = hoist_global_options(sys.argv[1:] if argv is None else list(argv))
    try:
        command = shown_as_flags(typer.main.get_command(app))
        code = command(args=args, standalone_mode=False)
    except typer.Abort:
        code = 130
    except TyperException as exc:  # usage errors: typer's own message and exit code
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            print(f"error: {exc}", file=sys.stderr)  # noqa: T201 - CLI error line, printed before Typer loads
        code = int(getattr(exc, "exit_code", 2))
    except GnomonError as exc:
        if state.verbose:
            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)  # noqa: T201 - CLI error line, printed before Typer loads
        code = 2 if isinstance(exc, InvalidSpec) else 1
    except Exception as exc:  # a bug: still one line (it may hold what it read: not shown)
        if state.verbose:
            traceback.print_exc()
        print(  # noqa: T201 - CLI error line, printed before Typer loads
            f"error: unexpected {type(exc).__name__}; run with -v to see the traceback",
            file=sys.stderr,
        )
        code = 1
    sys.exit(code if isinstance(code, int) else 0)
