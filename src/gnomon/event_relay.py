"""Fanning lifecycle events out of the events table: in-process hooks and sinks.

The events table is the source of truth; the relay tails it from the moment it starts
(``after_id`` cursor) and hands each new event to

- **hooks**: ``scheduler.on("run.failed", fn)``, patterns in :mod:`fnmatch` style
  (``"run.*"``, ``"*"``), called in the relay thread;
- **sinks**: an ``http`` webhook (``GNOMON_EVENT_WEBHOOK``: one POST per event, JSON body) and
  an MQTT topic per event (``GNOMON_EVENT_MQTT_TOPIC=gnomon/events`` → ``gnomon/events/run/
  failed``, QoS 1). Sinks reuse the ``http`` and ``mqtt`` actions, so they get the same
  SSRF guard, PUBACK checks and redaction.

Delivery is at most once per relay: a sink that fails is logged, not retried. With several
scheduler replicas, configure sinks on one of them (each replica's relay sees every event).
"""

from __future__ import annotations

import fnmatch
import logging
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from gnomon.actions.base import RunContext
from gnomon.events import Event
from gnomon.instants import iso
from gnomon.models import ActionSpec, RunStatus
from gnomon.settings import Settings
from gnomon.store import SqlStore

log = logging.getLogger(__name__)
Hook = Callable[[Event], None]


def event_json(event: Event) -> dict[str, Any]:
    return {"id": event.id, "kind": event.kind, "at": iso(event.at), "job_id": event.job_id,
            "run_id": event.run_id, "data": event.data}  # fmt: skip


class EventSink(Protocol):
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
        ctx = RunContext(job_id=event.job_id or "-", run_id=event.run_id or 0,
                         scheduled_for=event.at, attempt=1, timeout=10.0)  # fmt: skip
        outcome = action.execute(action.validate(dict(spec.config)), ctx)
        if outcome.status is not RunStatus.SUCCEEDED:
            log.warning("event sink %s: %s", self.name, outcome.error)


def webhook_sink(url: str) -> ActionSink:
    return ActionSink(f"webhook {url}", lambda e: ActionSpec(
        kind="http", config={"url": url, "method": "POST", "json": event_json(e)}))  # fmt: skip


def mqtt_sink(prefix: str, broker: str) -> ActionSink:
    def build(event: Event) -> ActionSpec:
        topic = f"{prefix.rstrip('/')}/{event.kind.replace('.', '/')}"
        return ActionSpec(kind="mqtt", config={"topic": topic, "payload": event_json(event),
                                               "qos": 1, "broker": broker})  # fmt: skip

    return ActionSink(f"mqtt {prefix}", build)


def sinks_from_settings(settings: Settings) -> list[EventSink]:
    sinks: list[EventSink] = []
    if settings.event_webhook:
        sinks.append(webhook_sink(settings.event_webhook))
    if settings.event_mqtt_topic:
        sinks.append(mqtt_sink(settings.event_mqtt_topic, settings.mqtt_url))
    return sinks


class EventRelay:
    """Tails the events table and delivers new events to hooks and sinks."""

    def __init__(self, store: SqlStore, *, poll: float = 1.0) -> None:
        self.store, self.poll = store, poll
        self.hooks: list[tuple[str, Hook]] = []
        self.sinks: list[EventSink] = []
        self._cursor: int | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def active(self) -> bool:
        return bool(self.hooks or self.sinks)

    def on(self, pattern: str, hook: Hook) -> None:
        self.hooks.append((pattern, hook))

    def mark_start(self) -> None:
        """Deliver only events newer than now (called once, before work starts)."""
        if self._cursor is None:
            last = self.store.list_events(after_id=0, limit=1, newest=True)
            self._cursor = last[0].id if last and last[0].id is not None else 0

    def pump(self, limit: int = 500) -> int:
        """Deliver the events recorded since the last pump; returns how many."""
        self.mark_start()
        assert self._cursor is not None
        batch = self.store.list_events(after_id=self._cursor, limit=limit)
        for event in batch:
            self._deliver(event)
            self._cursor = event.id or self._cursor
        return len(batch)

    def _deliver(self, event: Event) -> None:
        for pattern, hook in self.hooks:
            if fnmatch.fnmatchcase(event.kind, pattern):
                try:
                    hook(event)
                except Exception:  # a hook's bug must not stop the relay
                    log.exception("event hook %r failed on %s", hook, event.kind)
        for sink in self.sinks:
            try:
                sink.deliver(event)
            except Exception:
                log.exception("event sink %s failed on %s", sink.name, event.kind)

    def notify(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._thread is not None or not self.active:
            return
        self.mark_start()
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="gnomon-events", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                while self.pump() and not self._stop.is_set():
                    pass
            except Exception:
                log.exception("event relay failed; retrying")
            self._wake.wait(self.poll)
            self._wake.clear()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
            self.pump()  # what happened up to the stop is still delivered


def notify_failure(spec_urls: Sequence[str], job_id: str, status: RunStatus, error: str | None,
                   scheduled_for: datetime) -> None:  # fmt: skip
    """Send a job's own notification (policy ``notify_urls``) about one run's outcome."""
    from gnomon.actions.registry import get_action

    action = get_action("notify")
    kind = {"succeeded": "success", "failed": "failure", "timed_out": "failure"}.get(
        status.value, "warning"
    )
    config = action.validate({
        "urls": list(spec_urls), "type": kind,
        "title": f"gnomon: {job_id} {status.value}",
        "body": f"run scheduled for {iso(scheduled_for)}: {status.value}"
                + (f" — {error}" if error else ""),
    })  # fmt: skip
    ctx = RunContext(job_id=job_id, run_id=0, scheduled_for=scheduled_for, attempt=1,
                     timeout=15.0)  # fmt: skip
    outcome = action.execute(config, ctx)
    if outcome.status is not RunStatus.SUCCEEDED:
        log.warning("notification for job %s failed: %s", job_id, outcome.error)


__all__ = ["EventRelay", "EventSink", "event_json", "notify_failure", "sinks_from_settings"]
