"""The contract every trigger kind keeps, checked over one instance of each kind.

- ``next_after(t)`` is an aware UTC instant strictly after ``t``, or None (no more fires);
  fires walked one after the other strictly increase;
- ``to_json()`` is JSON, names its ``kind``, and reads back (``trigger_from_json``) to a trigger
  with the same fires and the same description;
- ``describe()`` is one non-empty line.
A new kind registered without an entry here fails ``test_every_registered_kind_is_covered``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from gnomon.triggers import parse
from gnomon.triggers.base import _KINDS, _LAZY_KINDS, Trigger, next_fires, trigger_from_json

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PLACE = (59.33, 18.07)  # Stockholm

SPECS = {
    "at": "2026-03-02T09:30:00",
    "interval": "every 90 minutes",
    "cron": "0 9 * * 1-5",
    "rrule": "FREQ=MONTHLY;BYDAY=-1FR;BYHOUR=17;BYMINUTE=0",
    "solar": "sunrise +15m",
    "except": "0 9 * * * except 2026-03-03,2026-03-05",
}


def make(kind: str) -> Trigger:
    trigger = parse(SPECS[kind], tz="Europe/Stockholm", now=NOW, location=PLACE)
    assert trigger.to_json()["kind"] == kind, f"{SPECS[kind]!r} is not a {kind} trigger"
    return trigger


def test_every_registered_kind_is_covered() -> None:
    for module in _LAZY_KINDS.values():
        __import__(module)  # registers its kind
    real = {kind for kind in _KINDS if not kind.startswith("test-")}  # tests register their own
    assert real <= set(SPECS), f"no contract case for {sorted(real - set(SPECS))}"


@pytest.mark.parametrize("kind", sorted(SPECS))
def test_fires_are_aware_utc_and_strictly_increasing(kind: str) -> None:
    trigger = make(kind)
    fires = next_fires(trigger, NOW, 20)
    assert fires, f"{kind}: no fire after {NOW}"
    for fire in fires:
        assert fire.tzinfo is not None
        assert fire.utcoffset() == timedelta(0)
    assert all(a < b for a, b in zip([NOW, *fires], fires, strict=False))
    for fire in fires:
        following = trigger.next_after(fire)
        assert following is None or following > fire


@pytest.mark.parametrize("kind", sorted(SPECS))
def test_json_round_trip_keeps_fires_and_description(kind: str) -> None:
    trigger = make(kind)
    data = json.loads(json.dumps(trigger.to_json()))
    again = trigger_from_json(data)
    assert next_fires(again, NOW, 20) == next_fires(trigger, NOW, 20)
    assert again.describe() == trigger.describe()


@pytest.mark.parametrize("kind", sorted(SPECS))
def test_description_is_one_line(kind: str) -> None:
    text = make(kind).describe()
    assert text.strip()
    assert "\n" not in text


def test_a_one_shot_ends() -> None:
    trigger = make("at")
    [fire] = next_fires(trigger, NOW, 5)
    assert trigger.next_after(fire) is None
