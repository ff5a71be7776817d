"""`gnomon up` runs scheduler, workers, API and dashboard in one process and prints the URL."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

URL = re.compile(r"dashboard and API: (http://127\.0\.0\.1:\d+/)")


def test_up_serves_the_api_and_dashboard_and_runs_jobs(tmp_path: Path) -> None:
    env = {**os.environ, "COLUMNS": "250", "PYTHONUNBUFFERED": "1"}
    env.pop("GNOMON_DATABASE_URL", None)
    log = tmp_path / "up.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gnomon",
                "--db",
                str(tmp_path / "g.db"),
                "up",
                "--demo",
                "--port",
                "0",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        deadline = time.monotonic() + 30
        while not (found := URL.search(log.read_text())):
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)  # polling a child's output, not waiting for scheduled time
        base = found.group(1)
        assert httpx.get(base + "health", timeout=5).json()["status"] == "ok"
        jobs = httpx.get(base + "api/v1/jobs", timeout=5).json()["items"]
        assert {j["id"] for j in jobs} >= {"demo-heartbeat", "demo-cron"}
        page = httpx.get(base, timeout=5)
        assert page.status_code == 200
        assert "Upcoming fires" in page.text
        assert "Content-Security-Policy" in page.headers
        deadline = time.monotonic() + 30
        while "demo-heartbeat run" not in log.read_text():  # the scheduler runs in the same process
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=30)
    assert code == 0, log.read_text()
    assert "stopped" in log.read_text()
