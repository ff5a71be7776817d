"""Issue 14: jobs defined in a script (the APScheduler habit) run while that script runs.

``@scheduler.job(...)`` or ``scheduler.add(func, ...)`` on a function of the script itself
(module ``__main__``) stores the reference ``__main__:func``; the scheduler the script runs
finds the function by name in its process. Any other scheduler on the same database cannot
import it: the run fails with a clear error, once, and is not retried with backoff.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from gnomon import FakeClock, Scheduler
from gnomon.models import RunStatus
from gnomon.settings import Settings
from gnomon.store import SqlStore
from tests.reliability.test_dev_up import wait_for

SCRIPT = """
from gnomon import Scheduler

scheduler = Scheduler({db!r})

@scheduler.job("in 1 second", max_attempts=3, backoff=1)
def remind() -> str:
    print("reminded", flush=True)
    return "done"

scheduler.add("in 1 second", remind, id="also")
{run}
"""


def _script(tmp_path: Path, run: str) -> subprocess.CompletedProcess[str]:
    db = str(tmp_path / "jobs.db")
    path = tmp_path / "script.py"
    path.write_text(SCRIPT.format(db=db, run=run))
    env = {k: v for k, v in os.environ.items() if not k.startswith("GNOMON_")}
    return subprocess.run(
        [sys.executable, str(path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_script_runs_its_own_functions(tmp_path: Path) -> None:
    done = _script(tmp_path, "scheduler.run_for(3)\nscheduler.close()")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["reminded", "reminded"]
    store = SqlStore(f"sqlite:///{tmp_path / 'jobs.db'}", migrate=False)
    try:
        runs = store.list_runs("remind") + store.list_runs("also")
    finally:
        store.close()
    assert [(r.status, r.result) for r in runs] == [(RunStatus.SUCCEEDED, "done")] * 2


def test_another_scheduler_fails_a_script_function_once_with_a_clear_error(
    tmp_path: Path,
) -> None:
    stored = _script(tmp_path, "scheduler.close()")  # defines the jobs, runs nothing
    assert stored.returncode == 0, stored.stderr
    clock = FakeClock()
    clock.advance(timedelta(days=365 * 10))  # past the jobs' one fire
    with Scheduler(str(tmp_path / "jobs.db"), clock=clock, settings=Settings(), workers=2) as other:
        other.tick()
        assert other.wait_idle(timeout=30)
        clock.advance(timedelta(seconds=60))  # past any backoff
        other.tick()
        assert other.wait_idle(timeout=30)
        runs = other.runs("remind")
    assert [r.status for r in runs] == [RunStatus.FAILED]
    assert runs[0].error is not None
    assert runs[0].error.startswith(
        "function remind is defined in a script (__main__) and is only available while "
        "that script runs the scheduler"
    )
    assert "not retried" in runs[0].error


def test_ctrl_c_stops_a_script_s_run_forever_cleanly(tmp_path: Path) -> None:
    """A script that calls ``run_forever()`` stops on Ctrl-C: the run in flight finishes and
    is recorded, and the script goes on after the call (no traceback)."""
    db, out = str(tmp_path / "jobs.db"), tmp_path / "script.out"
    (tmp_path / "forever.py").write_text(
        f"""
import time
from gnomon import Scheduler

scheduler = Scheduler({db!r})

@scheduler.job("in 1 second")
def slow() -> str:
    print("started", flush=True)
    time.sleep(1)
    return "finished"

scheduler.run_forever()
print("after run_forever", flush=True)
scheduler.close()
"""
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("GNOMON_")}
    with out.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "forever.py"],
            cwd=tmp_path,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for(lambda: "started" in out.read_text(), "the run to start")
        os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(timeout=60) == 0, out.read_text()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert out.read_text().split() == ["started", "after", "run_forever"]
    store = SqlStore(f"sqlite:///{db}", migrate=False)
    try:
        runs = store.list_runs("slow")
    finally:
        store.close()
    assert [(r.status, r.result) for r in runs] == [(RunStatus.SUCCEEDED, "finished")]
