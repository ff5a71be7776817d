"""Issue 14: a Python reference resolves from the current directory for ``gnomon up``.

A newcomer writes ``tasks.py`` beside them, adds ``--python tasks:hello`` and runs
``gnomon up`` there: the console script's own folder is first on ``sys.path``, not the
current directory, so the run used to fail with "No module named 'tasks'".
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from gnomon.models import RunStatus
from gnomon.store import SqlStore
from tests.reliability.conftest import READY, gnomon_executable
from tests.reliability.test_dev_up import wait_for


def test_gnomon_up_imports_python_references_from_the_current_directory(
    tmp_path: Path,
) -> None:
    db, mark = str(tmp_path / "g.db"), tmp_path / "called"
    (tmp_path / "newcomer_tasks.py").write_text(
        f"def hello():\n    open({str(mark)!r}, 'w').write('hi')\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in {"GNOMON_DATABASE_URL", "PYTHONPATH"}}
    exe = gnomon_executable()
    added = subprocess.run(
        [exe, "--db", db, "add", "in 1 second", "--id", "hi", "--python", "newcomer_tasks:hello"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert added.returncode == 0, added.stderr
    out = tmp_path / "up.out"
    with out.open("wb") as sink:
        proc = subprocess.Popen(
            [exe, "--db", db, "up", "--no-api"],
            cwd=tmp_path,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    store = SqlStore(f"sqlite:///{db}", migrate=False)
    try:
        wait_for(lambda: READY in out.read_text(errors="replace"), "gnomon up to start")
        wait_for(lambda: any(r.status.finished for r in store.list_runs("hi")), "the run to finish")
        runs = store.list_runs("hi")
    finally:
        store.close()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            proc.wait(timeout=30)
    assert [r.status for r in runs] == [RunStatus.SUCCEEDED], [r.error for r in runs]
    assert mark.read_text() == "hi"
