"""A device command with a condition checked at fire time (a ``python`` action).

``gnomon.devices.guarded:guarded_command`` publishes an MQTT command unless a flag topic
says not to — the sprinkler that stays off when ``garden/rain`` is ``true``. The flag is read
as the retained message on its topic when the run starts; when it matches ``equals`` the run
is recorded ``skipped`` with the reason, otherwise the command is sent like an ``mqtt``
action (with its ack and expiry options).
"""

from __future__ import annotations

import threading
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from gnomon.actions.base import RunContext
from gnomon.actions.mqtt_broker import broker_from_url
from gnomon.models import Outcome, RunStatus
from gnomon.settings import Settings


def read_retained(broker_url: str, topic: str, timeout: float = 2.0) -> str | None:
    """The retained message on ``topic`` as text, or None if there is none."""
    broker = broker_from_url(broker_url)
    got: list[str] = []
    done = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    broker.configure(client)

    def on_message(_c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        if msg.retain:
            got.append(msg.payload.decode("utf-8", errors="replace"))
        done.set()

    client.on_message = on_message
    client.on_connect = lambda c, *a: c.subscribe(topic, qos=1)
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        done.wait(timeout)  # a retained message arrives right after the subscription
    finally:
        client.disconnect()
        client.loop_stop()
    return got[0] if got else None


def guarded_command(
    ctx: RunContext,
    *,
    topic: str,
    payload: Any = "",
    skip_if: dict[str, Any],
    broker: str | None = None,
    **mqtt_options: Any,
) -> Outcome:
    """Publish ``payload`` to ``topic`` unless ``skip_if["topic"]`` holds ``skip_if["equals"]``."""
    from gnomon.actions.registry import get_action

    url = broker or Settings.from_env().mqtt_url
    flag = read_retained(url, skip_if["topic"])
    wanted = str(skip_if.get("equals", "true"))
    if flag is not None and flag.strip().lower() == wanted.lower():
        reason = f"skipped: {skip_if['topic']} is {flag.strip()!r}"
        return Outcome(status=RunStatus.SKIPPED, error=reason, result={"skipped": reason})
    action = get_action("mqtt")
    config = action.validate({"topic": topic, "payload": payload, "broker": url, **mqtt_options})
    return action.execute(config, ctx)
