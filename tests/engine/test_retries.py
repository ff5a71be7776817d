"""Retries with backoff, timeouts, and what actions receive and report.

A real ``Scheduler`` on SQLite with a FakeClock. The only real waiting is a shell or python
action's own timeout (half a second), which is what is under test.
"""

from __future__ import annotations

import importlib
import itertools
import sys
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import psutil
import pytest

from gnomon import FakeClock, RunReason, RunStatus, Scheduler, python, shell
from gnomon.actions.base import OUTPUT_CAP
from gnomon.models import Run
from gnomon.triggers import IntervalTrigger
from tests.engine import blocking
from tests.engine.conftest import T0

EVERY_HOUR = timedelta(hours=1)


def run_due(scheduler: Scheduler, clock: FakeClock, seconds: float = 0) -> None:
    """Move time on, tick, and wait until every run started has been recorded."""
    clock.advance(seconds)
    report = scheduler.tick(clock.now())
    assert scheduler.wait_idle(timeout=20)
    while report.more:
        report = scheduler.tick(clock.now())
        assert scheduler.wait_idle(timeout=20)


def history(scheduler: Scheduler, job_id: str) -> list[Run]:
    return list(reversed(scheduler.runs(job_id, limit=1000)))


def only_run(scheduler: Scheduler, job_id: str) -> Run:
    [run] = scheduler.runs(job_id)
    return run


# -- retries -------------------------------------------------------------------------------


def test_a_failing_action_runs_max_attempts_times_with_growing_delays(
    scheduler: Scheduler, clock: FakeClock
) -> None:
    scheduler.add(
        EVERY_HOUR,
        python("tests.engine.blocking:fail"),
        id="flaky",
        max_attempts=4,
        backoff=10,
        max_backoff=1000,
    )
    run_due(scheduler, clock, 3600)
    while pending := scheduler.runs("flaky", status=RunStatus.PENDING):
        [retry] = pending
        run_due(scheduler, clock, (retry.due_at - clock.now()).total_seconds())
    runs = history(scheduler, "flaky")
    assert [r.attempt for r in runs] == [1, 2, 3, 4]
    assert [r.reason for r in runs] == [RunReason.SCHEDULE] + [RunReason.RETRY] * 3
    assert [r.status for r in runs] == [RunStatus.FAILED] * 4
    assert {r.scheduled_for for r in runs} == {T0 + EVERY_HOUR}  # one fire, four attempts
    assert [r.error for r in runs] == [f"RuntimeError: boom on attempt {n}" for n in (1, 2, 3, 4)]
    delays = []
    for previous, retry in itertools.pairwise(runs):
        assert previous.finished_at is not None
        delays.append((retry.due_at - previous.finished_at).total_seconds())
    for delay, base in zip(delays, (10, 20, 40), strict=True):
        assert base <= delay <= base * 1.1  # backoff * 2**(n-1), plus up to 10 % jitter
    assert delays == sorted(delays)
    assert [c.attempt for c in blocking.gate("flaky").entered] == [1, 2, 3, 4]
    kinds = [e.kind for e in scheduler.events(job_id="flaky", limit=100)]
    assert (kinds.count("run.failed"), kinds.count("run.retrying")) == (4, 3)


def test_code_that_no_longer_imports_fails_at_once_and_is_not_retried(
    scheduler: Scheduler, clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"gnomon_gone_{tmp_path.name.replace('-', '_')}"
    module = tmp_path / f"{name}.py"
    module.write_text("def work():\n    return 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    scheduler.add(EVERY_HOUR, python(f"{name}:work"), id="gone", max_attempts=3, backoff=10)
    module.unlink()  # the code is gone before the run: it cannot import any more
    sys.modules.pop(name, None)
    importlib.invalidate_caches()
    run_due(scheduler, clock, 3600)
    run = only_run(scheduler, "gone")
    assert run.status is RunStatus.FAILED
    assert f"cannot import {name!r}" in (run.error or "")
    assert "not retried" in (run.error or "")
    assert scheduler.runs("gone", status=RunStatus.PENDING) == []  # no retry is planned


def test_retry_delays_stop_growing_at_max_backoff(scheduler: Scheduler, clock: FakeClock) -> None:
    scheduler.add(
        EVERY_HOUR,
        python("tests.engine.blocking:fail"),
        id="flaky",
        max_attempts=5,
        backoff=10,
        max_backoff=25,
    )
    run_due(scheduler, clock, 3600)
    while pending := scheduler.runs("flaky", status=RunStatus.PENDING):
        run_due(scheduler, clock, (pending[0].due_at - clock.now()).total_seconds())
    runs = history(scheduler, "flaky")
    delays = [
        (retry.due_at - previous.finished_at).total_seconds()
        for previous, retry in itertools.pairwise(runs)
        if previous.finished_at is not None
    ]
    assert len(delays) == 4
    assert 10 <= delays[0] <= 11
    assert 20 <= delays[1] <= 22
    assert delays[2:] == [25, 25]


def test_a_success_after_a_failure_ends_the_retries(
    scheduler: Scheduler, clock: FakeClock, tmp_path: Path
) -> None:
    marker = tmp_path / "failed-once"
    script = f'if [ -e "{marker}" ]; then exit 0; fi; touch "{marker}"; exit 3'
    scheduler.add(EVERY_HOUR, shell(["sh", "-c", script]), id="job", max_attempts=5, backoff=1)
    run_due(scheduler, clock, 3600)
    run_due(scheduler, clock, 2)
    run_due(scheduler, clock, 3600 - 2)  # the next fire
    runs = history(scheduler, "job")
    assert [(r.attempt, r.status) for r in runs] == [
        (1, RunStatus.FAILED),
        (2, RunStatus.SUCCEEDED),
        (1, RunStatus.SUCCEEDED),
    ]
    assert (runs[0].error, runs[0].result) == ("exit code 3", {"exit_code": 3})


# -- timeouts ------------------------------------------------------------------------------


def test_a_timeout_kills_a_hanging_command_and_its_process_group(
    scheduler: Scheduler, clock: FakeClock, tmp_path: Path
) -> None:
    pids = tmp_path / "pids"
    script = f'sleep 30 & echo $$ $! > "{pids}"; sleep 30'
    scheduler.add(EVERY_HOUR, shell(["sh", "-c", script]), id="hang", timeout=0.5)
    run_due(scheduler, clock, 3600)
    run = only_run(scheduler, "hang")
    assert run.status is RunStatus.TIMED_OUT
    assert run.error == "timed out after 0.5 s; process group killed"
    survivors = []
    for pid in map(int, pids.read_text().split()):
        try:
            process = psutil.Process(pid)
        except psutil.NoSuchProcess:
            continue
        _, alive = psutil.wait_procs([process], timeout=5)  # an orphan is reaped by init
        survivors += [p for p in alive if p.status() != psutil.STATUS_ZOMBIE]
    assert survivors == []


def test_a_timed_out_command_is_retried(scheduler: Scheduler, clock: FakeClock) -> None:
    scheduler.add(
        EVERY_HOUR, shell(["sleep", "30"]), id="hang", timeout=0.5, max_attempts=2, backoff=5
    )
    run_due(scheduler, clock, 3600)
    run_due(scheduler, clock, 6)
    assert [(r.attempt, r.status) for r in history(scheduler, "hang")] == [
        (1, RunStatus.TIMED_OUT),
        (2, RunStatus.TIMED_OUT),
    ]


def test_a_shell_action_timeout_in_its_config_applies_too(
    scheduler: Scheduler, clock: FakeClock
) -> None:
    scheduler.add(EVERY_HOUR, shell(["sleep", "30"], timeout=0.5), id="hang")
    run_due(scheduler, clock, 3600)
    assert only_run(scheduler, "hang").status is RunStatus.TIMED_OUT


def test_a_python_timeout_records_timed_out(scheduler: Scheduler, clock: FakeClock) -> None:
    scheduler.add(EVERY_HOUR, python("tests.engine.blocking:wait"), id="stuck", timeout=0.5)
    run_due(scheduler, clock, 3600)
    run = only_run(scheduler, "stuck")
    assert (run.status, run.error) == (RunStatus.TIMED_OUT, "timed out after 0.5 s")


# -- python actions ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "args", "result"),
    [
        pytest.param("tests.engine.blocking:plain", [41], 42, id="sync"),
        pytest.param("tests.engine.blocking:record_async", [21], 42, id="async"),
        pytest.param(
            "tests.engine.blocking:record", ["a", 1], {"args": ["a", 1], "kwargs": {}}, id="ctx"
        ),
    ],
)
def test_python_functions_sync_and_async(
    scheduler: Scheduler, clock: FakeClock, ref: str, args: list[object], result: object
) -> None:
    scheduler.add(EVERY_HOUR, python(ref, *args), id="job")
    run_due(scheduler, clock, 3600)
    run = only_run(scheduler, "job")
    assert (run.status, run.result) == (RunStatus.SUCCEEDED, result)


def test_a_function_with_ctx_gets_the_runs_identity(scheduler: Scheduler, clock: FakeClock) -> None:
    scheduler.add(EVERY_HOUR, python("tests.engine.blocking:record", x=1), id="job")
    run_due(scheduler, clock, 3600)
    [ctx] = blocking.gate("job").entered
    run = only_run(scheduler, "job")
    assert (ctx.job_id, ctx.run_id, ctx.attempt) == ("job", run.id, 1)
    assert ctx.scheduled_for == T0 + EVERY_HOUR
    assert run.result == {"args": [], "kwargs": {"x": 1}}


def test_an_exception_is_a_failed_outcome_and_the_scheduler_goes_on(
    scheduler: Scheduler, clock: FakeClock
) -> None:
    scheduler.add(EVERY_HOUR, python("tests.engine.blocking:fail"), id="bad")
    scheduler.add(EVERY_HOUR, python("tests.engine.blocking:plain", 1), id="good")
    run_due(scheduler, clock, 3600)
    bad = only_run(scheduler, "bad")
    assert (bad.status, bad.error) == (RunStatus.FAILED, "RuntimeError: boom on attempt 1")
    assert only_run(scheduler, "good").status is RunStatus.SUCCEEDED
    run_due(scheduler, clock, 3600)
    assert [r.status for r in scheduler.runs("good")] == [RunStatus.SUCCEEDED] * 2


# -- shell actions -------------------------------------------------------------------------


def test_shell_gets_the_runs_identity_in_its_environment(
    scheduler: Scheduler, clock: FakeClock
) -> None:
    line = 'echo "$GNOMON_JOB_ID|$GNOMON_RUN_ID|$GNOMON_SCHEDULED_FOR|$GNOMON_ATTEMPT"; exit 1'
    scheduler.add(
        EVERY_HOUR, shell(["sh", "-c", line]), id="env", max_attempts=2, backoff=1, max_backoff=1
    )
    run_due(scheduler, clock, 3600)
    run_due(scheduler, clock, 1)
    first, second = history(scheduler, "env")
    assert first.output.strip() == f"env|{first.id}|2026-01-01T01:00:00Z|1"
    assert second.output.strip() == f"env|{second.id}|2026-01-01T01:00:00Z|2"


def test_shell_config_env_and_cwd_apply(
    scheduler: Scheduler, clock: FakeClock, tmp_path: Path
) -> None:
    action = shell(
        ["sh", "-c", 'echo "$GREETING from $(pwd)"'], cwd=str(tmp_path), env={"GREETING": "hello"}
    )
    scheduler.add(EVERY_HOUR, action, id="job")
    run_due(scheduler, clock, 3600)
    run = only_run(scheduler, "job")
    assert (run.status, run.output.strip()) == (RunStatus.SUCCEEDED, f"hello from {tmp_path}")
    assert run.result == {"exit_code": 0}


def test_shell_output_is_captured_and_capped(scheduler: Scheduler, clock: FakeClock) -> None:
    chatty = f"import sys; sys.stdout.write('x' * {OUTPUT_CAP * 3})"
    scheduler.add(EVERY_HOUR, shell([sys.executable, "-c", chatty]), id="chatty")
    run_due(scheduler, clock, 3600)
    run = only_run(scheduler, "chatty")
    assert run.status is RunStatus.SUCCEEDED
    assert run.output.startswith("x" * (OUTPUT_CAP - 100))  # all but room for the note
    assert run.output.endswith("more bytes cut]")
    assert len(run.output) <= OUTPUT_CAP  # within the cap: the runner cuts nothing more


def test_shell_output_keeps_stdout_and_stderr(scheduler: Scheduler, clock: FakeClock) -> None:
    script = "import sys; print('out'); print('err', file=sys.stderr); sys.exit(2)"
    scheduler.add(EVERY_HOUR, shell([sys.executable, "-c", script]), id="job")
    run_due(scheduler, clock, 3600)
    run = only_run(scheduler, "job")
    assert (run.status, run.error) == (RunStatus.FAILED, "exit code 2")
    assert run.output == "out\n\n--- stderr ---\nerr\n"


def test_stderr_survives_a_chatty_stdout(scheduler: Scheduler, clock: FakeClock) -> None:
    chatty = f"import sys; sys.stdout.write('x' * {OUTPUT_CAP * 3}); sys.stderr.write('oops')"
    scheduler.add(EVERY_HOUR, shell([sys.executable, "-c", chatty]), id="chatty")
    run_due(scheduler, clock, 3600)
    run = only_run(scheduler, "chatty")
    assert run.output.endswith("--- stderr ---\noops")
    assert "more bytes cut" in run.output


def test_a_command_that_cannot_start_fails_clearly(
    scheduler: Scheduler, clock: FakeClock, tmp_path: Path
) -> None:
    scheduler.add(EVERY_HOUR, shell([str(tmp_path / "missing.sh")]), id="job")
    run_due(scheduler, clock, 3600)
    run = only_run(scheduler, "job")
    assert run.status is RunStatus.FAILED
    assert run.error is not None
    assert run.error.startswith("cannot start")
    assert "\n" not in run.error


def test_an_outcome_that_cannot_be_recorded_does_not_stop_the_scheduler(
    scheduler: Scheduler, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not the database being away (that is retried) but bad data or a bug: the recorder
    must live on, or no later outcome is recorded and ``wait_idle`` never returns."""
    scheduler.add(EVERY_HOUR, python("tests.engine.blocking:plain", 1), id="job")
    finish_runs = scheduler.store.finish_runs
    calls = []

    def broken_once(batch: list[object]) -> list[bool]:
        calls.append(batch)
        if len(calls) == 1:
            raise ValueError("cannot encode this outcome")
        return finish_runs(batch)  # type: ignore[arg-type]

    monkeypatch.setattr(scheduler.store, "finish_runs", broken_once)
    clock.advance(3600)
    scheduler.tick(clock.now())
    assert scheduler.wait_idle(timeout=10)
    assert [r.status for r in scheduler.runs("job")] == [RunStatus.RUNNING]
    run_due(scheduler, clock, 3600)  # its lease expired: taken back and run again
    assert [r.status for r in scheduler.runs("job")] == [RunStatus.SUCCEEDED] * 2


@pytest.mark.parametrize("status", ["pending", "running"])
def test_an_action_reporting_an_unfinished_status_fails_once(
    scheduler: Scheduler, clock: FakeClock, status: str
) -> None:
    """A run recorded 'pending' would be claimed and executed again at every tick."""
    scheduler.add(EVERY_HOUR, python("tests.engine.blocking:report", status), id="job")
    run_due(scheduler, clock, 3600)
    run_due(scheduler, clock, 1)
    run = only_run(scheduler, "job")
    assert run.status is RunStatus.FAILED
    assert run.error is not None
    assert f"'{status}'" in run.error
    assert len(blocking.gate("job").entered) == 1


# -- leases --------------------------------------------------------------------------------


def test_a_run_longer_than_its_lease_is_kept_by_heartbeats_and_taken_back_when_they_stop(
    make_scheduler: Callable[..., Scheduler], clock: FakeClock
) -> None:
    """RELIABILITY #6/#7 with two replicas on one database: heartbeats keep a long run with
    its worker; when they stop, another replica takes the run back (same run id) and runs
    it, and the stalled worker is told to stop — the run is recorded once, by the new
    holder."""
    a: Scheduler = make_scheduler(worker_id="A")
    b: Scheduler = make_scheduler(worker_id="B")
    a.add(EVERY_HOUR, python("tests.engine.blocking:wait"), id="long")
    gate = blocking.gate("long")
    clock.advance(3600)
    a.tick(clock.now())
    assert gate.wait_entered(1)
    for _ in range(10):  # 100 s, more than three leases
        clock.advance(10)
        a.tick(clock.now())
        b.tick(clock.now())
    [run] = a.runs("long")
    assert (run.status, run.worker, len(gate.entered)) == (RunStatus.RUNNING, "A", 1)
    clock.advance(31)  # A stalls (no tick, no heartbeat) past its lease
    report = b.tick(clock.now())
    # B's first step saw the lapsed lease; the run was taken back and claimed in one tick.
    assert (report.lost, report.claimed) == (1, 1)
    assert gate.wait_entered(2)
    stalled, taken_over = gate.entered
    assert stalled.run_id == taken_over.run_id == run.id
    a.tick(clock.now())  # A wakes up: its heartbeat learns the run is no longer its own
    assert stalled.cancelled.is_set()
    assert a.wait_idle(timeout=10)
    gate.release_run(taken_over)
    assert b.wait_idle(timeout=10)
    [done] = a.runs("long")
    assert (done.id, done.status, done.worker) == (run.id, RunStatus.SUCCEEDED, "B")
    lost = [e for e in a.events(job_id="long", limit=100) if e.kind == "run.lost"]
    assert len(lost) == 1


class PassingClock(FakeClock):
    """``wait`` lets its timeout pass at once (the clock moves on), unless the event is set."""

    def wait(self, event: threading.Event, timeout: float) -> bool:
        if event.is_set():
            return True
        self.advance(timeout)
        return False


def test_an_idle_loop_looks_for_lost_runs_only_in_its_steps_when_it_ticks_every_second(
    make_scheduler: Callable[..., Scheduler], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between fires due every second, the loop sleeps until the next tick and then ticks:
    the tick's first step reads whether any lease lapsed, in its own transaction. The sleep
    must not scan for lost runs apart first (it did, about once a second, when idle); a
    lease that lapses is still taken back (the test above)."""
    clock = PassingClock(T0)
    scheduler: Scheduler = make_scheduler(clock=clock, recovery_interval=1.0)
    scheduler.add(
        IntervalTrigger(timedelta(seconds=1), T0 + timedelta(seconds=1)),
        python("tests.engine.blocking:record"),
    )
    scans: list[object] = []
    real = scheduler.store.recover_lost_runs
    monkeypatch.setattr(
        scheduler.store, "recover_lost_runs", lambda *a: scans.append(a) or real(*a)
    )
    steps = []
    real_step = scheduler.store.step

    def step(*args: object, **kwargs: object) -> object:
        steps.append(kwargs.get("leases"))
        return real_step(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(scheduler.store, "step", step)
    for _ in range(10):  # ten seconds of the loop: a tick, then its sleep
        scheduler.tick()
        assert scheduler.wait_idle(timeout=10)
        scheduler._sleep()
    assert clock.now() >= T0 + timedelta(seconds=9)
    assert scans == []
    assert sum(1 for leases in steps if leases) >= 5  # looked for them, in its steps


def test_the_loop_logs_an_unexpected_error_and_goes_on(
    make_scheduler: Callable[..., Scheduler],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A tick that fails for a reason other than an outage (a database error, a bug) must not
    end the scheduler's loop in silence while its process lives on: it is logged, with its
    traceback, and the loop ticks again after a delay."""
    clock = PassingClock(T0)
    scheduler: Scheduler = make_scheduler(clock=clock)
    scheduler.add(
        IntervalTrigger(timedelta(seconds=1), T0 + timedelta(seconds=1)),
        python("tests.engine.blocking:record"),
        id="job",
    )
    real_step = scheduler.store.step
    failures = iter([RuntimeError("a bug in a step"), RuntimeError("again")])

    def step(*args: object, **kwargs: object) -> object:
        error = next(failures, None)
        if error is not None:
            raise error
        result = real_step(*args, **kwargs)  # type: ignore[arg-type]
        if result[0].runs:
            scheduler._stop.set()  # the loop recorded a fire: enough
        return result

    monkeypatch.setattr(scheduler.store, "step", step)
    scheduler._stop.clear()
    loop = threading.Thread(target=scheduler._loop, daemon=True)
    loop.start()
    loop.join(10)
    assert not loop.is_alive()
    assert scheduler.wait_idle(timeout=10)
    assert scheduler.runs("job"), "the loop never ticked again"
    failed = [r for r in caplog.records if "scheduler tick failed" in r.getMessage()]
    assert len(failed) == 2
    assert all(r.exc_info is not None for r in failed)
    assert clock.monotonic() >= 1.5  # it waited (0.5 s, then 1 s) before each new tick


def test_a_configuration_error_still_ends_the_loop(
    make_scheduler: Callable[..., Scheduler], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scheduler that cannot run as configured stops and says why (e.g. its identity is
    held by another running scheduler): it is not retried for ever."""
    from gnomon.errors import ConfigError

    scheduler: Scheduler = make_scheduler(clock=PassingClock(T0))

    def refuse(*_a: object, **_k: object) -> object:
        raise ConfigError("identity 'alpha' is held by another running scheduler")

    monkeypatch.setattr(scheduler.store, "step", refuse)
    scheduler._stop.clear()
    with pytest.raises(ConfigError, match="held by another running scheduler"):
        scheduler._loop()
