"""Where action kinds are found: built-ins and the ``gnomon.actions`` entry-point group."""

from __future__ import annotations

import logging
from importlib.metadata import entry_points
from typing import Any

from gnomon.actions.base import Action
from gnomon.errors import InvalidAction
from gnomon.models import ActionSpec

log = logging.getLogger(__name__)

_BUILTIN = {
    "python": "gnomon.actions.python:PythonAction",
    "shell": "gnomon.actions.shell:ShellAction",
    "http": "gnomon.actions.http:HttpAction",
    "mqtt": "gnomon.actions.mqtt:MqttAction",
    "notify": "gnomon.actions.notify:NotifyAction",
    "mcp": "gnomon.actions.mcp:McpAction",
    "amqp": "gnomon.actions.publish:AmqpAction",
    "redis": "gnomon.actions.publish:RedisAction",
    "sequence": "gnomon.actions.sequence:SequenceAction",
}
_loaded: dict[str, Action] = {}


def _load(ref: str) -> Action:
    from gnomon.references import resolve

    factory = resolve(ref)
    action: Action = factory()
    return action


def builtin_kinds() -> dict[str, str]:
    return dict(_BUILTIN)


def plugin_kinds() -> dict[str, str]:
    """Action kinds offered by installed plugins, as ``kind -> "module:attr"``."""
    return {ep.name: ep.value for ep in entry_points(group="gnomon.actions")}


def known_kinds() -> dict[str, str]:
    return {**plugin_kinds(), **_BUILTIN}


def get_action(kind: str) -> Action:
    """The action for ``kind``; raises :class:`InvalidAction` if no such kind exists."""
    if kind in _loaded:
        return _loaded[kind]
    kinds = known_kinds()
    if kind not in kinds:
        raise InvalidAction(
            f"unknown action kind {kind!r}; known kinds: {', '.join(sorted(kinds))}"
        )
    try:
        action = _load(kinds[kind])
    except Exception as exc:
        raise InvalidAction(f"action kind {kind!r} could not be loaded: {exc}") from exc
    _loaded[kind] = action
    return action


def validate_action(kind: str, config: Any) -> ActionSpec:
    """Check an action's config now; return the normalised spec."""
    if not isinstance(config, dict):
        raise InvalidAction(f"{kind} action: config must be a JSON object")
    return ActionSpec(kind=kind, config=get_action(kind).validate(config))
