"""The ``gnomon`` console script's entry point: a fast path for ``gnomon next``.

``gnomon next SPEC --json`` is what scripts call to check a schedule, so it must start in
well under half a second. Typer (0.2x) builds a pydantic adapter for every option of the
command it runs, which alone costs ~250 ms; so ``next`` is parsed here with :mod:`argparse`
(same options as the Typer command, kept in step by a test) and Typer is never imported.
Every other command, and ``gnomon next --help``, goes through the Typer app.
"""

from __future__ import annotations

import argparse
import os
import sys


def next_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gnomon next", add_help=False)
    parser.add_argument("spec")
    parser.add_argument("--tz", default="UTC")
    parser.add_argument("--after", default=None)
    parser.add_argument("--count", "-n", type=int, default=5)
    parser.add_argument("--lat", type=float, default=None)
    parser.add_argument("--lon", type=float, default=None)
    parser.add_argument("--dst", default="cron")
    parser.add_argument("--json", dest="as_json", action="store_true")
    return parser


def _fast_next(args: list[str]) -> int | None:
    """Run ``next`` without Typer; None when the arguments need the full CLI (help, errors)."""
    try:
        options, extra = next_parser().parse_known_args(args)
    except SystemExit:  # argparse could not read them: let Typer say what is wrong
        return None
    from gnomon.limits import MAX_PREVIEW_FIRES

    if extra or not 1 <= options.count <= MAX_PREVIEW_FIRES:
        return None
    from gnomon.cli.preview import next_fires

    try:
        next_fires(
            options.spec,
            tz=options.tz,
            after=options.after,
            count=options.count,
            lat=options.lat,
            lon=options.lon,
            dst=options.dst,
            as_json=options.as_json,
        )
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return 0


def extend_import_path() -> None:
    """Python references resolve from ``GNOMON_PYTHONPATH`` and the current directory, as
    with ``python -m`` and ``celery -A`` (the console script's own folder is on sys.path,
    not this one). Appended, not first: a file here named like a module gnomon imports
    (yaml.py, celery.py) must not replace it."""
    from gnomon.errors import ConfigError
    from gnomon.settings import python_path

    try:
        folders = python_path()
    except ConfigError:  # an unreadable .env: the command itself says so
        folders = (os.getcwd(),)
    for folder in folders:
        if folder not in sys.path and not (folder == os.getcwd() and "" in sys.path):
            sys.path.append(folder)


def main() -> None:
    args = sys.argv[1:]
    extend_import_path()
    if args[:1] == ["next"] and not {"--help", "-h"} & set(args):
        code = _fast_next(args[1:])
        if code is not None:
            sys.exit(code)
    from gnomon.cli.typer_app import main as full_main

    full_main(args)
