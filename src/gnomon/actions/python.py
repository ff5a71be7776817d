"""``python`` action: call ``"package.module:function"`` with JSON args and kwargs.

Sync and async functions are both accepted (an async one runs with ``asyncio.run`` in the
worker thread). A function whose first parameter is named ``ctx`` (or annotated
:class:`RunContext`) receives the run's context. The return value, if it is JSON, is the
run's result; a function may also return an :class:`~gnomon.models.Outcome` to say how the
attempt ended itself (e.g. ``skipped`` when a condition checked at fire time is not met).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import threading
import weakref
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from gnomon.actions.base import RunContext
from gnomon.errors import InvalidAction
from gnomon.models import Outcome, RunStatus
from gnomon.references import check_reference, resolve


def _wants_context(func: Any) -> bool:
    """Does ``func`` take the run's context first? (Asked once per function: ``inspect``
    costs more than a quick run itself.)"""
    try:
        return _context_cache[func]
    except (KeyError, TypeError):  # TypeError: an unhashable callable object
        pass
    wants = _inspect_wants_context(func)
    with contextlib.suppress(TypeError):
        _context_cache[func] = wants
    return wants


_context_cache: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()


def _inspect_wants_context(func: Any) -> bool:
    try:
        params = list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError):
        return False
    if not params:
        return False
    first = params[0]
    return first.name == "ctx" or first.annotation in (RunContext, "RunContext")


_ALWAYS_JSON = (str, bool, float)
"""Types (exactly) that ``json.dumps`` always encodes: a result of one is not tried."""


def _jsonable(value: Any) -> Any:
    if value is None or type(value) in _ALWAYS_JSON:  # most results: no JSON round trip
        return value
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)
    return value


class PythonAction:
    kind: ClassVar[str] = "python"
    secret_fields: ClassVar[frozenset[str]] = frozenset()

    def runs_local_code(self, config: Mapping[str, Any]) -> bool:
        """Always: it imports and calls code on this host."""
        return True

    def validate(self, config: Mapping[str, Any]) -> dict[str, Any]:
        unknown = set(config) - {"ref", "args", "kwargs"}
        if unknown:
            raise InvalidAction(f"python action: unknown field(s) {', '.join(sorted(unknown))}")
        ref = check_reference(config.get("ref"))
        args = config.get("args", [])
        kwargs = config.get("kwargs", {})
        if not isinstance(args, list):
            raise InvalidAction("python action: args must be a JSON array")
        if not isinstance(kwargs, dict) or not all(isinstance(k, str) for k in kwargs):
            raise InvalidAction("python action: kwargs must be a JSON object")
        try:
            json.dumps([args, kwargs])
        except (TypeError, ValueError) as exc:
            raise InvalidAction(f"python action: args and kwargs must be JSON: {exc}") from None
        if not callable(resolve(ref)):
            raise InvalidAction(f"python action: {ref!r} is not callable")
        return {"ref": ref, "args": args, "kwargs": kwargs}

    def execute(self, config: Mapping[str, Any], ctx: RunContext) -> Outcome:
        func = resolve(config["ref"])
        args = config.get("args", [])
        if type(args) is not list:
            args = list(args)
        kwargs = config.get("kwargs", {})
        if type(kwargs) is not dict:
            kwargs = dict(kwargs)
        if _wants_context(func):
            args = [ctx, *args]
        # ``args`` and ``kwargs`` are unpacked into the call: the config's own lists and
        # dicts are never handed to the function.
        box: dict[str, Any] = {}
        if ctx.timeout is None:
            _call(func, args, kwargs, box)
        else:
            # A Python thread cannot be killed: on timeout the call is abandoned (it keeps
            # running in a daemon thread) and the attempt is recorded as timed out.
            worker = threading.Thread(
                target=_call,
                args=(func, args, kwargs, box),
                name=f"gnomon-run-{ctx.run_id}",
                daemon=True,
            )
            worker.start()
            worker.join(ctx.timeout)
            if worker.is_alive():
                return Outcome(
                    status=RunStatus.TIMED_OUT,
                    error=f"timed out after {ctx.timeout:g} s",
                )
        if "error" in box:
            exc = box["error"]
            return Outcome.failure(f"{type(exc).__name__}: {exc}")
        return _outcome(box.get("value"))


def _call(func: Any, args: Sequence[Any], kwargs: Mapping[str, Any], box: dict[str, Any]) -> None:
    """Call ``func`` (awaiting what it returns if it is awaitable); the value or the
    exception goes in ``box``."""
    try:
        value = func(*args, **kwargs)
        if value is not None and inspect.isawaitable(value):  # None, the usual, is not
            value = asyncio.run(_await(value))
        box["value"] = value
    except BaseException as exc:
        box["error"] = exc


_NOTHING = Outcome.success()
"""The outcome of a function that returned None (the usual): one, as outcomes are frozen."""


def _outcome(value: Any) -> Outcome:
    """The outcome a function's return value says."""
    if value is None:
        return _NOTHING
    if isinstance(value, Outcome):
        return value
    return Outcome.success(_jsonable(value))


async def _await(value: Any) -> Any:
    return await value
