"""``scheduled_tool``: a tool server's tool that can also run later, as a gnomon job.

::

    @mcp.tool()
    @scheduled_tool                      # or @scheduled_tool(task_name=..., max_retries=3)
    async def greet(name: str) -> str:
        \"\"\"Generate a greeting.\"\"\"
        return f"hello {name}"

Contract:

- The decorated function keeps its name, docstring, parameters, return annotation and its
  sync/async nature; it gains a keyword ``datetime: str | None = None``, which shows in the
  signature (so in the tool's JSON schema) and in the docstring's ``Args``.
- Called without ``datetime``, it runs now and returns the function's result.
- Called with ``datetime`` (ISO 8601 or anything gnomon's time language reads: "tomorrow
  at 9am", "in 30 minutes"; recurring specs only with ``recurring=True``), the call is
  stored as a job whose ``python`` action runs :func:`run_scheduled`, which imports the
  function's module and calls the same function with the same arguments; the tool returns
  a sentence with the job id and the first fire. So that a sentence fits the tool's output
  schema, a return type that cannot hold text is widened to ``T | str`` in the signature
  and annotations the server reads (the undecorated function, ``__wrapped__``, is intact).
- Refused at decoration time, with the fix in the message: a function the scheduler cannot
  import (a nested function, a lambda, one defined in a script run as ``__main__`` without
  ``-m``), a function that already has a ``datetime`` parameter, and a wrong decorator
  order (``@scheduled_tool`` must be *below* ``@server.tool()``).
- Jobs go to the scheduler set with :func:`schedule_with`, else to one opened on first use
  from ``GNOMON_DATABASE_URL`` (default ``./gnomon.db``); a scheduler must run on that
  database (``gnomon up``) for the jobs to fire.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import importlib
import importlib.util
import inspect
import sys
import threading
import types
import typing
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, overload

from gnomon.errors import GnomonError, InvalidSpec

if TYPE_CHECKING:
    from gnomon.scheduler import Scheduler

F = TypeVar("F", bound=Callable[..., Any])
PARAM = "datetime"
RUNNER = "gnomon.mcp.decorator:run_scheduled"
DATETIME_DOC = (
    'when to run instead of now: ISO 8601 ("2026-05-01T09:00:00Z") or words ("tomorrow at '
    '9am", "in 30 minutes"{recurring}). Leave empty to run now.'
)
_TOOLS: dict[str, Callable[..., Any]] = {}  # "module:qualname" -> the undecorated function
_lock = threading.Lock()
_scheduler: Scheduler | None = None


class ScheduledToolError(GnomonError, TypeError):
    """``scheduled_tool`` cannot be applied here (the message says what to change)."""


@functools.cache
def _refusal_type() -> type[Exception]:
    """An :class:`InvalidSpec` that each installed tool framework also takes for its own
    ``ToolError``: the agent then reads the message as it is, with no traceback logged."""
    bases: list[type[Exception]] = [InvalidSpec]
    for module, name in (
        ("mcp.server.mcpserver.exceptions", "ToolError"),
        ("fastmcp.exceptions", "ToolError"),
    ):
        try:
            bases.append(getattr(importlib.import_module(module), name))
        except (ImportError, AttributeError):
            continue
    return type("ScheduledCallRefused", tuple(bases), {"__module__": __name__})


def _refused(exc: GnomonError) -> Exception:
    line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return _refusal_type()(line)


def schedule_with(scheduler: Scheduler | None) -> None:
    """Store scheduled calls through ``scheduler`` (its database and clock); None: default."""
    global _scheduler
    with _lock:
        _scheduler = scheduler


def _current_scheduler() -> Scheduler:
    global _scheduler
    with _lock:
        if _scheduler is None:
            from gnomon.scheduler import Scheduler

            _scheduler = Scheduler()
        return _scheduler


@overload
def scheduled_tool(fn: F, /) -> F: ...
@overload
def scheduled_tool(
    *,
    task_name: str | None = None,
    max_retries: int = 0,
    retry_backoff: float | None = None,
    recurring: bool = False,
    tz: str = "UTC",
) -> Callable[[F], F]: ...
def scheduled_tool(
    fn: Any = None,
    /,
    *,
    task_name: str | None = None,
    max_retries: int = 0,
    retry_backoff: float | None = None,
    recurring: bool = False,
    tz: str = "UTC",
) -> Any:
    """Make a tool schedulable (see the module docstring).

    ``task_name``: the stored job's name (default the function's name); ``max_retries``,
    ``retry_backoff`` (seconds): the job's retry policy; ``recurring``: whether ``datetime``
    may be a recurring schedule; ``tz``: the zone ``datetime`` is read in.
    """
    if fn is None:
        return lambda f: _decorate(f, task_name, max_retries, retry_backoff, recurring, tz)
    return _decorate(fn, task_name, max_retries, retry_backoff, recurring, tz)


def _decorate(
    fn: Any,
    task_name: str | None,
    max_retries: int,
    retry_backoff: float | None,
    recurring: bool,
    tz: str,
) -> Any:
    _check_order(fn)
    ref = _reference(fn)
    if max_retries < 0:
        raise ScheduledToolError(f"scheduled_tool: max_retries {max_retries} must be 0 or more")
    policy: dict[str, Any] = {"max_attempts": max_retries + 1}
    if retry_backoff is not None:
        policy["backoff"] = retry_backoff
    plan = _Plan(ref, task_name or fn.__name__, policy, recurring, tz)
    with _lock:
        _TOOLS[ref] = fn
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def async_wrapper(*args: Any, datetime: str | None = None, **kwargs: Any) -> Any:
            if datetime is None:
                return await fn(*args, **kwargs)
            arguments = _bind(fn, args, kwargs)
            return await asyncio.to_thread(plan.schedule, datetime, arguments)

        wrapper: Any = async_wrapper
    else:

        @functools.wraps(fn)
        def sync_wrapper(*args: Any, datetime: str | None = None, **kwargs: Any) -> Any:
            if datetime is None:
                return fn(*args, **kwargs)
            return plan.schedule(datetime, _bind(fn, args, kwargs))

        wrapper = sync_wrapper
    wrapper.__signature__ = signature = _signature(fn)
    wrapper.__annotations__ = {
        p.name: p.annotation for p in signature.parameters.values() if p.annotation is not p.empty
    } | (
        {"return": signature.return_annotation}
        if signature.return_annotation is not signature.empty
        else {}
    )
    wrapper.__doc__ = _docstring(fn.__doc__, recurring)
    wrapper.__gnomon_scheduled__ = ref
    return wrapper


class _Plan:
    """How one decorated function stores a call for later."""

    def __init__(
        self, ref: str, name: str, policy: dict[str, Any], recurring: bool, tz: str
    ) -> None:
        self.ref, self.name, self.policy, self.recurring, self.tz = ref, name, policy, recurring, tz

    def schedule(self, when: str, arguments: dict[str, Any]) -> str:
        """Store the call as a job; the sentence the tool returns. A refusal is raised as
        a tool error of the framework (see :func:`_refusal_type`)."""
        try:
            return self._store(when, arguments)
        except GnomonError as exc:
            raise _refused(exc) from None

    def _store(self, when: str, arguments: dict[str, Any]) -> str:
        from pydantic_core import to_jsonable_python

        from gnomon.definitions import python
        from gnomon.instants import iso
        from gnomon.triggers import parse
        from gnomon.triggers.at import AtTrigger

        scheduler = _current_scheduler()
        trigger = parse(when, tz=self.tz, now=scheduler.clock.now())
        if not self.recurring and not isinstance(trigger, AtTrigger):
            raise InvalidSpec(
                f"datetime: {when!r} is a recurring schedule ({trigger.describe()}); this tool "
                "runs once: give one time, e.g. 'tomorrow at 9am' or an ISO 8601 time"
            )
        action = python(RUNNER, target=self.ref, arguments=to_jsonable_python(arguments))
        job = scheduler.add(trigger, action, name=self.name, tz=self.tz, policy=self.policy)
        first = "none" if job.next_fire_at is None else iso(job.next_fire_at)
        return f"Scheduled {self.name} as job {job.id}: {trigger.describe()}; first run at {first}."


def run_scheduled(target: str, arguments: dict[str, Any]) -> Any:
    """What a stored call runs: the function ``target`` ("module:qualname") with its
    arguments, validated again against its annotations (JSON back to models)."""
    from pydantic import validate_call

    if target not in _TOOLS:
        importlib.import_module(target.partition(":")[0])  # its decorator registers it
    fn = _TOOLS.get(target)
    if fn is None:
        raise LookupError(f"{target} is no longer decorated with @scheduled_tool")
    return validate_call(fn)(**arguments)


def _bind(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    bound = inspect.signature(fn).bind(*args, **kwargs)
    return dict(bound.arguments)


def _check_order(fn: Any) -> None:
    """Refuse what is not a plain function, or one a server already registered as a tool."""
    fix = "put @scheduled_tool directly above the function, below @server.tool()"
    if getattr(fn, "__gnomon_scheduled__", None):
        raise ScheduledToolError("scheduled_tool is applied twice to the same function")
    if not inspect.isfunction(fn):
        what = type(fn).__name__
        raise ScheduledToolError(
            f"scheduled_tool got a {what}, not a function (a tool object: decorator order?); {fix}"
        )
    name = fn.__name__
    for holder in gc.get_referrers(fn):  # mcp's tool() registers fn and returns it as is
        if isinstance(holder, dict) and holder.get("fn") is fn and "fn_metadata" in holder:
            raise ScheduledToolError(
                f"{name} is already registered as a tool without the datetime parameter; {fix}"
            )
    if PARAM in inspect.signature(fn).parameters:
        raise ScheduledToolError(
            f"{name} already has a {PARAM!r} parameter, which scheduled_tool adds; rename it"
        )


def _reference(fn: Callable[..., Any]) -> str:
    """``module:qualname`` the scheduler can import, or refuse with the fix."""
    name, module = fn.__qualname__, fn.__module__
    if "<locals>" in name or "<lambda>" in name:
        raise ScheduledToolError(
            f"{name} is defined inside a function, so the scheduler cannot import it; "
            "define it at module level"
        )
    if module == "__main__":
        spec = getattr(sys.modules["__main__"], "__spec__", None)
        if spec is None or not spec.name or spec.name == "__main__":
            raise ScheduledToolError(
                f"{name} is defined in the script being run (__main__), which the scheduler "
                "cannot import; run the server as a module (python -m yourpackage.server) or "
                "move the tool into a module it imports"
            )
        module = spec.name
    try:
        found = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        found = None
    if found is None:
        raise ScheduledToolError(
            f"module {module!r} of {name} cannot be imported by the scheduler; install it or "
            "put its directory on PYTHONPATH"
        )
    return f"{module}:{name}"


def _signature(fn: Callable[..., Any]) -> inspect.Signature:
    """The function's signature plus ``datetime``; its return widened to hold text."""
    try:
        sig = inspect.signature(fn, eval_str=True)
    except NameError:  # a forward reference not defined yet: keep the strings
        sig = inspect.signature(fn)
    extra = inspect.Parameter(
        PARAM, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=str | None
    )
    params = list(sig.parameters.values())
    at = next((i for i, p in enumerate(params) if p.kind is p.VAR_KEYWORD), len(params))
    params.insert(at, extra)
    return sig.replace(parameters=params, return_annotation=_widened(sig.return_annotation))


def _widened(annotation: Any) -> Any:
    if annotation in (inspect.Signature.empty, Any, str) or isinstance(annotation, str):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and str in typing.get_args(
        annotation
    ):
        return annotation
    return annotation | str if isinstance(annotation, type) else typing.Union[annotation, str]  # noqa: UP007


def _docstring(doc: str | None, recurring: bool) -> str:
    """The docstring with ``datetime`` added to its ``Args`` (or a new ``Args`` section)."""
    line = f"{PARAM}: " + DATETIME_DOC.format(
        recurring=', or a recurring schedule such as "every day at 9am"' if recurring else ""
    )
    text = inspect.cleandoc(doc or "")
    lines = text.splitlines()
    for i, current in enumerate(lines):
        if current.strip() == "Args:":
            end = i + 1
            while end < len(lines) and (lines[end].startswith((" ", "\t")) or not lines[end]):
                if not lines[end] and (end + 1 >= len(lines) or not lines[end + 1].startswith(" ")):
                    break
                end += 1
            lines.insert(end, f"    {line}")
            return "\n".join(lines)
    return f"{text}\n\nArgs:\n    {line}".lstrip()
