"""Process fixtures: ``gnomon up`` subprocesses that are always cleaned up, and databases.

``launcher`` starts ``gnomon --db URL up`` processes (the installed console script, with the
repository on ``PYTHONPATH`` so they can import the ledger action). Whatever happens in the
test, every process it started is continued (if stopped) and killed at teardown, and the tail
of each process's output is printed, so a failure report shows what the schedulers said.

``postgres_url`` (from ``tests/backends.py``) is a fresh database on the local PostgreSQL
server, dropped afterwards; ``backend_url`` a fresh database on the test's ``backend``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
READY = "Press Ctrl-C to stop."


def gnomon_executable() -> str:
    beside = Path(sys.executable).parent / "gnomon"
    if beside.exists():
        return str(beside)
    found = shutil.which("gnomon")
    if found is None:
        pytest.fail("the gnomon console script is not installed (pip install -e .)")
    return found


def run_cli(db: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """One ``gnomon --db DB ARGS…`` command, its output captured."""
    env = {k: v for k, v in os.environ.items() if k != "GNOMON_DATABASE_URL"}
    return subprocess.run(
        [gnomon_executable(), "--db", db, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


class GnomonProcess:
    """One ``gnomon up`` subprocess (or another ``command``: ``scheduler``, ``worker``); its
    stdout and stderr go to files in ``workdir``. ``ready``: the line it prints when it runs;
    ``env``: variables set over this process's environment (e.g. ``GNOMON_LEASE``)."""

    def __init__(
        self,
        url: str,
        workdir: Path,
        name: str,
        args: tuple[str, ...] = (),
        command: str = "up",
        ready: str = READY,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.url, self.name, self.args = url, name, args
        self.command, self.ready = command, ready
        self.extra_env = dict(env or {})
        self.stdout = workdir / f"{name}.out"
        self.stderr = workdir / f"{name}.err"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> GnomonProcess:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
        env["PYTHONUNBUFFERED"] = "1"  # stdout is a file: show progress as it happens
        env["COLUMNS"] = "250"  # Rich would wrap long database paths at 80 columns
        env.pop("GNOMON_DATABASE_URL", None)
        env.update(self.extra_env)
        with self.stdout.open("ab") as out, self.stderr.open("ab") as err:
            self.proc = subprocess.Popen(
                [gnomon_executable(), "--db", self.url, self.command, *self.args],
                cwd=REPO,
                env=env,
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
            )
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def output(self) -> str:
        return self.stdout.read_text(errors="replace") if self.stdout.exists() else ""

    def errors(self) -> str:
        return self.stderr.read_text(errors="replace") if self.stderr.exists() else ""

    def wait_ready(self, timeout: float = 20.0) -> None:
        """Wait until the process says it is running (schema migrated, loop about to start)."""
        deadline = time.monotonic() + timeout
        while self.ready not in self.output() and self.ready not in self.errors():
            if not self.alive():
                raise AssertionError(f"{self.name} exited at start:\n{self.describe()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name} not ready in {timeout} s:\n{self.describe()}")
            time.sleep(0.05)

    def signal(self, signum: int) -> None:
        assert self.proc is not None
        if self.alive():
            self.proc.send_signal(signum)

    def kill(self) -> int:
        """``kill -9`` and reap."""
        assert self.proc is not None
        self.signal(signal.SIGKILL)
        return self.proc.wait(timeout=10)

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM (graceful: runs in flight finish and are recorded); SIGKILL if it hangs."""
        assert self.proc is not None
        self.signal(signal.SIGCONT)  # a stopped process cannot handle SIGTERM
        self.signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"{self.name} ignored SIGTERM for {timeout} s") from None

    def describe(self, tail: int = 40) -> str:
        out = "\n".join(self.output().splitlines()[-tail:])
        err = "\n".join(self.errors().splitlines()[-tail:])
        code = None if self.proc is None else self.proc.poll()
        return (
            f"--- {self.name} (pid {self.proc.pid if self.proc else '-'}, exit {code}) "
            f"stdout tail:\n{out}\n--- {self.name} stderr tail:\n{err}"
        )


class Launcher:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.processes: list[GnomonProcess] = []

    def start(
        self,
        url: str,
        name: str,
        *args: str,
        command: str = "up",
        ready: str = READY,
        env: Mapping[str, str] | None = None,
    ) -> GnomonProcess:
        process = GnomonProcess(url, self.workdir, name, args, command, ready, env)
        self.processes.append(process)
        return process.start()

    def describe(self) -> str:
        return "\n".join(p.describe() for p in self.processes)

    def cleanup(self) -> None:
        for process in self.processes:
            if process.alive():
                process.signal(signal.SIGCONT)
                process.kill()


@pytest.fixture
def launcher(tmp_path: Path) -> Iterator[Launcher]:
    launched = Launcher(tmp_path)
    try:
        yield launched
    finally:
        launched.cleanup()
        if launched.processes:
            print(launched.describe())  # shown by pytest when the test failed


@pytest.fixture
def backend_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A fresh database on the test's ``backend`` (parametrize with ``tests.backends.BACKENDS``)."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'gnomon.db'}"
    return str(request.getfixturevalue("postgres_url"))
