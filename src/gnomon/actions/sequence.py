"""``sequence`` action: steps (any actions) with ``needs`` dependencies, run as a DAG.

Config::

    {"steps": [{"id": "fetch", "action": {"kind": "http", "config": {...}},
                "needs": [], "max_attempts": 3, "backoff": 1.0}, ...],
     "on_failure": "stop" | "continue"}

Steps run one at a time in a dependency order (ties keep the order written). A step's
strings may use the results of steps it (transitively) needs: ``{{steps.fetch.result}}``,
``{{steps.fetch.result.status_code}}``, ``{{steps.fetch.output}}``; a string that is exactly
one placeholder takes the value itself (keeping its JSON type). Each step retries on its own
(``max_attempts``, ``backoff`` doubling) without re-running the others. With ``on_failure:
stop`` the first failed step ends the sequence; with ``continue`` every step whose needs all
succeeded still runs. The run's result records every step: status, attempts, result, error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from graphlib import CycleError, TopologicalSorter
from typing import Any, ClassVar

from gnomon.actions.base import RunContext
from gnomon.errors import InvalidAction
from gnomon.models import Outcome

_PLACEHOLDER = re.compile(r"\{\{\s*steps\.([A-Za-z0-9_-]+)\.(result|output)((?:\.[\w-]+)*)\s*\}\}")
_STEP_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_STEP_FIELDS = {"id", "action", "needs", "max_attempts", "backoff"}


def _validate_step(step: Any, index: int) -> dict[str, Any]:
    from gnomon.actions.registry import validate_action

    where = f"sequence step {index + 1}"
    if not isinstance(step, dict):
        raise InvalidAction(f"{where}: must be an object with id and action")
    unknown = set(step) - _STEP_FIELDS
    if unknown:
        raise InvalidAction(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    step_id = step.get("id")
    if not isinstance(step_id, str) or not _STEP_ID.match(step_id):
        raise InvalidAction(f"{where}: id {step_id!r} must be 1-64 letters, digits, _ or -")
    action = step.get("action")
    if not isinstance(action, dict) or not isinstance(action.get("kind"), str):
        raise InvalidAction(f"{where} ({step_id}): action must be {{'kind': ..., 'config': ...}}")
    if action["kind"] == "sequence":
        raise InvalidAction(f"{where} ({step_id}): a sequence cannot contain a sequence")
    try:
        spec = validate_action(action["kind"], action.get("config", {}))
    except InvalidAction as exc:
        raise InvalidAction(f"{where} ({step_id}): {exc}") from None
    needs = step.get("needs", [])
    if not isinstance(needs, list) or not all(isinstance(n, str) for n in needs):
        raise InvalidAction(f"{where} ({step_id}): needs must be a list of step ids")
    attempts, backoff = step.get("max_attempts", 1), step.get("backoff", 1.0)
    if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
        raise InvalidAction(f"{where} ({step_id}): max_attempts {attempts!r} must be 1 or more")
    if isinstance(backoff, bool) or not isinstance(backoff, int | float) or backoff < 0:
        raise InvalidAction(f"{where} ({step_id}): backoff {backoff!r} must be 0 or more")
    return {
        "id": step_id,
        "action": spec.to_json(),
        "needs": list(needs),
        "max_attempts": attempts,
        "backoff": float(backoff),
    }


def order_steps(steps: list[dict[str, Any]]) -> list[str]:
    """A dependency order of step ids; raises InvalidAction on a cycle or unknown need."""
    ids = [s["id"] for s in steps]
    if len(set(ids)) != len(ids):
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        raise InvalidAction(f"sequence: duplicate step id(s) {', '.join(dupes)}")
    graph: dict[str, list[str]] = {}
    for step in steps:
        for need in step["needs"]:
            if need not in ids:
                raise InvalidAction(f"sequence step {step['id']}: needs unknown step {need!r}")
        graph[step["id"]] = step["needs"]
    sorter = TopologicalSorter(graph)
    try:
        sorter.prepare()
    except CycleError as exc:
        cycle = " -> ".join(exc.args[1])
        raise InvalidAction(f"sequence: steps depend on each other in a cycle: {cycle}") from None
    order: list[str] = []
    position = {step_id: i for i, step_id in enumerate(ids)}
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=position.__getitem__)
        order.extend(ready)
        sorter.done(*ready)
    return order


def substitute(value: Any, done: Mapping[str, Mapping[str, Any]]) -> Any:
    """Replace ``{{steps.ID.result…}}`` placeholders with earlier steps' values."""
    if isinstance(value, dict):
        return {k: substitute(v, done) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, done) for v in value]
    if not isinstance(value, str) or "{{" not in value:
        return value

    def lookup(match: re.Match[str]) -> Any:
        step_id, field, path = match.group(1), match.group(2), match.group(3)
        if step_id not in done:
            raise InvalidAction(f"placeholder {match.group(0)}: step {step_id!r} has no result")
        current: Any = done[step_id].get(field)
        for key in filter(None, path.split(".")):
            if isinstance(current, dict) and key in current:
                current = current[key]
            elif isinstance(current, list) and key.isdigit() and int(key) < len(current):
                current = current[int(key)]
            else:
                raise InvalidAction(f"placeholder {match.group(0)}: no {key!r} in the result")
        return current

    whole = _PLACEHOLDER.fullmatch(value.strip())
    if whole:
        return lookup(whole)
    return _PLACEHOLDER.sub(lambda m: str(lookup(m)), value)


class SequenceAction:
    kind: ClassVar[str] = "sequence"
    secret_fields: ClassVar[frozenset[str]] = frozenset()

    def runs_local_code(self, config: Mapping[str, Any]) -> bool:
        """When any step does, as that step's own kind declares (a step that cannot be read
        counts as one that does: validation refuses it anyway)."""
        from gnomon.actions.registry import runs_local_code

        steps = config.get("steps")
        if not isinstance(steps, list):
            return True
        for step in steps:
            action = step.get("action") if isinstance(step, dict) else None
            if not isinstance(action, dict) or not isinstance(action.get("kind"), str):
                return True
            if runs_local_code(action["kind"], action.get("config", {})):
                return True
        return False

    def validate(self, config: Mapping[str, Any]) -> dict[str, Any]:
        unknown = set(config) - {"steps", "on_failure"}
        if unknown:
            raise InvalidAction(f"sequence: unknown field(s) {', '.join(sorted(unknown))}")
        steps = config.get("steps")
        if not isinstance(steps, list) or not steps:
            raise InvalidAction("sequence: steps must be a non-empty list")
        on_failure = config.get("on_failure", "stop")
        if on_failure not in ("stop", "continue"):
            raise InvalidAction(f"sequence: on_failure {on_failure!r} must be stop or continue")
        checked = [_validate_step(step, i) for i, step in enumerate(steps)]
        order_steps(checked)
        return {"steps": checked, "on_failure": on_failure}

    def execute(self, config: Mapping[str, Any], ctx: RunContext) -> Outcome:
        from gnomon.actions.sequence_run import run_sequence

        return run_sequence(config, ctx)
