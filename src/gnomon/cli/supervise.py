"""Child processes of ``gnomon up --broker``: prefixed logs and one clean stop for all.

Contract of :class:`Supervisor`:

- :meth:`~Supervisor.start` starts every child in its own session, so a Ctrl-C typed at the
  terminal reaches ``gnomon up`` only, which then stops the children itself (a child signalled
  twice might take the second signal as "stop at once"). Each child's stdout and stderr are
  merged and copied line by line as ``name | line`` (names padded to one width), each line
  flushed as it comes. With ``log_format="json"`` every line is one JSON object instead: a
  child's JSON log line gets ``"process": name``; any other line (a banner, a print) becomes
  ``{"time", "level": "INFO", "logger": "gnomon.up", "process", "message"}``, so the whole
  output stays JSON lines (:mod:`gnomon.logs`). A child that cannot be started stops the
  ones already started and raises :class:`~gnomon.errors.ConfigError`.
- :meth:`~Supervisor.wait` returns when a stop is requested or when a child exits.
  :meth:`~Supervisor.request_stop` is safe to call from a signal handler (it only writes a
  byte to a pipe; no lock is taken).
- :meth:`~Supervisor.stop` sends SIGTERM to every child still running, waits up to ``grace``
  seconds for all of them, then kills (SIGKILL) the whole process group of each one left,
  so nothing it started outlives it. A second :meth:`request_stop` during the wait kills at
  once (a person pressing Ctrl-C again).

Policy for a child that exits on its own: it is reported with its exit code and the others
are stopped. A development box should show a failure where it happened, not hide it behind
restarts (a crash loop would scroll the cause away); production restarts are the job of
systemd or the container runtime, one process each (``deploy/``).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import IO

from gnomon.errors import ConfigError
from gnomon.redaction import redact_text

SELF = "up"
"""The name of the supervisor's own lines."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ChildSpec:
    """One child: the name its lines are prefixed with, and its command line."""

    name: str
    argv: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Ending:
    """Why :meth:`Supervisor.wait` returned: a requested stop, or ``child`` exited with
    ``code`` (negative: killed by that signal)."""

    requested: bool
    child: str | None = None
    code: int | None = None


class Supervisor:
    """Runs a set of child processes as one (see the module docstring)."""

    def __init__(
        self,
        children: Sequence[ChildSpec],
        *,
        env: Mapping[str, str] | None = None,
        out: IO[str] | None = None,
        grace: float = 40.0,
        log_format: str = "text",
    ) -> None:
        if not children:
            raise ConfigError("nothing to run: every component was turned off")
        self.children = tuple(children)
        self.env = None if env is None else dict(env)
        self.out = out or sys.stdout
        self.grace = grace
        self.log_format = log_format
        self.width = max(len(SELF), *(len(c.name) for c in self.children))
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self._stops = 0
        self._wake_r, self._wake_w = os.pipe()
        self._write_lock = threading.Lock()
        self._pumps: list[threading.Thread] = []

    # -- starting and logging -------------------------------------------------------------

    def start(self) -> None:
        for child in self.children:
            try:
                proc = subprocess.Popen(  # noqa: S603 - gnomon's own children (argv)
                    child.argv,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    env=self.env,
                    start_new_session=True,
                )
            except OSError as exc:
                self.stop()
                raise ConfigError(
                    f"cannot start {child.name} ({child.argv[0]}): {exc.strerror or exc}"
                ) from None
            self.procs[child.name] = proc
            pump = threading.Thread(
                target=self._pump,
                args=(child.name, proc),
                name=f"gnomon-log-{child.name}",
                daemon=True,
            )
            watch = threading.Thread(
                target=self._watch, args=(proc,), name=f"gnomon-wait-{child.name}", daemon=True
            )
            pump.start()
            watch.start()
            self._pumps.append(pump)
            self.say(f"started {child.name} (pid {proc.pid}): {' '.join(child.argv)}", SELF)

    def say(self, text: str, name: str) -> None:
        """Write one line as ``name | text`` (or as JSON, see the module's doc) and flush it."""
        line = as_json_line(text, name) if self.log_format == "json" else None
        with self._write_lock:
            self.out.write(f"{line}\n" if line else f"{name:<{self.width}} | {text}\n")
            self.out.flush()

    def _pump(self, name: str, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        with proc.stdout:
            for raw in iter(proc.stdout.readline, b""):
                self.say(raw.decode("utf-8", "replace").rstrip("\r\n"), name)

    def _watch(self, proc: subprocess.Popen[bytes]) -> None:
        proc.wait()
        self._wake()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):  # closed: the supervisor is done
            os.write(self._wake_w, b".")

    # -- waiting and stopping -------------------------------------------------------------

    def request_stop(self) -> None:
        """Ask for a stop (a second request: kill at once). Signal-safe."""
        self._stops += 1
        self._wake()

    def exited(self) -> dict[str, int]:
        """Exit codes of the children that have ended, by name."""
        return {n: p.returncode for n, p in self.procs.items() if p.poll() is not None}

    def wait(self) -> Ending:
        """Block until a stop is requested or a child exits."""
        while True:
            if self._stops:
                return Ending(requested=True)
            ended = self.exited()
            if ended:
                name, code = next(iter(ended.items()))
                return Ending(requested=False, child=name, code=code)
            os.read(self._wake_r, 512)  # a signal or an exit writes here

    def stop(self) -> dict[str, int]:
        """Stop every child (SIGTERM, then SIGKILL after ``grace``); their exit codes."""
        running = [p for p in self.procs.values() if p.poll() is None]
        for proc in running:
            _signal(proc, signal.SIGTERM)
        deadline = time.monotonic() + self.grace
        while any(p.poll() is None for p in running):
            left = deadline - time.monotonic()
            if left <= 0 or self._stops >= 2:
                break
            ready, _, _ = select.select([self._wake_r], [], [], left)
            if ready:
                os.read(self._wake_r, 512)
        for name, proc in self.procs.items():
            if proc.poll() is None:
                self.say(f"{name} did not stop within {self.grace:g} s: killed", SELF)
                _signal(proc, signal.SIGKILL, group=True)
                proc.wait()
        for pump in self._pumps:
            pump.join(timeout=2.0)  # the last lines; a grandchild holding the pipe: not forever
        return self.exited()

    def close(self) -> None:
        for fd in (self._wake_r, self._wake_w):
            os.close(fd)


def as_json_line(text: str, name: str) -> str:
    """``text`` from process ``name`` as one JSON log line with ``"process": name``."""
    try:
        found = json.loads(text)
    except ValueError:
        found = None
    if not isinstance(found, dict) or "message" not in found:
        now = time.time()
        whole = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now))
        found = {
            "time": f"{whole}.{int(now % 1 * 1000):03d}Z",
            "level": "INFO",
            "logger": "gnomon.up",
            "message": redact_text(text),
        }
    return json.dumps({**found, "process": name}, ensure_ascii=False)


def _signal(proc: subprocess.Popen[bytes], signum: int, *, group: bool = False) -> None:
    """Signal ``proc`` (or its process group: it leads one, see ``start_new_session``)."""
    try:
        if group:
            os.killpg(proc.pid, signum)  # not yet reaped: its pid is still its group's id
        else:
            proc.send_signal(signum)
    except ProcessLookupError:  # gone meanwhile
        pass


def run_until_stopped(supervisor: Supervisor) -> int:
    """Start the children and run them until SIGINT/SIGTERM or until one exits, then stop
    them all. The exit code: 0 when a requested stop ended every child cleanly (0, or the
    SIGTERM it was sent), else 1."""
    handlers = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        handlers[signum] = signal.signal(signum, lambda n, f: supervisor.request_stop())
    try:
        supervisor.start()
        ending = supervisor.wait()
        if ending.requested:
            supervisor.say("stopping every process (Ctrl-C again to kill them)", SELF)
        else:
            supervisor.say(
                f"{ending.child} exited with code {ending.code}: stopping the others", SELF
            )
        codes = supervisor.stop()
        supervisor.say("stopped: " + ", ".join(f"{n} {c}" for n, c in codes.items()), SELF)
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
        supervisor.close()
    # -SIGTERM: a child that re-raises the signal after its clean stop, as uvicorn does.
    clean = all(code in (0, -signal.SIGTERM) for code in codes.values())
    return 0 if ending.requested and clean else 1
