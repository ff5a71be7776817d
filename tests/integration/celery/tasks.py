"""Callables the Celery policy tests schedule (importable by the worker)."""

from __future__ import annotations

from pathlib import Path

from gnomon.actions.base import RunContext


def note(ctx: RunContext, path: str) -> str:
    """Append ``run_id attempt`` to ``path``: one line per execution."""
    with Path(path).open("a") as out:
        out.write(f"{ctx.run_id} {ctx.attempt}\n")
    return "noted"


def fail_first(ctx: RunContext, path: str) -> str:
    """Fail the first attempt, succeed afterwards (noting each execution)."""
    note(ctx, path)
    if ctx.attempt == 1:
        raise RuntimeError("first attempt fails")
    return "second time lucky"


def crash(ctx: RunContext, path: str) -> None:
    """Kill the worker process executing it (a poison run), noting each execution first."""
    import os
    import signal

    note(ctx, path)
    os.kill(os.getpid(), signal.SIGKILL)
