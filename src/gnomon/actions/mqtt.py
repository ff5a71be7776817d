"""``mqtt`` action: publish one message, optionally wait for the device's acknowledgement.

Config (normalised by :meth:`MqttAction.validate`)::

    topic            concrete topic (no ``+``/``#``, not ``$...``)              required
    payload          a string (sent as is) or any JSON value (sent as JSON text)  ""
    qos              0, 1 or 2                                                    1
    retain           bool; refused together with await_ack                       false
    broker           mqtt:// or mqtts:// URL; default GNOMON_MQTT_URL             settings
    protocol         "5" or "3.1.1"                                               "5"
    message_expiry   seconds the broker may hold the message (MQTT 5)             ack_timeout
    await_ack        wait for the device's reply                                  false
    ack_timeout      seconds to wait for that reply                               10
    response_topic   MQTT 5 reply topic; default gnomon/ack/<run id>/<random>
    ack_topic        MQTT 3.1.1 reply topic, or true for "<topic>/ack"
    valid_for        seconds after the fire's scheduled time the command stays valid

Contract of :meth:`MqttAction.execute`: one short-lived client with a clean session per
attempt. Success is recorded only once the broker has acknowledged the message (PUBACK for
QoS 1, PUBCOMP for QoS 2, the socket write for QoS 0) with a non-failure reason code; "no
matching subscribers" (0x10) is a success carrying a warning. An unreachable broker, a
refused login or a connection lost before the acknowledgement is a failed outcome, so the
job's retry policy applies (a QoS ≥ 1 retry may deliver the message twice: at least once).

With ``await_ack`` the reply is the run's result (JSON when it parses, else text). MQTT 5:
the command carries ResponseTopic and CorrelationData (the run id); the reply must carry the
same CorrelationData. MQTT 3.1.1 (``ack_topic``): the payload must be a JSON object, gnomon
adds ``"correlation": "<run id>"`` and the device answers on the ack topic with a JSON object
holding the same ``correlation``. Replies that do not match are ignored. A reply that is a
JSON object with ``"ok": false`` is the device saying it failed: the run fails with its
``error``.

``valid_for`` keeps a command from going stale: past ``scheduled_for + valid_for`` it is not
sent at all (the run fails "stale"); otherwise the message expiry is capped to the time left,
and the command carries a ``gnomon-valid-until`` user property that the device helper
(:mod:`gnomon.devices.device`) checks against its own clock before acting.
"""

from __future__ import annotations

import json
import math
import secrets
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from gnomon.actions.base import RunContext, cap_output
from gnomon.actions.mqtt_broker import (
    BrokerSession,
    MqttCancelled,
    MqttDeadline,
    MqttError,
    broker_from_url,
    decode_payload,
)
from gnomon.errors import ConfigError, InvalidAction
from gnomon.models import Outcome, RunStatus
from gnomon.redaction import redact_text, register_secret
from gnomon.settings import Settings

_FIELDS = frozenset(
    {"topic", "payload", "qos", "retain", "broker", "protocol", "message_expiry"}
    | {"await_ack", "ack_timeout", "response_topic", "ack_topic", "valid_for"}
)
_ACK_FIELDS = ("ack_timeout", "response_topic", "ack_topic")
_DEFAULT_ACK_TIMEOUT = 10.0
_MAX_EXPIRY = 2**32 - 1  # MessageExpiryInterval is a four-byte integer
_NO_MATCHING_SUBSCRIBERS = 0x10


def _bad(message: str) -> InvalidAction:
    return InvalidAction(f"mqtt action: {message}")


def _check_topic(name: str, topic: Any) -> str:
    if not isinstance(topic, str) or not topic:
        raise _bad(f"{name} must be a non-empty string")
    if "+" in topic or "#" in topic:
        raise _bad(f"{name} {topic!r} must not contain the wildcards + or #")
    if topic.startswith("$") or "\x00" in topic or len(topic.encode()) > 65535:
        raise _bad(f"{name} {topic!r} is not a publishable topic ($-prefix, NUL or too long)")
    return topic


def _positive(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _bad(f"{name} {value!r} must be a number of seconds")
    if not math.isfinite(value) or value <= 0:
        raise _bad(f"{name} {value!r} must be more than zero")
    return float(value)


def _check_flag(config: Mapping[str, Any], name: str) -> bool:
    value = config.get(name, False)
    if not isinstance(value, bool):
        raise _bad(f"{name} {value!r} must be true or false")
    return value


def _check_ack(config: Mapping[str, Any], out: dict[str, Any]) -> None:  # noqa: C901 - known debt: to split
    """Validate the await_ack options into ``out`` (which already holds topic/protocol/...)."""
    if not out["await_ack"]:
        given = [name for name in _ACK_FIELDS if name in config]
        if given:
            raise _bad(f"{', '.join(given)} only apply with await_ack: true")
        return
    if out["retain"]:
        raise _bad(
            "retain cannot be combined with await_ack: a retained command is replayed to the "
            "device on every reconnect (ghost switching)"
        )
    out["ack_timeout"] = _positive("ack_timeout", config.get("ack_timeout", _DEFAULT_ACK_TIMEOUT))
    if "response_topic" in config and "ack_topic" in config:
        raise _bad("give response_topic (MQTT 5) or ack_topic (MQTT 3.1.1), not both")
    if "response_topic" in config:
        if out["protocol"] != "5":
            raise _bad("response_topic needs protocol 5; MQTT 3.1.1 devices use ack_topic")
        out["response_topic"] = _check_topic("response_topic", config["response_topic"])
    ack_topic = config.get("ack_topic")
    if ack_topic is True:
        ack_topic = f"{out['topic']}/ack"
    if ack_topic is not None:
        out["ack_topic"] = _check_topic("ack_topic", ack_topic)
        payload = out["payload"] if "payload" in config else {}
        if not isinstance(payload, dict) or "correlation" in payload:
            raise _bad(
                "with ack_topic the payload must be a JSON object without a 'correlation' "
                "key (gnomon adds it: the device echoes it in its reply)"
            )
        out["payload"] = payload
    elif out["protocol"] != "5":
        raise _bad("await_ack with protocol 3.1.1 needs ack_topic (e.g. true for <topic>/ack)")


def _check_expiry(config: Mapping[str, Any], out: dict[str, Any]) -> None:
    expiry = config.get("message_expiry")
    if expiry is None:
        if out["await_ack"] and out["protocol"] == "5":
            out["message_expiry"] = max(1, math.ceil(out["ack_timeout"]))
        return
    if out["protocol"] != "5":
        raise _bad("message_expiry needs protocol 5 (MQTT 3.1.1 has no expiry)")
    if isinstance(expiry, bool) or not isinstance(expiry, int) or not 0 < expiry <= _MAX_EXPIRY:
        raise _bad(f"message_expiry {expiry!r} must be a whole number of seconds, 1 or more")
    out["message_expiry"] = expiry


def _encode_payload(payload: Any) -> bytes:
    if isinstance(payload, str):
        return payload.encode()
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def _scrub(value: Any) -> Any:
    """Registered secrets and URL passwords masked in every string of a JSON value."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def _validity(config: Mapping[str, Any], ctx: RunContext) -> tuple[datetime, float] | None:
    """(valid until, seconds left at the start of the attempt) for a ``valid_for`` command."""
    if "valid_for" not in config:
        return None
    until = ctx.scheduled_for + timedelta(seconds=config["valid_for"])
    now = ctx.started_at or ctx.scheduled_for
    return until, (until - now).total_seconds()


def _properties(config: Mapping[str, Any], ctx: RunContext, reply_to: str | None) -> Properties:
    """MQTT 5 PUBLISH properties: run identity, expiry and the request/response pair."""
    props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    scheduled = ctx.scheduled_for.isoformat().replace("+00:00", "Z")
    users = [
        ("gnomon-job-id", ctx.job_id),
        ("gnomon-run-id", str(ctx.run_id)),
        ("gnomon-scheduled-for", scheduled),
        ("gnomon-attempt", str(ctx.attempt)),
    ]
    expiry = config.get("message_expiry")
    validity = _validity(config, ctx)
    if validity is not None:
        users.append(("gnomon-valid-until", validity[0].isoformat().replace("+00:00", "Z")))
        left = max(1, math.ceil(validity[1]))
        expiry = left if expiry is None else min(expiry, left)
    props.UserProperty = users
    if expiry is not None:
        props.MessageExpiryInterval = expiry
    if reply_to is not None:
        props.ResponseTopic = reply_to
        props.CorrelationData = str(ctx.run_id).encode()
    return props


def _reply_matcher(
    config: Mapping[str, Any], ctx: RunContext
) -> Callable[[mqtt.MQTTMessage], bool]:
    """Which incoming messages count as this run's acknowledgement."""
    correlation = str(ctx.run_id)
    if "ack_topic" in config:

        def by_payload(msg: mqtt.MQTTMessage) -> bool:
            reply = decode_payload(msg.payload)
            return isinstance(reply, dict) and str(reply.get("correlation")) == correlation

        return by_payload

    def by_property(msg: mqtt.MQTTMessage) -> bool:
        data = getattr(msg.properties, "CorrelationData", None)
        return data == correlation.encode()

    return by_property


class MqttAction:
    kind: ClassVar[str] = "mqtt"
    secret_fields: ClassVar[frozenset[str]] = frozenset()  # broker passwords: see redaction

    def runs_local_code(self, config: Mapping[str, Any]) -> bool:
        """Never: it publishes an MQTT message; it starts no process and loads no code here."""
        return False

    def validate(self, config: Mapping[str, Any]) -> dict[str, Any]:
        unknown = set(config) - _FIELDS
        if unknown:
            raise _bad(f"unknown field(s) {', '.join(sorted(unknown))}")
        out: dict[str, Any] = {"topic": _check_topic("topic", config.get("topic"))}
        payload = config.get("payload", "")
        try:
            _encode_payload(payload)
        except (TypeError, ValueError) as exc:
            raise _bad(f"payload must be a string or a JSON value: {exc}") from None
        out["payload"] = payload
        qos = config.get("qos", 1)
        if isinstance(qos, bool) or qos not in (0, 1, 2):
            raise _bad(f"qos {qos!r} must be 0, 1 or 2")
        out["qos"] = qos
        out["retain"] = _check_flag(config, "retain")
        protocol = str(config.get("protocol", "5"))
        if protocol not in ("5", "3.1.1"):
            raise _bad(f'protocol {config.get("protocol")!r} must be "5" or "3.1.1"')
        out["protocol"] = protocol
        if "broker" in config:
            try:
                broker_from_url(config["broker"])
            except ConfigError as exc:
                raise _bad(f"broker: {exc}") from None
            out["broker"] = config["broker"].strip()
        out["await_ack"] = _check_flag(config, "await_ack")
        _check_ack(config, out)
        _check_expiry(config, out)
        if "valid_for" in config:
            out["valid_for"] = _positive("valid_for", config["valid_for"])
        return out

    def execute(self, config: Mapping[str, Any], ctx: RunContext) -> Outcome:
        try:
            broker = broker_from_url(config.get("broker") or Settings.from_env().mqtt_url)
        except ConfigError as exc:
            return Outcome.failure(redact_text(f"mqtt broker settings: {exc}"))
        if broker.password:
            register_secret(broker.password)
        started = time.monotonic()
        session = BrokerSession(
            broker,
            v5=config.get("protocol", "5") == "5",
            client_id=f"gnomon-{ctx.run_id}-{secrets.token_hex(4)}",
            deadline=None if ctx.timeout is None else started + ctx.timeout,
            cancelled=ctx.cancelled,
        )
        try:
            outcome = self._attempt(session, config, ctx)
        except MqttDeadline as exc:
            error = f"timed out after {ctx.timeout:g} s {exc}"
            outcome = Outcome(status=RunStatus.TIMED_OUT, error=error)
        except MqttCancelled as exc:
            outcome = Outcome(status=RunStatus.CANCELLED, error=str(exc))
        except MqttError as exc:
            outcome = Outcome.failure(str(exc))
        finally:
            session.close()
        return Outcome(
            status=outcome.status,
            result=_scrub(outcome.result),
            error=None if outcome.error is None else redact_text(outcome.error),
            output=cap_output(redact_text(outcome.output)),
        )

    def _attempt(
        self, session: BrokerSession, config: Mapping[str, Any], ctx: RunContext
    ) -> Outcome:
        """Connect, (subscribe), publish, (wait for the reply); failures raise MqttError."""
        topic, qos, retain = config["topic"], config.get("qos", 1), bool(config.get("retain"))
        payload = config.get("payload", "")
        validity = _validity(config, ctx)
        if validity is not None and validity[1] <= 0:
            until = validity[0].isoformat().replace("+00:00", "Z")
            return Outcome.failure(f"stale command not sent: it was valid until {until}")
        reply_to: str | None = None
        if config.get("await_ack"):
            reply_to = config.get("ack_topic") or config.get("response_topic")
            reply_to = reply_to or f"gnomon/ack/{ctx.run_id}/{secrets.token_hex(8)}"
            if "ack_topic" in config:
                payload = {**payload, "correlation": str(ctx.run_id)}
            session.accept = _reply_matcher(config, ctx)
        session.connect()
        log = [f"connected to {session.broker.display()} (MQTT {config.get('protocol', '5')})"]
        if reply_to is not None:
            session.subscribe(reply_to)
            log.append(f"subscribed to reply topic {reply_to}")
        props = _properties(config, ctx, reply_to) if session.v5 else None
        data = _encode_payload(payload)
        code = session.publish(topic, data, qos, retain, props)
        acked_at = time.monotonic()
        result: dict[str, Any] = {"topic": topic, "qos": qos, "retain": retain}
        result["reason"] = "sent" if qos == 0 else str(code)
        log.append(f"published {len(data)} bytes to {topic} (QoS {qos}): {result['reason']}")
        if qos > 0 and code.value == _NO_MATCHING_SUBSCRIBERS:
            result["warning"] = "no matching subscribers: the broker delivered it to nobody"
            log.append(f"warning: {result['warning']}")
        if reply_to is None:
            return Outcome.success(result, "\n".join(log))
        timeout = config.get("ack_timeout", _DEFAULT_ACK_TIMEOUT)
        if not session.wait(
            lambda: session.matched is not None, "the device's ack", acked_at + timeout
        ):
            log.append(f"no reply on {reply_to}")
            error = f"no ack from device within {timeout:g} s"
            if "warning" in result:
                error += f" ({result['warning']})"
            return Outcome.failure(error, result=result, output="\n".join(log))
        assert session.matched is not None
        log.append(f"ack on {session.matched.topic} after {time.monotonic() - acked_at:.3f} s")
        reply = decode_payload(session.matched.payload)
        if isinstance(reply, dict) and reply.get("ok") is False:
            error = f"device reported failure: {reply.get('error', 'no reason given')}"
            return Outcome.failure(error, result=reply, output="\n".join(log))
        return Outcome.success(reply, "\n".join(log))
