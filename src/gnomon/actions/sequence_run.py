"""Executing a validated ``sequence`` config (see :mod:`gnomon.actions.sequence`)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from gnomon.actions.base import RunContext
from gnomon.actions.sequence import order_steps, substitute
from gnomon.errors import GnomonError
from gnomon.models import Outcome, RunStatus

OK = RunStatus.SUCCEEDED.value


def _run_step(
    step: Mapping[str, Any],
    ctx: RunContext,
    done: dict[str, dict[str, Any]],
    deadline: float | None,
) -> dict[str, Any]:
    """Run one step with its own retries; returns its record for the run's result."""
    from gnomon.actions.registry import get_action

    record: dict[str, Any] = {"status": RunStatus.FAILED.value, "attempts": 0}
    try:
        config = substitute(step["action"].get("config", {}), done)
        action = get_action(step["action"]["kind"])
    except GnomonError as exc:
        record["error"] = str(exc)
        return record
    for attempt in range(1, step["max_attempts"] + 1):
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            record.update(status=RunStatus.TIMED_OUT.value, error="sequence timed out")
            break
        record["attempts"] = attempt
        try:
            outcome = action.execute(config, replace(ctx, timeout=remaining))
        except Exception as exc:  # a step's bug is the step's failure
            outcome = Outcome.failure(f"{type(exc).__name__}: {exc}")
        record.update(
            status=outcome.status.value,
            result=outcome.result,
            error=outcome.error,
            output=outcome.output,
        )
        if outcome.status is RunStatus.SUCCEEDED or ctx.cancelled.is_set():
            break
        if attempt < step["max_attempts"] and ctx.cancelled.wait(
            step["backoff"] * 2 ** (attempt - 1)
        ):
            break
    return record


def run_sequence(config: Mapping[str, Any], ctx: RunContext) -> Outcome:
    steps = {s["id"]: s for s in config["steps"]}
    order = order_steps(list(config["steps"]))
    deadline = None if ctx.timeout is None else time.monotonic() + ctx.timeout
    records: dict[str, dict[str, Any]] = {}
    stopped = False
    for step_id in order:
        step = steps[step_id]
        blocked = [n for n in step["needs"] if records.get(n, {}).get("status") != OK]
        if stopped or blocked or ctx.cancelled.is_set():
            reason = "an earlier step failed" if stopped else f"needs {', '.join(blocked)}"
            records[step_id] = {
                "status": RunStatus.SKIPPED.value,
                "attempts": 0,
                "error": f"skipped: {reason}",
            }
            continue
        records[step_id] = _run_step(step, ctx, records, deadline)
        if records[step_id]["status"] != OK and config["on_failure"] == "stop":
            stopped = True
    output = "\n".join(
        f"--- step {step_id}: {r['status']} ---\n{r.get('output') or ''}".rstrip()
        for step_id, r in records.items()
    )
    failed = [i for i, r in records.items() if r["status"] != OK]
    result = {"steps": records, "order": order}
    if ctx.cancelled.is_set():
        return Outcome(status=RunStatus.CANCELLED, result=result, error="cancelled", output=output)
    if any(r["status"] == RunStatus.TIMED_OUT.value for r in records.values()):
        return Outcome(
            status=RunStatus.TIMED_OUT,
            result=result,
            output=output,
            error=f"timed out after {ctx.timeout:g} s",
        )
    if failed:
        return Outcome.failure(
            f"step(s) not succeeded: {', '.join(failed)}", result=result, output=output
        )
    return Outcome.success(result, output)
