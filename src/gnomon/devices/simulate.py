"""Simulated devices for demos and tests: ``gnomon device simulate coop``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gnomon.clock import Clock
from gnomon.devices.device import Device


def coop_door(
    *,
    broker: str = "mqtt://127.0.0.1:1883",
    base: str = "coop/door",
    clock: Clock | None = None,
    persistent_session: bool = False,
    client_id: str | None = None,
) -> Device:
    """A chicken-coop door: commands ``open`` and ``close``; state ``{"door": ...}``."""
    door = Device(
        "coop",
        base=base,
        broker=broker,
        clock=clock,
        client_id=client_id,
        persistent_session=persistent_session,
    )
    door.state = {"door": "closed"}

    @door.command("open")
    def _open(payload: Any) -> dict[str, Any]:
        return {"door": "open"}

    @door.command("close")
    def _close(payload: Any) -> dict[str, Any]:
        return {"door": "closed"}

    return door


SIMULATIONS: dict[str, Callable[..., Device]] = {"coop": coop_door}
