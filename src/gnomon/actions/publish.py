"""``amqp`` and ``redis`` actions: publish one JSON or text message to a broker.

``amqp`` (kombu, ``pip install gnomon[amqp]``)::

    {"url": "amqp://user:pass@rabbit:5672//", "queue": "reports", "declare_queue": true,
     "json": {...}}
    {"url": "...", "exchange": "events", "routing_key": "backup.done", "body": "text"}

It publishes with publisher confirms and ``mandatory`` set, so the run succeeds only when
the broker has accepted the message *and* routed it to at least one queue (an unroutable
message is a failure, not silently dropped). Messages are persistent unless
``"persistent": false``. ``message_id`` is ``<job_id>@<scheduled_for>``, the same for every
attempt of one fire, so a consumer can de-duplicate retries.

``redis`` (the ``redis`` package)::

    {"url": "redis://:pass@127.0.0.1:6379/0", "list": "jobs", "push": "rpush", "json": {...}}
    {"url": "...", "channel": "events", "body": "text", "min_receivers": 1}

A list push records the list's new length; a PUBLISH records how many subscribers got the
message, and fails if fewer than ``min_receivers`` (default 0) did.

Either kind may name a destination instead of a URL (``"destination": "orders"``, see
:mod:`gnomon.destinations`), resolved when the run executes: its URL, and unless the action
says where itself, its exchange + routing key or queue (``amqp``) or its queue as the list
(``redis``).

Broker URLs are job config chosen by whoever may create jobs; they are not SSRF-guarded
like ``http``. Their passwords are masked in everything an outcome shows.
"""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Mapping
from types import ModuleType
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit

from gnomon.actions.base import RunContext
from gnomon.destinations import Destination, require_one_target
from gnomon.errors import GnomonError, InvalidAction
from gnomon.models import Outcome, RunStatus
from gnomon.redaction import MASK, redact_text

DEFAULT_TIMEOUT = 30.0
_COMMON = frozenset({"url", "destination", "json", "body", "timeout"})


class _Stop(Exception):
    """Ends an attempt early with a finished outcome (timeout, cancellation)."""

    def __init__(self, outcome: Outcome) -> None:
        self.outcome = outcome


def _bad(kind: str, message: str) -> InvalidAction:
    return InvalidAction(f"{kind} action: {message}")


def _check_common(kind: str, config: Mapping[str, Any], schemes: tuple[str, ...]) -> dict[str, Any]:
    """Validate the fields every publish kind has: url or destination, json or body, timeout."""
    out: dict[str, Any] = {}
    if config.get("destination") is not None:
        out["destination"] = require_one_target(kind, config, "url")
    else:
        url = config.get("url")
        if not isinstance(url, str) or not url.strip():
            raise _bad(
                kind, f"url is required (e.g. '{schemes[0]}://127.0.0.1/'), or a destination"
            )
        scheme = urlsplit(url).scheme.lower()
        if scheme not in schemes:
            raise _bad(kind, f"url scheme {scheme!r} is not allowed; use {' or '.join(schemes)}")
        out["url"] = url.strip()
    if "json" in config and "body" in config:
        raise _bad(kind, "give either json or body, not both")
    if "json" in config:
        try:
            json.dumps(config["json"], allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise _bad(kind, f"json must be a JSON value: {exc}") from None
        out["json"] = config["json"]
    elif "body" in config:
        if not isinstance(config["body"], str):
            raise _bad(kind, "body must be a string (use json for structured data)")
        out["body"] = config["body"]
    else:
        raise _bad(kind, "a message is required: give json (any JSON value) or body (text)")
    timeout = config.get("timeout", DEFAULT_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
        raise _bad(kind, f"timeout {timeout!r} must be a positive number of seconds")
    out["timeout"] = float(timeout)
    return out


def _check_unknown(kind: str, config: Mapping[str, Any], fields: frozenset[str]) -> None:
    unknown = set(config) - fields
    if unknown:
        raise _bad(kind, f"unknown field(s) {', '.join(sorted(unknown))}")


def _resolved(
    action: AmqpAction | RedisAction, config: Mapping[str, Any], ctx: RunContext
) -> Mapping[str, Any]:
    """``config`` with its named destination (if any) looked up now, and checked again."""
    name = config.get("destination")
    if name is None:
        return config
    destination = ctx.destination(name)
    merged = {k: v for k, v in config.items() if k != "destination"}
    merged["url"] = destination.url
    merged.update(action.defaults_from(destination, config))
    try:
        return action.validate(merged)
    except InvalidAction as exc:
        raise InvalidAction(f"destination {name!r}: {exc}") from None


def _name(kind: str, config: Mapping[str, Any], field: str) -> str | None:
    value = config.get(field)
    if value is not None and (not isinstance(value, str) or not value):
        raise _bad(kind, f"{field} must be a non-empty string")
    return value


def _payload(config: Mapping[str, Any]) -> tuple[bytes, str]:
    if "json" in config:
        return json.dumps(config["json"]).encode(), "application/json"
    return str(config["body"]).encode(), "text/plain"


def _identity(ctx: RunContext) -> dict[str, str]:
    return {name.lower().replace("_", "-"): value for name, value in ctx.environment().items()}


def _message_id(ctx: RunContext) -> str:
    return f"{ctx.job_id}@{ctx.environment()['GNOMON_SCHEDULED_FOR']}"


class _Attempt:
    """One attempt's deadline, cancellation and secret scrubbing."""

    def __init__(self, config: Mapping[str, Any], ctx: RunContext) -> None:
        limits = [t for t in (config.get("timeout"), ctx.timeout) if t is not None]
        self.timeout = float(min(limits))
        self.deadline = time.monotonic() + self.timeout
        self.ctx = ctx
        split = urlsplit(config["url"])
        secrets = {split.password or ""} | {unquote(split.password or "")}
        self._secrets = sorted((s for s in secrets if s), key=len, reverse=True)

    def remaining(self) -> float:
        """Seconds left; raises :class:`_Stop` when cancelled or out of time."""
        if self.ctx.cancelled.is_set():
            raise _Stop(Outcome(status=RunStatus.CANCELLED, error="cancelled"))
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise _Stop(self.timed_out())
        return left

    def timed_out(self) -> Outcome:
        return Outcome(status=RunStatus.TIMED_OUT, error=f"timed out after {self.timeout:g} s")

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return redact_text(text)

    def failure(self, what: str, exc: BaseException) -> Outcome:
        return Outcome.failure(self.scrub(f"{what}: {type(exc).__name__}: {exc}"))


def _kombu() -> Any:
    """The kombu module (partly typed, hence ``Any``), or :class:`InvalidAction`."""
    try:
        return importlib.import_module("kombu")
    except ImportError:
        raise _bad("amqp", "kombu is not installed: pip install 'gnomon[amqp]'") from None


class AmqpAction:
    kind: ClassVar[str] = "amqp"
    secret_fields: ClassVar[frozenset[str]] = frozenset()
    _fields = _COMMON | {
        "exchange",
        "routing_key",
        "queue",
        "declare_queue",
        "headers",
        "persistent",
    }

    def runs_local_code(self, config: Mapping[str, Any]) -> bool:
        """Never: it publishes an AMQP message; it starts no process and loads no code here."""
        return False

    def validate(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """The normalised config, or :class:`InvalidAction` naming the first bad field."""
        _check_unknown("amqp", config, self._fields)
        _kombu()
        out = _check_common("amqp", config, ("amqp", "amqps"))
        exchange = _name("amqp", config, "exchange")
        queue = _name("amqp", config, "queue")
        later = "destination" in out and exchange is None and queue is None  # the destination's
        if (exchange is None) == (queue is None) and not later:
            raise _bad("amqp", "give either queue (a queue name) or exchange (+ routing_key)")
        routing_key = config.get("routing_key", "")
        if not isinstance(routing_key, str) or (queue is not None and "routing_key" in config):
            raise _bad("amqp", "routing_key must be a string, used with exchange only")
        headers = config.get("headers", {})
        if not isinstance(headers, dict) or not all(isinstance(k, str) for k in headers):
            raise _bad("amqp", "headers must be a JSON object")
        for flag in ("declare_queue", "persistent"):
            if not isinstance(config.get(flag, False), bool):
                raise _bad("amqp", f"{flag} must be true or false")
        if config.get("declare_queue") and queue is None:
            raise _bad("amqp", "declare_queue needs queue")
        out.update(headers=dict(headers), persistent=config.get("persistent", True))
        if queue is not None:
            out.update(queue=queue, declare_queue=config.get("declare_queue", False))
        elif exchange is not None:
            out.update(exchange=exchange, routing_key=routing_key)
        return out

    @staticmethod
    def defaults_from(destination: Destination, config: Mapping[str, Any]) -> dict[str, Any]:
        """Where to publish when the config does not say: the destination's exchange (+
        routing key), else its queue."""
        if "queue" in config or "exchange" in config:
            return {}
        if destination.exchange is not None:
            return {"exchange": destination.exchange, "routing_key": destination.routing_key or ""}
        return {} if destination.queue is None else {"queue": destination.queue}

    def execute(self, config: Mapping[str, Any], ctx: RunContext) -> Outcome:
        try:
            kombu = _kombu()
            config = _resolved(self, config, ctx)
        except GnomonError as exc:
            return Outcome.failure(str(exc))
        attempt = _Attempt(config, ctx)
        try:
            options = {"confirm_publish": True}
            with kombu.Connection(
                config["url"], connect_timeout=attempt.remaining(), transport_options=options
            ) as conn:
                try:
                    # One try: kombu's connect() retries after a fixed 2 s sleep, and the
                    # runner owns retries (with the job's backoff).
                    conn.ensure_connection(max_retries=0, reraise_as_library_errors=False)
                except TimeoutError:
                    return attempt.timed_out()
                except Exception as exc:
                    return attempt.failure("cannot connect to the broker", exc)
                return self._publish(conn, config, ctx, attempt)
        except _Stop as stop:
            return stop.outcome

    def _publish(
        self, conn: Any, config: Mapping[str, Any], ctx: RunContext, attempt: _Attempt
    ) -> Outcome:
        """Publish on an open connection; success only after the broker's confirm."""
        kombu = _kombu()
        returned: list[str] = []

        def on_return(exc: Exception, exchange: str, routing_key: str, message: Any) -> None:
            returned.append(str(exc))

        body, content_type = _payload(config)
        exchange = config.get("exchange", "")
        routing_key = config.get("queue") or config.get("routing_key", "")
        target = {"exchange": exchange, "routing_key": routing_key}
        try:
            channel = conn.channel()
            if config.get("declare_queue"):
                kombu.Queue(config["queue"], durable=True, auto_delete=False)(channel).declare()
            producer = kombu.Producer(channel, on_return=on_return)
            producer.publish(
                body,
                exchange=exchange,
                routing_key=routing_key,
                content_type=content_type,
                content_encoding="utf-8",
                headers={**config.get("headers", {}), **_identity(ctx)},
                message_id=_message_id(ctx),
                delivery_mode=2 if config.get("persistent", True) else 1,
                mandatory=True,
                retry=False,
                timeout=attempt.remaining(),
            )
        except _Stop:
            raise
        except TimeoutError:
            return attempt.timed_out()
        except Exception as exc:
            return attempt.failure(f"publish to {_where(target)} failed", exc)
        if returned:
            return Outcome.failure(
                f"the broker could not route the message to {_where(target)} "
                f"({returned[0]}); is a queue bound?",
                result=target,
            )
        return Outcome.success({**target, "message_id": _message_id(ctx), "confirmed": True})


def _where(target: Mapping[str, str]) -> str:
    exchange = target["exchange"] or "(default exchange)"
    return f"exchange {exchange!r} routing key {target['routing_key']!r}"


def _redis() -> ModuleType:
    try:
        return importlib.import_module("redis")
    except ImportError:
        raise _bad("redis", "redis is not installed: pip install 'gnomon[amqp]'") from None


class RedisAction:
    kind: ClassVar[str] = "redis"
    secret_fields: ClassVar[frozenset[str]] = frozenset()
    _fields = _COMMON | {"list", "push", "channel", "min_receivers"}

    def runs_local_code(self, config: Mapping[str, Any]) -> bool:
        """Never: it pushes or publishes a Redis message; no process, no code runs here."""
        return False

    def validate(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """The normalised config, or :class:`InvalidAction` naming the first bad field."""
        _check_unknown("redis", config, self._fields)
        _redis()
        out = _check_common("redis", config, ("redis", "rediss"))
        key = _name("redis", config, "list")
        channel = _name("redis", config, "channel")
        later = "destination" in out and key is None and channel is None  # the destination's
        if (key is None) == (channel is None) and not later:
            raise _bad("redis", "give either list (LPUSH/RPUSH) or channel (PUBLISH)")
        push = config.get("push", "rpush")
        if key is None and "push" in config:
            raise _bad("redis", "push is used with list only")
        if push not in ("lpush", "rpush"):
            raise _bad("redis", f"push {push!r} must be 'lpush' or 'rpush'")
        least = config.get("min_receivers", 0)
        if channel is None and "min_receivers" in config:
            raise _bad("redis", "min_receivers is used with channel only")
        if isinstance(least, bool) or not isinstance(least, int) or least < 0:
            raise _bad("redis", f"min_receivers {least!r} must be a whole number >= 0")
        if key is not None:
            out.update(list=key, push=push)
        elif channel is not None:
            out.update(channel=channel, min_receivers=least)
        return out

    @staticmethod
    def defaults_from(destination: Destination, config: Mapping[str, Any]) -> dict[str, Any]:
        """Where to push when the config does not say: the destination's queue, as the list."""
        if "list" in config or "channel" in config or destination.queue is None:
            return {}
        return {"list": destination.queue}

    def execute(self, config: Mapping[str, Any], ctx: RunContext) -> Outcome:  # noqa: PLR0911 - one return per case
        try:
            redis = _redis()
            config = _resolved(self, config, ctx)
        except GnomonError as exc:
            return Outcome.failure(str(exc))
        attempt = _Attempt(config, ctx)
        try:
            left = attempt.remaining()
            client = redis.Redis.from_url(
                config["url"], socket_connect_timeout=left, socket_timeout=left
            )
        except _Stop as stop:
            return stop.outcome
        except ValueError as exc:
            return attempt.failure("bad redis url", exc)
        body, _ = _payload(config)
        try:
            attempt.remaining()
            if "list" in config:
                push = client.lpush if config["push"] == "lpush" else client.rpush
                length = push(config["list"], body)
                return Outcome.success({"list": config["list"], "length": length})
            receivers = int(client.publish(config["channel"], body))
        except _Stop as stop:
            return stop.outcome
        except redis.TimeoutError:
            return attempt.timed_out()
        except redis.RedisError as exc:
            return attempt.failure("redis command failed", exc)
        finally:
            client.close()
        result = {"channel": config["channel"], "receivers": receivers}
        if receivers < config["min_receivers"]:
            wanted = config["min_receivers"]
            error = f"{receivers} subscriber(s) got the message; at least {wanted} wanted"
            return Outcome.failure(error, result=result)
        return Outcome.success(result)
