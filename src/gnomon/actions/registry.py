"""Where action kinds are found: built-ins and the ``gnomon.actions`` entry-point group.

:func:`runs_local_code` is the one place that decides whether an action runs code on this
host (and so needs the ``admin`` scope); every face that creates or changes jobs asks it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
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
    "celery": "gnomon.actions.celery_task:CeleryAction",
}
_loaded: dict[str, Action] = {}
# One thread loads a kind; the others wait for it instead of doing the same work (re-entrant:
# an action's module may look up another kind while it is imported).
_loading = threading.RLock()


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
    """The action for ``kind``; raises :class:`InvalidAction` if no such kind exists.

    A built-in kind is loaded without reading the installed packages' entry points (a plugin
    cannot replace one: see :func:`known_kinds`). That read costs tens of milliseconds of CPU,
    and it was paid by each worker thread starting its first run at once, making a
    scheduler's first fires late."""
    action = _loaded.get(kind)
    if action is not None:
        return action
    with _loading:
        if kind in _loaded:  # another thread loaded it meanwhile
            return _loaded[kind]
        ref = _BUILTIN.get(kind) or plugin_kinds().get(kind)
        if ref is None:
            raise InvalidAction(
                f"unknown action kind {kind!r}; known kinds: {', '.join(sorted(known_kinds()))}"
            )
        try:
            action = _load(ref)
        except Exception as exc:
            raise InvalidAction(f"action kind {kind!r} could not be loaded: {exc}") from exc
        _loaded[kind] = action
        return action


def validate_action(kind: str, config: Any) -> ActionSpec:
    """Check an action's config now; return the normalised spec."""
    if not isinstance(config, dict):
        raise InvalidAction(f"{kind} action: config must be a JSON object")
    return ActionSpec(kind=kind, config=get_action(kind).validate(config))


def runs_local_code(kind: str, config: Any) -> bool:
    """Whether an action of ``kind`` with ``config`` (as given, not yet validated) starts a
    process on this host or loads code from it — what needs the ``admin`` scope.

    Each kind declares it (``Action.runs_local_code``). A kind that does not declare it, or
    answers anything but ``False``, or fails while answering, runs local code: a new plugin is
    trusted with less, never more. Raises :class:`InvalidAction` for an unknown kind or a
    config that is not a JSON object.
    """
    action = get_action(kind)
    if not isinstance(config, Mapping):
        raise InvalidAction(f"{kind} action: config must be a JSON object")
    declared = getattr(action, "runs_local_code", None)
    if not callable(declared):
        return True
    try:
        answer = declared(config)
    except InvalidAction:
        raise
    except Exception as exc:
        log.warning("action kind %r could not say whether it runs local code: %s", kind, exc)
        return True
    return answer is not False
