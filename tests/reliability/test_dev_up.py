"""Issue 14: ``python3 dev.py up`` stops like ``gnomon up``.

A terminal's Ctrl-C reaches the whole foreground process group: dev.py and gnomon. gnomon
stops cleanly by itself (runs in flight finish and are recorded); dev.py must only wait.
It used to kill gnomon 0.25 s after the Ctrl-C (``subprocess.call``), so the run in flight was
left ``running`` and ran a second time at the next start.

Here dev.py's ``run`` starts ``gnomon up`` in a process group of its own (as a terminal's
foreground job), a job's 2-second shell run starts, and SIGINT goes to the group: the run
must end once, recorded ``succeeded``, and both processes exit 0.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

from gnomon.models import RunStatus
from gnomon.store import SqlStore
from tests.reliability.conftest import READY, REPO, gnomon_executable, run_cli


def wait_for(check: object, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)  # polling a condition, not waiting for scheduled time


def test_ctrl_c_through_dev_py_lets_the_run_in_flight_finish_once(tmp_path: Path) -> None:
    db, ledger, out = str(tmp_path / "g.db"), tmp_path / "ledger", tmp_path / "up.out"
    script = f"echo start >> {ledger}; sleep 2; echo end >> {ledger}"
    added = run_cli(db, "add", "in 2 seconds", "--id", "slow", "--shell", "--", "sh", "-c", script)
    assert added.returncode == 0, added.stderr
    code = (
        f"import sys; sys.path.insert(0, {str(REPO)!r}); import dev; "
        f"sys.exit(dev.run([{gnomon_executable()!r}, '--db', {db!r}, 'up', '--no-api']))"
    )
    env = {k: v for k, v in os.environ.items() if k != "GNOMON_DATABASE_URL"}
    with out.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-c", code],
            cwd=REPO,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group, as a terminal's foreground job
        )
    try:
        wait_for(lambda: READY in out.read_text(errors="replace"), "gnomon up to start")
        wait_for(lambda: ledger.exists() and "start" in ledger.read_text(), "the run to start")
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: the whole foreground group
        assert proc.wait(timeout=30) == 0, out.read_text(errors="replace")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert ledger.read_text().split() == ["start", "end"]  # ran once, to its end
    store = SqlStore(f"sqlite:///{db}", migrate=False)
    try:
        runs = store.list_runs("slow")
    finally:
        store.close()
    assert [r.status for r in runs] == [RunStatus.SUCCEEDED]


def test_dev_py_up_installs_every_action_kind() -> None:
    """The README's start command is a full install: notify, mcp, amqp and redis all work."""
    sys.path.insert(0, str(REPO))
    import dev  # the repository's dev.py, not a package module

    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    extras = pyproject["project"]["optional-dependencies"]
    assert dev.EXTRAS["up"] == "all"
    wanted = {"postgres", "notify", "mcp", "amqp"}
    assert wanted <= {e for req in extras["all"] for e in req.split("[")[1].rstrip("]").split(",")}
    packages = {req.split(">")[0].split("[")[0] for name in wanted for req in extras[name]}
    assert {"psycopg", "apprise", "mcp", "kombu", "redis"} <= packages
