"""``shell`` action: run a command given as an argv list — never a shell string.

The command gets the scheduler's environment, the configured ``env``, and the run's identity
(``GNOMON_JOB_ID``, ``GNOMON_RUN_ID``, ``GNOMON_SCHEDULED_FOR``, ``GNOMON_ATTEMPT``). It runs
in its own process group, which is killed as a whole on timeout or cancellation. Output goes
to temporary files, so a chatty command cannot fill memory; the first
:data:`~gnomon.actions.base.OUTPUT_CAP` characters are kept.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Mapping
from typing import IO, Any, ClassVar

from gnomon.actions.base import OUTPUT_CAP, RunContext
from gnomon.errors import InvalidAction
from gnomon.models import Outcome, RunStatus

_POLL = 0.25  # how often a running command checks for cancellation, seconds


STDERR_SHARE = OUTPUT_CAP // 4
"""stderr keeps up to this much (it is usually where the error is); stdout gets the rest."""


def missing_program(argv: list[str], cwd: str | None = None) -> str | None:
    """Why ``argv[0]`` would not start on this machine (not found, or not executable), or
    None. A warning for the person adding the job, not a refusal: the job may run on another
    machine (a Celery worker) where the program is installed."""
    program = argv[0] if argv else ""
    if os.sep in program or (os.altsep and os.altsep in program):
        path = program if os.path.isabs(program) or cwd is None else os.path.join(cwd, program)
        if not os.path.exists(path):
            return f"{program!r} does not exist on this machine"
        if not os.path.isfile(path) or not os.access(path, os.X_OK):
            return f"{program!r} is not an executable file on this machine"
        return None
    if shutil.which(program) is None:
        return f"{program!r} is not a program on this machine's PATH"
    return None


def _read_capped(stream: IO[bytes], limit: int) -> str:
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    text = stream.read(limit).decode("utf-8", errors="replace")
    if size > limit:
        text += f"\n… [{size - limit} more bytes cut]"
    return text


def _combined_output(out: IO[bytes], err: IO[bytes]) -> str:
    """stdout and stderr within OUTPUT_CAP together, so nothing later cuts stderr away."""
    stderr = _read_capped(err, STDERR_SHARE)
    marker = "\n--- stderr ---\n" if stderr else ""
    room = OUTPUT_CAP - len(stderr) - len(marker) - 64  # 64: the stdout cut note
    return _read_capped(out, room) + marker + stderr


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


class ShellAction:
    kind: ClassVar[str] = "shell"
    secret_fields: ClassVar[frozenset[str]] = frozenset()

    def runs_local_code(self, config: Mapping[str, Any]) -> bool:
        """Always: it starts a command on this host."""
        return True

    def validate(self, config: Mapping[str, Any]) -> dict[str, Any]:
        unknown = set(config) - {"argv", "cwd", "env", "timeout"}
        if unknown:
            raise InvalidAction(f"shell action: unknown field(s) {', '.join(sorted(unknown))}")
        argv = config.get("argv")
        if isinstance(argv, str):
            raise InvalidAction(
                "shell action: argv must be a list of strings, not one shell string "
                "(e.g. ['/usr/local/bin/backup.sh', '--fast'])"
            )
        if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
            raise InvalidAction("shell action: argv must be a non-empty list of strings")
        cwd = config.get("cwd")
        if cwd is not None and not isinstance(cwd, str):
            raise InvalidAction("shell action: cwd must be a string")
        env = config.get("env", {})
        if not isinstance(env, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in env.items()
        ):
            raise InvalidAction("shell action: env must be an object of string values")
        timeout = config.get("timeout")
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0
        ):
            raise InvalidAction(f"shell action: timeout {timeout!r} must be a positive number")
        out: dict[str, Any] = {"argv": list(argv), "env": dict(env)}
        if cwd is not None:
            out["cwd"] = cwd
        if timeout is not None:
            out["timeout"] = float(timeout)
        return out

    def execute(self, config: Mapping[str, Any], ctx: RunContext) -> Outcome:
        limits = [t for t in (config.get("timeout"), ctx.timeout) if t is not None]
        timeout = min(limits) if limits else None
        env = {**os.environ, **config.get("env", {}), **ctx.environment()}
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            try:
                proc = subprocess.Popen(  # noqa: S603 - the shell action exists to run the job's command (argv, no shell)
                    config["argv"],
                    cwd=config.get("cwd"),
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    start_new_session=True,
                )
            except OSError as exc:
                return Outcome.failure(f"cannot start {config['argv'][0]!r}: {exc.strerror}")
            waited = 0.0
            status: RunStatus | None = None
            while True:
                step = _POLL if timeout is None else max(0.0, min(_POLL, timeout - waited))
                try:
                    proc.wait(timeout=step)
                    break
                except subprocess.TimeoutExpired:
                    waited += step
                if ctx.cancelled.is_set():
                    status = RunStatus.CANCELLED
                elif timeout is not None and waited >= timeout:
                    status = RunStatus.TIMED_OUT
                if status is not None:
                    _kill_group(proc)
                    break
            output = _combined_output(out, err)
        code = proc.returncode
        if status is RunStatus.TIMED_OUT:
            return Outcome(
                status=status,
                result={"exit_code": code},
                error=f"timed out after {timeout:g} s; process group killed",
                output=output,
            )
        if status is RunStatus.CANCELLED:
            return Outcome(status=status, error="cancelled; process group killed", output=output)
        if code != 0:
            return Outcome.failure(f"exit code {code}", result={"exit_code": code}, output=output)
        return Outcome.success({"exit_code": 0}, output)
