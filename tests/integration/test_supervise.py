"""The supervisor of ``gnomon up --broker`` with trivial children (``python -c`` scripts):
prefixed lines, a clean stop, SIGKILL after the grace, a child that dies, a second Ctrl-C."""

from __future__ import annotations

import io
import json
import os
import signal
import sys
import threading
from collections.abc import Iterator

import psutil
import pytest

from gnomon.cli.supervise import ChildSpec, Ending, Supervisor, run_until_stopped
from gnomon.errors import ConfigError

WAIT = 20.0  # seconds a test waits for a child's line before failing (never slept)

POLITE = """
import signal, sys
signal.signal(signal.SIGTERM, lambda *a: (print("bye", flush=True), sys.exit(0)))
print("ready", flush=True)
print("to stderr", file=sys.stderr, flush=True)
while True:
    signal.pause()
"""

STUBBORN = """
import os, signal, subprocess, sys
signal.signal(signal.SIGTERM, signal.SIG_IGN)
grandchild = subprocess.Popen([sys.executable, "-c", "import signal; signal.pause()"])
print(f"ready {grandchild.pid}", flush=True)
while True:
    signal.pause()
"""

CRASH = "import sys; print('ready', flush=True); sys.exit(3)"


class Lines(io.StringIO):
    """An output that lets a test wait for a line (on a condition, not a sleep)."""

    def __init__(self) -> None:
        super().__init__()
        self.changed = threading.Condition()

    def write(self, text: str) -> int:
        with self.changed:
            n = super().write(text)
            self.changed.notify_all()
        return n

    def wait_for(self, needle: str) -> str:
        with self.changed:
            found = self.changed.wait_for(lambda: needle in self.getvalue(), timeout=WAIT)
        assert found, f"{needle!r} not seen in:\n{self.getvalue()}"
        return next(line for line in self.getvalue().splitlines() if needle in line)


def child(name: str, script: str) -> ChildSpec:
    return ChildSpec(name=name, argv=(sys.executable, "-c", script))


@pytest.fixture
def lines() -> Lines:
    return Lines()


@pytest.fixture
def made() -> Iterator[list[Supervisor]]:
    supervisors: list[Supervisor] = []
    yield supervisors
    for supervisor in supervisors:  # a failed test leaves no process behind
        for proc in supervisor.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        supervisor.close()


def supervise(
    made: list[Supervisor],
    out: Lines,
    *children: ChildSpec,
    grace: float = 30.0,
    log_format: str = "text",
) -> Supervisor:
    supervisor = Supervisor(
        children,
        out=out,
        grace=grace,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        log_format=log_format,
    )
    made.append(supervisor)
    supervisor.start()
    return supervisor


def test_lines_are_prefixed_and_a_requested_stop_ends_every_child(
    lines: Lines, made: list[Supervisor]
) -> None:
    supervisor = supervise(made, lines, child("scheduler", POLITE), child("api", POLITE))
    assert lines.wait_for("scheduler | ready") == "scheduler | ready"
    lines.wait_for("api       | ready")
    lines.wait_for("api       | to stderr")
    supervisor.request_stop()
    assert supervisor.wait() == Ending(requested=True)
    assert supervisor.stop() == {"scheduler": 0, "api": 0}
    lines.wait_for("scheduler | bye")
    lines.wait_for("api       | bye")


JSON_CHILD = """
import json, logging, signal, sys
from gnomon import logs
logs.setup(log_format="json")
print("banner, not a log line", flush=True)
logging.getLogger("gnomon.child").warning("ready")
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
signal.pause()
"""


def test_json_lines_stay_json_with_the_process_named(lines: Lines, made: list[Supervisor]) -> None:
    supervisor = supervise(made, lines, child("scheduler", JSON_CHILD), log_format="json")
    lines.wait_for('"message": "ready"')
    supervisor.request_stop()
    supervisor.wait()
    supervisor.stop()
    entries = [json.loads(line) for line in lines.getvalue().splitlines()]
    assert {e["process"] for e in entries} == {"up", "scheduler"}
    ready = next(e for e in entries if e["message"] == "ready")
    assert (ready["logger"], ready["level"]) == ("gnomon.child", "WARNING")
    banner = next(e for e in entries if e["message"] == "banner, not a log line")
    assert (banner["process"], banner["logger"]) == ("scheduler", "gnomon.up")


def test_a_child_that_ignores_sigterm_is_killed_with_its_group_after_the_grace(
    lines: Lines, made: list[Supervisor]
) -> None:
    supervisor = supervise(made, lines, child("worker", STUBBORN), grace=0.3)
    grandchild = psutil.Process(int(lines.wait_for("worker | ready").split()[-1]))
    assert supervisor.stop() == {"worker": -signal.SIGKILL}
    lines.wait_for("up     | worker did not stop within 0.3 s: killed")
    _, alive = psutil.wait_procs([grandchild], timeout=WAIT)
    assert not alive or alive[0].status() == psutil.STATUS_ZOMBIE


def test_a_child_that_dies_is_reported_and_the_others_can_be_stopped(
    lines: Lines, made: list[Supervisor]
) -> None:
    supervisor = supervise(made, lines, child("api", POLITE), child("worker", CRASH))
    assert supervisor.wait() == Ending(requested=False, child="worker", code=3)
    lines.wait_for("api    | ready")
    assert supervisor.stop() == {"api": 0, "worker": 3}


def test_a_second_stop_request_kills_at_once(lines: Lines, made: list[Supervisor]) -> None:
    supervisor = supervise(made, lines, child("worker", STUBBORN), grace=3600.0)
    lines.wait_for("worker | ready")
    supervisor.request_stop()
    supervisor.request_stop()  # Ctrl-C again: a person who will not wait
    assert supervisor.stop() == {"worker": -signal.SIGKILL}


def test_a_signal_handler_may_request_the_stop(lines: Lines, made: list[Supervisor]) -> None:
    supervisor = supervise(made, lines, child("scheduler", POLITE))
    lines.wait_for("scheduler | ready")
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: supervisor.request_stop())
    try:
        threading.Thread(target=os.kill, args=(os.getpid(), signal.SIGTERM)).start()
        assert supervisor.wait() == Ending(requested=True)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert supervisor.stop() == {"scheduler": 0}


def test_a_command_that_cannot_start_stops_those_started(
    lines: Lines, made: list[Supervisor]
) -> None:
    missing = ChildSpec(name="flower", argv=("/nonexistent/flower",))
    supervisor = Supervisor([child("api", POLITE), missing], out=lines)
    made.append(supervisor)
    with pytest.raises(ConfigError, match=r"cannot start flower \(/nonexistent/flower\)"):
        supervisor.start()
    assert supervisor.exited().keys() == {"api"}


def test_nothing_to_run_is_refused() -> None:
    with pytest.raises(ConfigError, match="nothing to run"):
        Supervisor([])


def test_run_until_stopped_ends_on_sigterm_with_every_child_stopped(lines: Lines) -> None:
    supervisor = Supervisor([child("scheduler", POLITE), child("api", POLITE)], out=lines)

    def stop_when_ready() -> None:
        lines.wait_for("scheduler | ready")
        lines.wait_for("api       | ready")
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=stop_when_ready).start()
    assert run_until_stopped(supervisor) == 0
    lines.wait_for("up        | stopping every process")
    lines.wait_for("up        | stopped: scheduler 0, api 0")
    assert signal.getsignal(signal.SIGTERM) is not None  # the previous handlers are back


def test_run_until_stopped_reports_a_child_that_dies_and_stops_the_others(lines: Lines) -> None:
    supervisor = Supervisor([child("api", POLITE), child("worker", CRASH)], out=lines)
    assert run_until_stopped(supervisor) == 1
    lines.wait_for("up     | worker exited with code 3: stopping the others")
    # api may get its SIGTERM before its handler is set (-15): stopped either way
    assert lines.wait_for("up     | stopped: ") in (
        "up     | stopped: api 0, worker 3",
        "up     | stopped: api -15, worker 3",
    )
