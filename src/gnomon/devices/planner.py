"""What a device module's ``schedule_tasks(scheduler)`` receives: a recorder of tasks.

A device module declares *what* should happen *when*; discovery turns each task into a job
with the id ``device:<device>:<task name>`` and keeps those jobs in step on every re-run.
Module attributes ``TIMEZONE`` and ``LOCATION`` (latitude, longitude) are the defaults for
its tasks (solar schedules such as ``sunrise`` need a location).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gnomon.definitions import Location, When
from gnomon.errors import InvalidSpec
from gnomon.models import ActionSpec

TASK_FIELDS = {"name", "when", "action", "tz", "location"}


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskDefinition:
    name: str
    when: When
    action: ActionSpec
    tz: str
    location: Location | None = None
    options: dict[str, Any] = field(default_factory=dict)


def mqtt_command(
    topic: str,
    payload: Any = "",
    *,
    await_ack: bool = True,
    ack_timeout: float = 30.0,
    valid_for: float | None = None,
    qos: int = 1,
    broker: str | None = None,
) -> ActionSpec:
    """A command to a device over MQTT, confirmed by the device's ack (by default).

    ``valid_for`` (seconds after the fire's scheduled time) makes the command expire: it is
    not sent later than that, the broker drops it when it would arrive later, and the device
    helper refuses it — a door never opens on yesterday's command. Never retained.
    """
    config: dict[str, Any] = {"topic": topic, "payload": payload, "qos": qos}
    if await_ack:
        config.update(await_ack=True, ack_timeout=ack_timeout)
    if valid_for is not None:
        config["valid_for"] = valid_for
    if broker is not None:
        config["broker"] = broker
    return ActionSpec(kind="mqtt", config=config)


class DevicePlanner:
    """Collects the tasks one device module declares. A task it cannot take is recorded in
    ``problems`` (task name or None, reason) and the module carries on with the others: one
    bad task never drops the device's good ones."""

    def __init__(self, device: str, *, tz: str = "UTC", location: Location | None = None) -> None:
        self.device, self.tz, self.location = device, tz, location
        self.tasks: list[TaskDefinition] = []
        self.problems: list[tuple[str | None, str]] = []

    mqtt_command = staticmethod(mqtt_command)

    def add(
        self,
        when: When,
        action: ActionSpec | Mapping[str, Any],
        *,
        name: str,
        tz: str | None = None,
        location: Location | None = None,
        **options: Any,
    ) -> None:
        """Declare a task; ``options`` are policy fields (max_attempts, backoff, …)."""
        if any(t.name == name for t in self.tasks):
            self.problems.append((name, f"device {self.device}: two tasks are named {name!r}"))
            return
        try:
            spec = action if isinstance(action, ActionSpec) else _action(action, name)
        except InvalidSpec as exc:
            self.problems.append((name, str(exc)))
            return
        self.tasks.append(
            TaskDefinition(
                name=name,
                when=when,
                action=spec,
                tz=tz or self.tz,
                location=tuple(location) if location else self.location,  # type: ignore[arg-type]
                options=dict(options),
            )
        )

    def add_definition(self, item: Mapping[str, Any]) -> None:
        """A task given as a mapping (the zero-argument ``schedule_tasks()`` form)."""
        if not isinstance(item, Mapping) or "name" not in item or "when" not in item:
            self.problems.append(
                (None, f"device {self.device}: a task needs at least name and when")
            )
            return
        options = {k: v for k, v in item.items() if k not in TASK_FIELDS}
        if "action" not in item:
            name = str(item["name"])
            self.problems.append((name, f"device {self.device} task {name!r}: no action"))
            return
        self.add(
            item["when"],
            item["action"],
            name=str(item["name"]),
            tz=item.get("tz"),
            location=item.get("location"),
            **options,
        )


def _action(action: Mapping[str, Any], task: str) -> ActionSpec:
    if not isinstance(action.get("kind"), str):
        raise InvalidSpec(f"task {task!r}: action must be {{'kind': ..., 'config': {{...}}}}")
    return ActionSpec(kind=action["kind"], config=dict(action.get("config", {})))
