"""Example jobs for ``gnomon up --demo``: they visibly fire within the first minute."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from gnomon.actions.base import RunContext
from gnomon.definitions import python, shell
from gnomon.models import ActionSpec

if TYPE_CHECKING:
    from gnomon.scheduler import Scheduler


def hello(ctx: RunContext, name: str = "world") -> str:
    """Say hello, with the run's identity."""
    return f"hello, {name}: job {ctx.job_id} run {ctx.run_id} attempt {ctx.attempt}"


def flaky(ctx: RunContext) -> str:
    """Fail on the first attempt of every fire, succeed on the retry."""
    if ctx.attempt == 1:
        raise RuntimeError("first attempt fails on purpose; the retry will succeed")
    return f"succeeded on attempt {ctx.attempt}"


def loaded_message(ids: list[str]) -> str:
    """What ``gnomon up --demo`` says: which jobs it loaded, and how to remove them."""
    return f"demo jobs loaded: {', '.join(ids)} (remove them: gnomon cancel {' '.join(ids)})"


def load_demo(scheduler: Scheduler) -> list[str]:
    """Add (or refresh) the demo jobs; returns their ids."""
    jobs: list[tuple[str, str | timedelta, ActionSpec, dict[str, Any]]] = [
        ("demo-heartbeat", "every 10s", shell(["echo", "tick from gnomon"]), {}),
        ("demo-hello", timedelta(seconds=15), python(hello, name="gnomon"), {}),
        ("demo-flaky", "every 30s", python(flaky), {"max_attempts": 3, "backoff": 2.0}),
        ("demo-cron", "* * * * *", shell(["date", "-u"]), {}),
    ]
    for job_id, when, action, options in jobs:
        scheduler.add(when, action, id=job_id, replace_existing=True, **options)
    return [job_id for job_id, *_ in jobs]
