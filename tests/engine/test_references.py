"""Resolving ``"package.module:function"`` references, as a worker does for each run."""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from gnomon.references import resolve

ENTERED = threading.Event()  # the slow module's body has started
RELEASE = threading.Event()  # and may finish


def test_a_module_another_thread_is_still_importing_is_waited_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two runs of a job whose module is not imported yet start at once on two workers: one
    # imports it; the other must wait for that import, not see a module without attributes.
    (tmp_path / "gnomon_slow_module.py").write_text(
        "from tests.engine import test_references as t\n"
        "t.ENTERED.set()\n"
        "t.RELEASE.wait(10)\n"
        "def answer():\n"
        "    return 42\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "gnomon_slow_module", raising=False)
    importer = threading.Thread(target=resolve, args=("gnomon_slow_module:answer",))
    importer.start()
    assert ENTERED.wait(10)
    got: list[Any] = []
    second = threading.Thread(target=lambda: got.append(resolve("gnomon_slow_module:answer")))
    second.start()
    RELEASE.set()
    importer.join(10)
    second.join(10)
    assert [f() for f in got] == [42]
