"""Issue 14: ``GNOMON_PYTHONPATH`` adds folders ``--python`` references import from, for every
``gnomon`` command (``add`` checks the reference; ``up`` runs it), before the current
directory."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.reliability.conftest import gnomon_executable


def _add(cwd: Path, env: dict[str, str], ref: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [gnomon_executable(), "--db", str(cwd / "g.db"), "add", "every 1h", "--python", ref],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_gnomon_pythonpath_folders_are_imported_from(tmp_path: Path) -> None:
    lib, here = tmp_path / "lib", tmp_path / "here"
    lib.mkdir()
    here.mkdir()
    (lib / "faraway_tasks.py").write_text("def ping():\n    return 'pong'\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GNOMON_") and k != "PYTHONPATH"}
    missing = _add(here, env, "faraway_tasks:ping")
    assert missing.returncode != 0
    assert "cannot import 'faraway_tasks'" in missing.stderr
    found = _add(here, {**env, "GNOMON_PYTHONPATH": str(lib)}, "faraway_tasks:ping")
    assert found.returncode == 0, found.stderr
    (here / ".env").write_text("GNOMON_PYTHONPATH=../lib\n")  # relative: from the current directory
    from_dotenv = _add(here, env, "faraway_tasks:ping")
    assert from_dotenv.returncode == 0, from_dotenv.stderr
