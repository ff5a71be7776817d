"""Issue 14: ``gnomon actions`` says which kinds this install cannot run (a missing optional
dependency) and the exact command that installs it for this gnomon."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

from gnomon.actions.extras import NEEDS, install_command
from tests.reliability.conftest import REPO, gnomon_executable

EDITABLE = json.dumps({"dir_info": {"editable": True}, "url": "file:///src/my%20gnomon"})


def test_every_needed_extra_exists_and_installs_the_module() -> None:
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    for kind, (module, extra) in NEEDS.items():
        wanted = " ".join(extras[extra]).lower()
        assert module in wanted.replace("-", "_"), (kind, module, extras[extra])


def test_the_install_command_names_this_checkout_when_installed_editable(tmp_path: Path) -> None:
    (tmp_path / "pip").write_text("")
    python = str(tmp_path / "python")
    assert install_command("mcp", direct_url=EDITABLE, python=python) == (
        f"{tmp_path}/pip install -e '/src/my gnomon[mcp]'"
    )
    bare = str(tmp_path / "nopip" / "python")
    assert install_command("mcp", direct_url=EDITABLE, python=bare) == (
        f"{bare} -m pip install -e '/src/my gnomon[mcp]'"
    )
    wheel = json.dumps({"url": "https://example.org/g.whl", "archive_info": {}})
    assert install_command("notify", direct_url=wheel, python=python) == (
        "pip install 'gnomon[notify]'"
    )
    assert install_command("notify", direct_url=None, python=python) == (
        "pip install 'gnomon[notify]'"
    )


def test_gnomon_actions_shows_a_kind_whose_dependency_is_missing(tmp_path: Path) -> None:
    shadow = tmp_path / "apprise"  # stands for apprise not installed: its import fails
    shadow.mkdir()
    (shadow / "__init__.py").write_text("raise ImportError(\"No module named 'apprise'\")\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    done = subprocess.run(
        [gnomon_executable(), "actions", "--json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    status = {item["kind"]: item["status"] for item in json.loads(done.stdout)}
    pip = Path(sys.executable).parent / "pip"
    runner = str(pip) if pip.exists() else f"{sys.executable} -m pip"
    assert status["notify"] == (
        f"unavailable: needs apprise; install it with: {runner} install -e '{REPO}[notify]'"
    )
    assert status["http"] == "ok"
    assert status["mcp"] == "ok"
