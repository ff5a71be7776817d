"""The device side: a few lines turn a Python device (a Raspberry Pi) into a gnomon target.

::

    door = Device("coop", base="coop/door", broker="mqtt://192.168.1.10")

    @door.command("open")
    def open_door(payload):
        motor.up()
        return {"door": "open"}          # merged into the device's state

    door.run_forever()

The helper subscribes to ``<base>/<command>`` for each handler, runs the handler, then

- acknowledges: on the MQTT 5 response topic with the command's correlation data, or (MQTT
  3.1.1) on ``<topic>/ack`` with the command's ``correlation`` — ``{"ok": true, "command":
  …, "state": {…}}``, or ``{"ok": false, "error": …}`` when the handler raised;
- publishes its state, retained, on ``<base>/state`` so a subscriber sees it at once;
- keeps ``<base>/status`` at ``online`` (retained), with a last will of ``offline``.

A command that is stale is refused and not acknowledged: one whose ``gnomon-valid-until``
user property is in the past by the device's clock (the broker also drops it once its
message expiry runs out). Retained commands are ignored: a command is an event, not a state.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from gnomon.actions.mqtt_broker import broker_from_url, decode_payload
from gnomon.clock import Clock, SystemClock

log = logging.getLogger(__name__)
Handler = Callable[[Any], dict[str, Any] | None]


class Device:
    """An MQTT device that executes gnomon's commands and acknowledges them."""

    def __init__(
        self,
        name: str,
        *,
        base: str | None = None,
        broker: str = "mqtt://127.0.0.1:1883",
        clock: Clock | None = None,
        persistent_session: bool = False,
        client_id: str | None = None,
    ) -> None:
        self.name, self.base = name, (base or name).rstrip("/")
        self.clock = clock or SystemClock()
        self.state: dict[str, Any] = {}
        self.executed: list[tuple[str, Any]] = []  # (command, payload) in order
        self.refused: list[tuple[str, str]] = []  # (command, reason)
        self._handlers: dict[str, Handler] = {}
        self._ready = threading.Event()
        self._seen = threading.Condition()  # notified on every executed or refused command
        self.on_handled: Callable[[str, dict[str, Any]], None] | None = None
        self._broker = broker_from_url(broker)
        self._persistent = persistent_session
        self.client_id = client_id or f"gnomon-device-{name}"
        self._client = self._make_client()

    def _make_client(self) -> mqtt.Client:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=mqtt.MQTTv5
        )
        self._broker.configure(client)
        client.will_set(f"{self.base}/status", "offline", qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_subscribe = lambda *args: self._ready.set()
        client.on_message = self._on_message
        return client

    def command(self, name: str) -> Callable[[Handler], Handler]:
        """Decorator: run ``handler(payload)`` for ``<base>/<name>``; return a state update."""

        def register(handler: Handler) -> Handler:
            self._handlers[name] = handler
            return handler

        return register

    # -- connection -----------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> None:
        """Connect, subscribe and go online; returns once the subscriptions are in place."""
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        if self._persistent:  # the broker keeps QoS 1 commands while the device is away
            props.SessionExpiryInterval = 3600
        self._ready.clear()
        self._client.connect(
            self._broker.host,
            self._broker.port,
            keepalive=30,
            clean_start=not self._persistent,
            properties=props,
        )
        self._client.loop_start()
        if not self._ready.wait(timeout):
            self.stop()
            raise TimeoutError(f"device {self.name}: no subscription within {timeout:g} s")

    def stop(self) -> None:
        """Go offline cleanly (the will is not sent; ``offline`` is published instead)."""
        info = self._client.publish(f"{self.base}/status", "offline", qos=1, retain=True)
        info.wait_for_publish(2.0)
        self._client.disconnect()
        self._client.loop_stop()
        self._client = self._make_client()

    def run_forever(self) -> None:
        self.start()
        try:
            threading.Event().wait()
        finally:
            self.stop()

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, code: Any, _p: Any) -> None:
        if code.is_failure:
            log.error("device %s: broker refused the connection: %s", self.name, code)
            return
        client.publish(f"{self.base}/status", "online", qos=1, retain=True)
        self.publish_state()
        topics = [(f"{self.base}/{name}", 1) for name in self._handlers] or [(self.base, 1)]
        client.subscribe(topics)

    # -- commands ---------------------------------------------------------------------------

    def publish_state(self) -> None:
        self._client.publish(f"{self.base}/state", json.dumps(self.state), qos=1, retain=True)

    def _stale(self, props: Any) -> str | None:
        users = dict(getattr(props, "UserProperty", None) or [])
        valid_until = users.get("gnomon-valid-until")
        if valid_until:
            limit = datetime.fromisoformat(valid_until.replace("Z", "+00:00"))
            if self.clock.now() > limit:
                return f"stale: valid until {valid_until}"
        return None

    def _on_message(self, client: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        command = msg.topic.rsplit("/", 1)[-1]
        handler = self._handlers.get(command)
        if handler is None or msg.retain:
            return  # a retained message replays on reconnect: never act on it
        reason = self._stale(msg.properties)
        if reason is not None:
            log.warning("device %s: refused %s (%s)", self.name, command, reason)
            with self._seen:
                self.refused.append((command, reason))
                self._seen.notify_all()
            return
        payload = decode_payload(msg.payload)
        try:
            update = handler(payload)
            self.state.update(update or {})
            reply: dict[str, Any] = {"ok": True, "command": command, "state": dict(self.state)}
        except Exception as exc:  # the device reports its own failure to gnomon
            reply = {"ok": False, "command": command, "error": f"{type(exc).__name__}: {exc}"}
        self.publish_state()
        self._acknowledge(client, msg, payload, reply)
        with self._seen:
            self.executed.append((command, payload))
            self._seen.notify_all()
        if self.on_handled is not None:
            self.on_handled(command, reply)

    def wait_for_refusal(self, timeout: float) -> bool:
        """Block until a command has been refused as stale (for tests and demos)."""
        with self._seen:
            return self._seen.wait_for(lambda: bool(self.refused), timeout)

    def wait_for_command(self, timeout: float) -> bool:
        """Block until a command has been executed."""
        with self._seen:
            return self._seen.wait_for(lambda: bool(self.executed), timeout)

    def _acknowledge(
        self, client: mqtt.Client, msg: mqtt.MQTTMessage, payload: Any, reply: dict[str, Any]
    ) -> None:
        response_topic = getattr(msg.properties, "ResponseTopic", None)
        if response_topic:
            props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            props.CorrelationData = getattr(msg.properties, "CorrelationData", b"")
            client.publish(response_topic, json.dumps(reply), qos=1, properties=props)
        elif isinstance(payload, dict) and "correlation" in payload:
            reply["correlation"] = payload["correlation"]
            client.publish(f"{msg.topic}/ack", json.dumps(reply), qos=1)
