"""Finding an action kind: a built-in one without reading the installed packages' entry
points, and each kind loaded once however many threads ask for it first."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from gnomon.actions import registry
from gnomon.errors import InvalidAction


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Nothing loaded yet; returns the list of entry-point groups read (appended to)."""
    monkeypatch.setattr(registry, "_loaded", {})
    reads: list[str] = []
    real = registry.entry_points

    def counting(**kwargs: Any) -> Any:
        reads.append(kwargs["group"])
        return real(**kwargs)

    monkeypatch.setattr(registry, "entry_points", counting)
    return reads


def test_builtin_kind_does_not_read_entry_points(fresh: list[str]) -> None:
    action = registry.get_action("python")
    assert type(action).__name__ == "PythonAction"
    assert fresh == []
    assert registry.get_action("python") is action  # and is loaded once


def test_plugin_kind_reads_entry_points(fresh: list[str]) -> None:
    # The example plugin ("backup") is installed by dev.py.
    registry.get_action("backup")
    assert fresh == ["gnomon.actions"]
    registry.get_action("backup")
    assert fresh == ["gnomon.actions"]


def test_unknown_kind_names_the_known_ones(fresh: list[str]) -> None:
    with pytest.raises(InvalidAction, match=r"unknown action kind 'nope'; known kinds: .*backup"):
        registry.get_action("nope")


def test_threads_asking_at_once_load_a_kind_once(
    fresh: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    loads: list[str] = []
    real_load = registry._load
    gate = threading.Barrier(8)  # all ask at once, as the workers at the first fires

    def counted_load(ref: str) -> Any:
        loads.append(ref)
        return real_load(ref)

    monkeypatch.setattr(registry, "_load", counted_load)
    got: list[Any] = []

    def ask() -> None:
        gate.wait()
        got.append(registry.get_action("shell"))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert loads == ["gnomon.actions.shell:ShellAction"]
    assert len(got) == 8
    assert all(a is got[0] for a in got)
