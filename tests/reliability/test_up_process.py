"""``gnomon up`` as a newcomer meets it: what it prints, and the demo that fires at once."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.reliability.conftest import Launcher, run_cli
from tests.reliability.workload import every, next_whole_second, store_jobs, utcnow


def test_up_on_an_empty_database_names_it_and_shows_how_to_add_a_job(
    tmp_path: Path, launcher: Launcher
) -> None:
    db = tmp_path / "fresh" / "gnomon.db"  # the directory does not exist yet either
    process = launcher.start(str(db), "up")
    process.wait_ready()
    assert process.stop() == 0
    out = process.output()
    assert f"database sqlite:///{db}" in out
    assert "No jobs yet" in out
    assert "gnomon add 'every 1m' --shell -- echo hello" in out
    assert "gnomon up --demo" in out
    assert out.rstrip().endswith("stopped")
    assert db.exists()


def test_up_with_jobs_counts_them_instead_of_the_hint(tmp_path: Path, launcher: Launcher) -> None:
    db = str(tmp_path / "gnomon.db")
    start = next_whole_second(utcnow(), margin=3600)
    store_jobs(db, [every(f"job-{i}", 60, start, tmp_path / "ledger") for i in range(3)])
    process = launcher.start(db, "up")
    process.wait_ready()
    assert process.stop() == 0
    assert "3 job(s) stored" in process.output()
    assert "No jobs yet" not in process.output()


def test_up_demo_fires_a_demo_job_within_the_first_minute(
    tmp_path: Path, launcher: Launcher
) -> None:
    db = str(tmp_path / "gnomon.db")
    started = time.monotonic()
    process = launcher.start(db, "demo", "--demo")
    process.wait_ready()
    assert "demo jobs loaded: demo-heartbeat" in process.output()
    runs: list[dict[str, object]] = []
    while time.monotonic() - started < 60:
        history = run_cli(db, "history", "demo-heartbeat", "--json")
        assert history.returncode == 0, history.stderr
        runs = json.loads(history.stdout)
        if any(r["status"] == "succeeded" for r in runs):
            break
        assert process.alive(), process.describe()
        time.sleep(1)
    elapsed = time.monotonic() - started
    print(f"first demo-heartbeat fire recorded {elapsed:.1f} s after start: {runs[:1]}")
    assert any(r["status"] == "succeeded" for r in runs), runs
    fired = next(r for r in runs if r["status"] == "succeeded")
    assert fired["output"] == "tick from gnomon\n"
    assert process.stop() == 0


def test_up_leaves_what_is_alive_at_start_out_of_garbage_collection(
    tmp_path: Path, launcher: Launcher
) -> None:
    """gnomon's own process freezes its start-up objects (``gc.freeze``): the collector's
    full passes then no longer walk them while runs fall due."""
    process = launcher.start(str(tmp_path / "gnomon.db"), "frozen", "--verbose", "--no-api")
    process.wait_ready()
    assert process.stop() == 0
    said = process.output() + process.errors()
    frozen = [line for line in said.splitlines() if "alive at start left out of garbage" in line]
    assert frozen, said
    count = int(frozen[0].split(" objects alive at start")[0].split()[-1])
    assert count > 10_000  # the modules and the store's statements, at least
