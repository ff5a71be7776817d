"""A Redis server of one test's own, which the test may stop and start again.

The shared Redis (6379) serves every test running at the same time: a test that takes its
broker away must not take theirs. :class:`PrivateRedis` runs ``redis-server`` on a free
port with no persistence at all (``--save ""``, ``--appendonly no``): stopped and started
again on the same port, it comes back empty, as a broker restarted without persistence
does — every message it held is lost.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import reachable


def free_port() -> int:
    """A TCP port nobody listens on (the kernel's pick, released at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivateRedis:
    """``redis-server`` on ``port`` (a free one by default); logs in ``workdir``."""

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        self.workdir, self.port = workdir, port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> None:
        """Start the server and wait until it accepts connections."""
        assert self.proc is None, "already running"
        argv = [
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--dir",
            str(self.workdir),
        ]
        self.starts += 1
        with (self.workdir / f"redis-{self.starts}.log").open("ab") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while not reachable("127.0.0.1", self.port, timeout=0.2):
            if self.proc.poll() is not None:
                raise AssertionError(f"redis-server exited at start ({self.log()})")
            if time.monotonic() > deadline:
                raise AssertionError(f"redis-server not listening in {timeout} s ({self.log()})")
            time.sleep(0.05)

    def stop(self, signum: int = signal.SIGKILL) -> None:
        """Stop the server (``kill -9`` by default: nothing is saved, nothing flushed)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signum)
        self.proc.wait(timeout=10)
        self.proc = None

    def celery_messages(self, queue: str) -> tuple[int, int]:
        """Celery messages the server holds: waiting in ``queue`` (every priority list of
        it), and delivered to a worker but not acknowledged (kombu's ``unacked`` hash)."""
        import redis

        with redis.Redis(port=self.port, socket_timeout=5) as client:
            lists = [k for k in client.scan_iter(match=f"{queue}*") if client.type(k) == b"list"]
            waiting = sum(int(client.llen(k)) for k in lists)
            return waiting, int(client.hlen("unacked"))

    def log(self) -> str:
        path = self.workdir / f"redis-{self.starts}.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""


@contextlib.contextmanager
def private_redis(workdir: Path) -> Iterator[PrivateRedis]:
    """A running :class:`PrivateRedis`, stopped at the end (the test skips when
    ``redis-server`` is not installed, except under ``CI=true``)."""
    if shutil.which("redis-server") is None:
        reason = "redis-server is not on PATH"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true: it must be installed)")
        pytest.skip(reason)
    server = PrivateRedis(workdir)
    server.start()
    try:
        yield server
    finally:
        server.stop()
