"""Step functions for the sequence tests (module-level, so they can be referenced)."""

from __future__ import annotations

from typing import Any

calls: list[str] = []
failures_left: dict[str, int] = {}


def step(name: str, value: Any = None) -> Any:
    calls.append(name)
    return value if value is not None else name


def combine(name: str, left: Any, right: Any) -> dict[str, Any]:
    calls.append(name)
    return {"left": left, "right": right}


def flaky(name: str) -> str:
    """Fails while ``failures_left[name]`` is positive, counting down."""
    calls.append(name)
    if failures_left.get(name, 0) > 0:
        failures_left[name] -= 1
        raise RuntimeError(f"{name} failed on purpose")
    return f"{name} ok"
