"""Event sinks: where lifecycle events go beyond the events table (a webhook, an MQTT topic).

Each sink delivers an event by running one of gnomon's own actions (``http``, ``mqtt``), so it
gets the same SSRF guard, PUBACK checks and redaction; the relay
(:mod:`gnomon.events.relay`) feeds it from a durable cursor, at least once and in order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from gnomon.actions.base import RunContext
from gnomon.errors import DeliveryFailed
from gnomon.events.model import Event
from gnomon.instants import iso
from gnomon.models import ActionSpec, RunStatus
from gnomon.settings import Settings


def event_json(event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "kind": event.kind,
        "at": iso(event.at),
        "job_id": event.job_id,
        "run_id": event.run_id,
        "data": event.data,
    }


class EventSink(Protocol):
    """Where events go. ``deliver`` returns once the receiver has the event, or raises (the
    relay retries it); the same event may be delivered twice, never out of order."""

    name: str

    def deliver(self, event: Event) -> None: ...


class ActionSink:
    """A sink that delivers each event by running an action built from it."""

    def __init__(self, name: str, build: Callable[[Event], ActionSpec]) -> None:
        self.name = name
        self._build = build

    def deliver(self, event: Event) -> None:
        from gnomon.actions.registry import get_action

        spec = self._build(event)
        action = get_action(spec.kind)
        ctx = RunContext(
            job_id=event.job_id or "-",
            run_id=event.run_id or 0,
            scheduled_for=event.at,
            attempt=1,
            timeout=10.0,
        )
        outcome = action.execute(action.validate(dict(spec.config)), ctx)
        if outcome.status is not RunStatus.SUCCEEDED:
            raise DeliveryFailed(outcome.error or outcome.status.value)


def webhook_sink(url: str) -> ActionSink:
    return ActionSink(
        "webhook",
        lambda e: ActionSpec(
            kind="http", config={"url": url, "method": "POST", "json": event_json(e)}
        ),
    )


def mqtt_sink(prefix: str, broker: str) -> ActionSink:
    def build(event: Event) -> ActionSpec:
        topic = f"{prefix.rstrip('/')}/{event.kind.replace('.', '/')}"
        return ActionSpec(
            kind="mqtt",
            config={"topic": topic, "payload": event_json(event), "qos": 1, "broker": broker},
        )

    return ActionSink("mqtt", build)


def sinks_from_settings(settings: Settings) -> list[EventSink]:
    sinks: list[EventSink] = []
    if settings.event_webhook:
        sinks.append(webhook_sink(settings.event_webhook))
    if settings.event_mqtt_topic:
        sinks.append(mqtt_sink(settings.event_mqtt_topic, settings.mqtt_url))
    return sinks


__all__ = [
    "ActionSink",
    "EventSink",
    "event_json",
    "mqtt_sink",
    "sinks_from_settings",
    "webhook_sink",
]
