"""Issue 14: the README's tour runs as written, top to bottom, in an empty folder.

The blocks of the tour are marked in the README by an HTML comment before each (invisible
on the rendered page): ``<!-- tour: file PATH -->`` (save the block as PATH),
``<!-- tour: script NAME -->`` (save it and run ``python NAME``) and ``<!-- tour: shell -->``
(run each command, continuation lines joined). They run with the installed ``gnomon`` in a
temporary folder; the only setting added is ``GNOMON_API_PORT=0``, so ``gnomon up``'s API
takes a free port. A command that runs until Ctrl-C (``gnomon up``, ``--follow``) runs in the
background until it has shown what the tour promises, then gets SIGINT and must exit 0.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.reliability.conftest import REPO, gnomon_executable
from tests.reliability.test_dev_up import wait_for

MARK = re.compile(r"<!-- tour: (file|script|shell)(?: (\S+))? -->\n```\w*\n(.*?)\n```", re.S)
SHOWN = {  # what a command that runs until Ctrl-C must show before it is stopped
    "gnomon up": ("time to stretch, ana", "what did you do yesterday?"),
    "gnomon events --follow": ("job.created", "run.succeeded"),
}


@dataclass(frozen=True)
class Block:
    kind: str  # file, script or shell
    name: str | None
    text: str


def tour_blocks(readme: str) -> list[Block]:
    return [Block(kind, name, text + "\n") for kind, name, text in MARK.findall(readme)]


def shell_commands(text: str) -> list[str]:
    """Each command of a shell block, its continuation lines joined, comments kept."""
    return [c for c in re.sub(r"\\\n\s*", "", text).splitlines() if c.strip()]


def _environment(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GNOMON_")}
    env.pop("PYTHONPATH", None)
    bin_dir = str(Path(gnomon_executable()).parent)
    return {
        **env,
        "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        "GNOMON_API_PORT": "0",
        "PYTHONUNBUFFERED": "1",
        "HOME": str(tmp_path / "home"),
    }


def _long_running(command: str) -> tuple[str, ...] | None:
    """What ``command`` must show if it runs until Ctrl-C, else None."""
    words = command.split("#")[0].split()
    found = [v for k, v in SHOWN.items() if words[: len(k.split())] == k.split()]
    return found[0] if found else None


def _until_ctrl_c(command: str, shown: tuple[str, ...], cwd: Path, env: dict[str, str]) -> str:
    out = cwd / "long-running.out"
    with out.open("wb") as sink:
        proc = subprocess.Popen(
            ["bash", "-c", f"exec {command}"],
            cwd=cwd,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        text = lambda: out.read_text(errors="replace")  # noqa: E731
        wait_for(lambda: all(s in text() for s in shown) or proc.poll() is not None, command, 60)
        assert proc.poll() is None, f"{command} ended on its own:\n{text()}"
        os.killpg(proc.pid, signal.SIGINT)
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    found = out.read_text(errors="replace")
    assert code == 0, f"{command} exited {code}:\n{found}"
    assert all(s in found for s in shown), f"{command} did not show {shown}:\n{found}"
    return found


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, f"{command[-1]} exited {done.returncode}:\n{done.stderr}"
    return done.stdout


def test_the_readme_tour_runs_as_written(tmp_path: Path) -> None:
    blocks = tour_blocks((REPO / "README.md").read_text())
    assert [b.kind for b in blocks] == ["file", "shell", "script", "shell"]
    env = _environment(tmp_path)
    shown: dict[str, str] = {}
    for block in blocks:
        if block.kind == "file" and block.name:
            (tmp_path / block.name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / block.name).write_text(block.text)
        elif block.kind == "script" and block.name:
            (tmp_path / block.name).write_text(block.text)
            shown[block.name] = _run([sys.executable, block.name], tmp_path, env)
        else:
            for command in shell_commands(block.text):
                if (promised := _long_running(command)) is not None:
                    shown[command] = _until_ctrl_c(command, promised, tmp_path, env)
                else:
                    shown[command] = _run(["bash", "-c", command], tmp_path, env)
    assert "poll_feeds: run" in shown["jobs.py"]
    up = next(v for k, v in shown.items() if k.startswith("gnomon up "))
    assert f"--python references import from {tmp_path}\n" in up  # where remind came from
    history = next(v for k, v in shown.items() if k.startswith("gnomon history standup"))
    assert "succeeded" in history
