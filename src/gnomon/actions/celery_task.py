"""``celery`` action: send a named task of the user's own Celery app, and record its result.

Config (``pip install 'gnomon[celery]'``)::

    {"task": "myapp.tasks.add", "args": [2, 3], "kwargs": {}, "broker": "redis://…/0",
     "backend": "redis://…/1", "queue": "math", "priority": 5, "expires": 300, "wait": 60}
    {"task": "myapp.tasks.report", "destination": "reports"}

``broker`` (``amqp://``, ``amqps://``, ``pyamqp://``, ``redis://``, ``rediss://``) or
``destination`` (a named destination, :mod:`gnomon.destinations`; its queue, exchange and
routing key are the defaults of this action's) says where the task goes. Arguments are JSON
and only JSON crosses the broker (the sending app accepts no other content type). On AMQP
the message is published with publisher confirms.

The task id is derived from the fire (``uuid5`` of the job id and the fire's scheduled
time): every attempt of one fire sends the same task id, so a fire sent again (a retry, a
run taken back after a crash) is recognisable as the same task by the user's workers.
``expires`` counts from the fire's scheduled time, so a late or repeated send does not
extend it.

Without ``backend`` the run succeeds once the broker has the message, with the result
``{"task_id": …, "state": "sent"}``. With ``backend`` (the user's app's result backend) it
waits up to ``wait`` seconds (default: the job's timeout, else 60) for the task to end and
records ``{"task_id", "state", "result"}``; a task that failed is the run's failure, its
error the last line of the remote traceback; no result in time is ``timed_out``.

Nothing runs here: ``runs_local_code`` is False. Passwords in broker and backend URLs are
masked in everything an outcome shows.
"""

from __future__ import annotations

import importlib
import json
import threading
import time
import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit

from gnomon.actions.base import RunContext
from gnomon.destinations import AMQP_SCHEMES, SCHEMES, require_one_target, shown_url
from gnomon.errors import GnomonError, InvalidAction
from gnomon.models import Outcome, RunStatus
from gnomon.redaction import MASK, redact_text

DEFAULT_WAIT = 60.0
CONNECT_TIMEOUT = 10.0
TASK_NAMESPACE = uuid.UUID("6f1b8f0e-4f5c-5d8a-9a39-5b2a9c0f4c11")
"""Namespace of derived task ids (any fixed UUID: changing it changes every task id)."""
_FIELDS = frozenset(
    {
        "task",
        "args",
        "kwargs",
        "broker",
        "destination",
        "backend",
        "queue",
        "exchange",
        "routing_key",
        "priority",
        "expires",
        "wait",
    }
)
BACKENDS = ("redis", "rediss", "db+postgresql", "db+sqlite", "rpc", "amqp", "mongodb")
_apps: dict[tuple[str, str | None], Any] = {}
_apps_lock = threading.Lock()


def _bad(message: str) -> InvalidAction:
    return InvalidAction(f"celery action: {message}")


def task_id(job_id: str, scheduled_for_iso: str) -> str:
    """The task id of a fire: the same for every attempt at it."""
    return str(uuid.uuid5(TASK_NAMESPACE, f"{job_id}@{scheduled_for_iso}"))


def _celery() -> Any:
    try:
        return importlib.import_module("celery")
    except ImportError:
        raise _bad("celery is not installed: pip install 'gnomon[celery]'") from None


def _url(config: Mapping[str, Any], key: str, schemes: tuple[str, ...]) -> str | None:
    url = config.get(key)
    if url is None:
        return None
    if not isinstance(url, str) or not url.strip():
        raise _bad(f"{key} must be a URL")
    scheme = urlsplit(url.strip()).scheme.lower()
    if scheme not in schemes:
        raise _bad(
            f"{key} {shown_url(url)!r}: scheme {scheme!r} is not one of {', '.join(schemes)}"
        )
    return url.strip()


def _seconds(config: Mapping[str, Any], key: str) -> float | None:
    value = config.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 10**8:
        raise _bad(f"{key} {value!r} must be a positive number of seconds")
    return float(value)


def _check_json(config: Mapping[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    args, kwargs = config.get("args", []), config.get("kwargs", {})
    if not isinstance(args, list):
        raise _bad("args must be a JSON list")
    if not isinstance(kwargs, dict) or not all(isinstance(k, str) for k in kwargs):
        raise _bad("kwargs must be a JSON object")
    try:
        json.dumps([args, kwargs], allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise _bad(f"args and kwargs must be JSON: {exc}") from None
    return args, kwargs


def _names(config: Mapping[str, Any]) -> dict[str, str]:
    out = {}
    for key in ("queue", "exchange", "routing_key"):
        value = config.get(key)
        if value is not None:
            if not isinstance(value, str) or not value or len(value) > 255:
                raise _bad(f"{key} must be 1-255 characters of text")
            out[key] = value
    return out


class CeleryAction:
    kind: ClassVar[str] = "celery"
    secret_fields: ClassVar[frozenset[str]] = frozenset()

    def runs_local_code(self, config: Mapping[str, Any]) -> bool:
        """Never: it sends a message to a broker; the task runs on the user's own workers."""
        return False

    def validate(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """The normalised config, or :class:`InvalidAction` naming the first bad field."""
        unknown = set(config) - _FIELDS
        if unknown:
            raise _bad(f"unknown field(s) {', '.join(sorted(unknown))}")
        task = config.get("task")
        if not isinstance(task, str) or not task.strip() or len(task) > 255:
            raise _bad("task (the task's registered name, e.g. 'myapp.tasks.add') is required")
        _celery()
        destination = require_one_target("celery", config, "broker")
        args, kwargs = _check_json(config)
        out: dict[str, Any] = {"task": task.strip(), "args": args, "kwargs": kwargs}
        if destination is not None:
            out["destination"] = destination
        else:
            out["broker"] = _url(config, "broker", SCHEMES)
        backend = _url(config, "backend", BACKENDS)
        if backend is not None:
            out["backend"] = backend
        out.update(_names(config))
        priority = config.get("priority")
        if priority is not None:
            if (
                isinstance(priority, bool)
                or not isinstance(priority, int)
                or not 0 <= priority <= 255
            ):
                raise _bad(f"priority {priority!r} must be a whole number 0-255")
            out["priority"] = priority
        for key in ("expires", "wait"):
            seconds = _seconds(config, key)
            if seconds is not None:
                out[key] = seconds
        if "wait" in out and backend is None:
            raise _bad("wait needs backend (a result backend to wait on)")
        return out

    def execute(self, config: Mapping[str, Any], ctx: RunContext) -> Outcome:
        try:
            target = _target(config, ctx)
        except GnomonError as exc:
            return Outcome.failure(str(exc))
        scrub = _Scrubber(target.get("broker"), target.get("backend"))
        tid = task_id(ctx.job_id, ctx.environment()["GNOMON_SCHEDULED_FOR"])
        options: dict[str, Any] = {
            k: target[k] for k in ("queue", "exchange", "routing_key", "priority") if k in target
        }
        if "expires" in target:
            options["expires"] = ctx.scheduled_for + timedelta(seconds=target["expires"])
        try:
            app = sending_app(target["broker"], target.get("backend"))
            result = app.send_task(
                target["task"],
                args=target.get("args", []),
                kwargs=target.get("kwargs", {}),
                task_id=tid,
                retry=False,
                **options,
            )
        except Exception as exc:  # the broker refused or is away: the runner retries
            return Outcome.failure(
                scrub(f"sending {target['task']} failed: {type(exc).__name__}: {exc}")
            )
        if "backend" not in target:
            return Outcome.success({"task_id": tid, "state": "sent"})
        wait = target.get("wait") or ctx.timeout or DEFAULT_WAIT
        if ctx.timeout is not None:
            wait = min(wait, ctx.timeout)
        return _await(result, tid, wait, ctx, scrub)


def _target(config: Mapping[str, Any], ctx: RunContext) -> dict[str, Any]:
    """The config with its destination (if named) resolved now, checked again."""
    if "destination" not in config:
        return dict(config)
    destination = ctx.destination(config["destination"])
    merged = {k: v for k, v in config.items() if k != "destination"}
    merged["broker"] = destination.url
    if not any(k in config for k in ("queue", "exchange", "routing_key")):
        merged.update(
            {
                k: v
                for k in ("queue", "exchange", "routing_key")
                if (v := getattr(destination, k)) is not None
            }
        )
    try:
        return CeleryAction().validate(merged)
    except InvalidAction as exc:
        raise InvalidAction(f"destination {destination.name!r}: {exc}") from None


def _await(result: Any, tid: str, wait: float, ctx: RunContext, scrub: _Scrubber) -> Outcome:
    """Wait for the task's end on the result backend, in short slices (cancellation)."""
    celery_exceptions = importlib.import_module("celery.exceptions")
    deadline = time.monotonic() + wait
    while True:
        if ctx.cancelled.is_set():
            return Outcome(
                status=RunStatus.CANCELLED,
                error=f"cancelled while waiting for task {tid}",
                result={"task_id": tid, "state": "sent"},
            )
        left = deadline - time.monotonic()
        try:
            result.get(
                timeout=max(0.01, min(left, 0.5)), propagate=False, disable_sync_subtasks=False
            )
            break
        except celery_exceptions.TimeoutError:
            if left <= 0.5:
                state = _state(result)
                return Outcome(
                    status=RunStatus.TIMED_OUT,
                    error=f"no result for task {tid} within {wait:g} s (state {state})",
                    result={"task_id": tid, "state": state},
                )
        except Exception as exc:  # the backend is away or answers nonsense
            return Outcome.failure(
                scrub(f"waiting for task {tid} failed: {type(exc).__name__}: {exc}"),
                result={"task_id": tid, "state": "sent"},
            )
    state = _state(result)
    if state == "SUCCESS":
        return Outcome.success({"task_id": tid, "state": state, "result": result.result})
    return Outcome.failure(
        scrub(f"task {tid} {state}: {_last_line(result)}"), result={"task_id": tid, "state": state}
    )


def _state(result: Any) -> str:
    try:
        return str(result.state)
    except Exception:  # the backend went away meanwhile
        return "UNKNOWN"


def _last_line(result: Any) -> str:
    lines = [line for line in str(result.traceback or "").splitlines() if line.strip()]
    if lines:
        return lines[-1].strip()
    return f"{type(result.result).__name__}: {result.result}" if result.result else "no detail"


class _Scrubber:
    """Masks the passwords of the broker and backend URLs in text an outcome shows."""

    def __init__(self, *urls: str | None) -> None:
        found: set[str] = set()
        for url in urls:
            password = urlsplit(url).password if url else None
            if password:
                found |= {password, unquote(password)}
        self._secrets = sorted(found, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return redact_text(text)


def sending_app(broker: str, backend: str | None) -> Any:
    """A Celery app that only sends (JSON only), one per ``(broker, backend)``, kept."""
    key = (broker, backend)
    with _apps_lock:
        app = _apps.get(key)
        if app is None:
            app = _apps[key] = _new_app(broker, backend)
    return app


def _new_app(broker: str, backend: str | None) -> Any:
    app = _celery().Celery("gnomon-sender", broker=broker, backend=backend, set_as_current=False)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        result_accept_content=["json"],
        broker_connection_timeout=CONNECT_TIMEOUT,
        broker_connection_retry=False,
        broker_connection_retry_on_startup=False,
        broker_connection_max_retries=0,
    )
    # One connection attempt: kombu's default retries for ~12 s, and the runner owns retries.
    options: dict[str, Any] = {"max_retries": 0}
    if urlsplit(broker).scheme.lower() in AMQP_SCHEMES:
        options["confirm_publish"] = True  # success only once the broker has the message
    app.conf.broker_transport_options = options
    return app
