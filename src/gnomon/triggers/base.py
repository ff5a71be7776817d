"""The Trigger seam: *when* a job fires.

A trigger is pure and stateless. Contract:

- ``next_after(instant)`` takes an aware UTC datetime and returns the first fire strictly
  after it, as an aware UTC datetime, or ``None`` when no fire is left. For every ``t'`` in
  ``[t, next_after(t))``, ``next_after(t') == next_after(t)``; fires strictly increase.
- ``describe()`` is a short English description for people ("At 09:00, Monday through
  Friday").
- ``to_json()`` returns a JSON object with ``kind`` and ``v`` (schema version) that
  ``trigger_from_json`` turns back into an equal trigger.

Kinds register themselves with :func:`register`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, ClassVar, Protocol, TypeVar, runtime_checkable

from gnomon.errors import InvalidTrigger
from gnomon.limits import LATEST


@runtime_checkable
class Trigger(Protocol):
    kind: ClassVar[str]

    def next_after(self, instant: datetime) -> datetime | None: ...

    def describe(self) -> str: ...

    def to_json(self) -> dict[str, Any]: ...


class TriggerType(Protocol):
    kind: ClassVar[str]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Trigger: ...


_KINDS: dict[str, Callable[[Mapping[str, Any]], Trigger]] = {}
_LAZY_KINDS = {
    "solar": "gnomon.triggers.solar",
    "rrule": "gnomon.triggers.rrule",
    "except": "gnomon.triggers.exclusions",
}
"""Kinds whose modules (and heavy libraries) are imported only when a trigger needs them."""
T = TypeVar("T")


def register(cls: type[T]) -> type[T]:
    """Class decorator: make a trigger kind loadable by :func:`trigger_from_json`."""
    kind: str = cls.kind  # type: ignore[attr-defined]
    _KINDS[kind] = cls.from_json  # type: ignore[attr-defined]
    return cls


def trigger_from_json(data: Mapping[str, Any]) -> Trigger:
    """Rebuild a trigger from its JSON form."""
    kind = data.get("kind")
    if isinstance(kind, str) and kind not in _KINDS and kind in _LAZY_KINDS:
        importlib.import_module(_LAZY_KINDS[kind])  # registers the kind
    if not isinstance(kind, str) or kind not in _KINDS:
        known = ", ".join(sorted(_KINDS))
        raise InvalidTrigger(f"unknown trigger kind {kind!r}; known kinds: {known}")
    return _KINDS[kind](data)


def next_fires(trigger: Trigger, after: datetime, count: int) -> list[datetime]:
    """The next ``count`` fires of ``trigger`` strictly after ``after`` (fewer if it ends).

    Only fires before :data:`~gnomon.limits.LATEST` (the year 9000) are listed: past it a
    ``datetime`` cannot take the largest interval any more.
    """
    fires: list[datetime] = []
    fire = _next_or_none(trigger, after)
    while fire is not None and fire < LATEST and len(fires) < count:
        fires.append(fire)
        fire = _next_or_none(trigger, fire)
    return fires


def _next_or_none(trigger: Trigger, after: datetime) -> datetime | None:
    try:
        return trigger.next_after(after)
    except OverflowError:  # the next fire is past datetime's year 9999: none is left
        return None
