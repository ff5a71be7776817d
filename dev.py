#!/usr/bin/env python3
"""The two set-up commands of gnomon, for a fresh machine with only Python 3.11+.

    python3 dev.py up [gnomon up options]   start gnomon (embedded SQLite default)
    python3 dev.py test [pytest options]    run the whole test suite
                                            (in parallel lanes: tests/lanes.py)

Each command creates ``.venv`` beside this file on first use and installs what it needs
into it; it reinstalls only when ``pyproject.toml`` changes. Everything after the
command word is handed on unchanged.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
EXTRAS = {"up": "all", "test": "dev"}  # up: every action kind works (notify, mcp, amqp, redis)
PARALLEL = ["-n", "3"]


def ensure_env(extras: str) -> None:
    """Create the virtual environment and install gnomon with ``extras`` if out of date."""
    sources = [ROOT / "pyproject.toml", ROOT / "examples/plugins/gnomon-backup/pyproject.toml"]
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sources)).hexdigest()[:16]
    stamp = VENV / f".installed-{extras}-{digest}"
    if stamp.exists():
        return
    if not (BIN / "python").exists():
        print(f"dev.py: creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print(f"dev.py: installing gnomon[{extras}] (once per change of pyproject.toml)", flush=True)
    pip = [str(BIN / "python"), "-m", "pip", "--disable-pip-version-check"]
    subprocess.run([*pip, "install", "-q", "-e", f"{ROOT}[{extras}]"], check=True)
    if extras == "dev":  # the example plugin is installed and used by the tests
        plugin = ROOT / "examples" / "plugins" / "gnomon-backup"
        subprocess.run([*pip, "install", "-q", "--no-deps", "-e", str(plugin)], check=True)
    for old in VENV.glob(f".installed-{extras}-*"):
        old.unlink()
    stamp.touch()


def run(cmd: list[str]) -> int:
    """Run ``cmd`` and return its exit code, leaving Ctrl-C to it.

    Ctrl-C in a terminal reaches every process of the foreground group: gnomon stops cleanly
    by itself (runs in flight finish and are recorded; a second Ctrl-C forces). This process
    only waits for it; ``subprocess.call`` would kill the child 0.25 s after the Ctrl-C, and a
    run killed mid-way runs again. SIGTERM sent to this process is passed on to the child.
    """
    child = subprocess.Popen(cmd)
    if os.name == "posix":
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the child has had its own since Popen
        signal.signal(signal.SIGTERM, lambda *_: child.send_signal(signal.SIGTERM))
    while True:
        try:
            return child.wait()
        except KeyboardInterrupt:  # not POSIX: the child got the same Ctrl-C; keep waiting
            continue


def main(argv: list[str]) -> int:
    if sys.version_info < (3, 11):  # noqa: UP036 - this file must run on old Pythons to say so
        print(f"gnomon needs Python 3.11 or newer; this is {sys.version.split()[0]}")
        return 2
    if not argv or argv[0] not in EXTRAS:
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    ensure_env(EXTRAS[command])
    if command == "up":
        cmd = [str(BIN / "gnomon"), "up", *rest]
    else:
        # The whole suite runs on 3 workers in lanes (tests/lanes.py); a selection of tests
        # runs as given (add ``-n 3`` for lanes there too).
        cmd = [str(BIN / "python"), "-m", "pytest", *(rest or PARALLEL)]
    os.chdir(ROOT)
    return run(cmd)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
