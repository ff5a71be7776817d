"""``gnomon events --follow`` in a real process: new events come through a pipe line by line
as they are recorded, and Ctrl-C (SIGINT) stops it cleanly with exit status 0.

Nothing sleeps: the test waits on the pipe for each line (with a deadline), and records the
next event only after the process has printed what it had."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

from gnomon.definitions import shell
from gnomon.scheduler import Scheduler

DEADLINE = 30.0  # seconds a line may take to come through (a loaded machine)


class Lines:
    """The lines a process prints, read from its pipe as they come (raw reads: a line
    buffered in Python's reader would not wake the selector)."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        self.fd = process.stdout.fileno()
        self.buffer = b""

    def next(self) -> str:
        """The next line, waiting on the pipe up to :data:`DEADLINE`."""
        end = time.monotonic() + DEADLINE
        with selectors.DefaultSelector() as selector:
            selector.register(self.fd, selectors.EVENT_READ)
            while b"\n" not in self.buffer:
                left = end - time.monotonic()
                if left <= 0 or not selector.select(timeout=left):
                    raise AssertionError("no line from gnomon events --follow in time")
                chunk = os.read(self.fd, 4096)
                if not chunk:
                    raise AssertionError(f"gnomon events --follow ended: {self.buffer!r}")
                self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode()


def test_follow_prints_new_events_through_a_pipe_and_ctrl_c_exits_zero(tmp_path: Path) -> None:
    db = str(tmp_path / "follow.db")
    with Scheduler(db) as scheduler:
        scheduler.add("every 1h", shell(["true"]), id="watched")
        code = "import sys; from gnomon.cli.command import main; sys.argv[0] = 'gnomon'; main()"
        process = subprocess.Popen(
            [sys.executable, "-c", code, "--db", db, "events", "--follow", "--interval", "0.05"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        lines = Lines(process)
        try:
            assert "job.created  watched" in lines.next()
            scheduler.pause("watched")
            assert "job.paused  watched" in lines.next()
            scheduler.resume("watched")
            assert "job.resumed  watched" in lines.next()
            process.send_signal(signal.SIGINT)
            _, err = process.communicate(timeout=DEADLINE)
        finally:
            process.kill()
    assert process.returncode == 0, err
    assert b"Traceback" not in err
