"""The outcome journal: written as a run ends, replayed by the next holder of the identity."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gnomon import FakeClock, RunStatus, Scheduler, python
from gnomon.dispatch import LocalDispatcher
from gnomon.dispatch import journal as journal_module
from gnomon.dispatch.journal import OutcomeJournal
from gnomon.store import FinishedRun
from gnomon.triggers import AtTrigger
from tests.engine import blocking
from tests.engine.conftest import T0

WHEN = datetime(2026, 1, 1, tzinfo=UTC)


def outcome(run_id: int, worker: str = "w:1:a", **extra: object) -> FinishedRun:
    return FinishedRun(
        run_id=run_id, worker=worker, status=RunStatus.SUCCEEDED, finished_at=WHEN, **extra
    )  # type: ignore[arg-type]


def test_outcomes_written_are_replayed_whole_and_a_torn_line_is_skipped(tmp_path: Path) -> None:
    journal = OutcomeJournal(tmp_path, "r1")
    journal.start()
    journal.append(outcome(1, result={"n": 1}, output="ok", job_id="j"))
    journal.append(outcome(2, retry_due=WHEN + timedelta(seconds=5), error="boom"))
    with journal.path.open("a") as file:
        file.write('{"run_id": 3, "worker"')  # the crash tore the last line
    again = OutcomeJournal(tmp_path, "r1").replay()
    assert [(o.run_id, o.result, o.output, o.job_id) for o in again] == [
        (1, {"n": 1}, "ok", "j"),
        (2, None, "", None),
    ]
    assert again[1].retry_due == WHEN + timedelta(seconds=5)
    assert again[1].error == "boom"


def test_segments_rotate_once_the_old_one_is_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal_module, "ROTATE_BYTES", 100)  # a tiny segment for the test
    journal = OutcomeJournal(tmp_path, "r1")
    journal.start()
    first = [outcome(i) for i in range(5)]
    for item in first:
        journal.append(item)
    journal.recorded(first[:2])  # rotates: nothing older is unrecorded
    assert journal.old_path.exists()
    later = [outcome(i) for i in range(5, 10)]
    for item in later:
        journal.append(item)
    journal.recorded(later)  # the old segment still has 3 unrecorded: no rotation
    assert {o.run_id for o in OutcomeJournal(tmp_path, "r1").replay()} >= {2, 3, 4}
    journal.recorded(first[2:])
    journal.close(clean=True)
    assert not journal.path.exists()
    assert not journal.old_path.exists()


def test_lines_across_windows_long_lines_and_the_written_line_fallback_replay_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal_module, "WINDOW", 8192)  # a window moves every ~40 lines
    journal = OutcomeJournal(tmp_path, "r1")
    journal.start()
    items = [outcome(i, job_id=f"job-{i}") for i in range(300)]
    items[100] = outcome(100, output="x" * 9000)  # longer than a window: pwrite
    for item in items[:200]:
        journal.append(item)

    def no_room(fd: int, offset: int, length: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "posix_fallocate", no_room)  # the map cannot move: pwrite
    for item in items[200:]:
        journal.append(item)
    again = OutcomeJournal(tmp_path, "r1").replay()
    assert [(o.run_id, o.job_id, len(o.output)) for o in again] == [
        (i.run_id, i.job_id, len(i.output)) for i in items
    ]
    journal.close(clean=False)
    assert journal.path.stat().st_size == sum(len(journal_module._line(i)) for i in items)


KILLED_WRITER = """
import os, signal, sys
from datetime import UTC, datetime
from pathlib import Path
from gnomon.dispatch.journal import OutcomeJournal
from gnomon.models import RunStatus
from gnomon.store import FinishedRun
journal = OutcomeJournal(Path(sys.argv[1]), "r1")
journal.start()
for i in range(int(sys.argv[2])):
    journal.append(FinishedRun(run_id=i, worker="w:1:a", status=RunStatus.SUCCEEDED,
                               finished_at=datetime(2026, 1, 1, tzinfo=UTC), job_id="j"))
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_every_appended_outcome_survives_a_kill_of_the_writer(tmp_path: Path) -> None:
    count = 5_000  # several windows
    done = subprocess.run(
        [sys.executable, "-c", KILLED_WRITER, str(tmp_path), str(count)],
        check=False,
        capture_output=True,
        text=True,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    again = OutcomeJournal(tmp_path, "r1").replay()
    assert [o.run_id for o in again] == list(range(count))


def test_a_restarted_scheduler_records_what_its_dead_predecessor_journaled(
    make_scheduler: Callable[..., Scheduler], clock: FakeClock
) -> None:
    first = make_scheduler(identity="alpha", stop_timeout=0.1)  # its recorder will be gone
    first.add(
        AtTrigger(T0 + timedelta(seconds=1)), python("tests.engine.blocking:record"), id="job"
    )
    pool = first.dispatcher
    assert isinstance(pool, LocalDispatcher)
    journal = pool.journal
    assert journal is not None
    pool.recorder._results.put(None)  # the recorder stops: the outcome only reaches the journal
    pool.recorder._thread.join(10)
    clock.set(T0 + timedelta(seconds=1))
    first.tick(clock.now())
    gate = blocking.gate("job")
    assert gate.wait_entered(1)
    while not journal._where:  # the worker writes the outcome to the journal as it returns
        gate.wait_entered(2, timeout=0.01)
    # The process dies: its memory is gone, its identity lock with it.
    pool.drain()
    first.tenure.end()
    [held] = make_scheduler().runs("job")
    assert held.status is RunStatus.RUNNING

    second = make_scheduler(identity="alpha")
    second.tick(clock.now())
    [run] = second.runs("job")
    assert run.status is RunStatus.SUCCEEDED  # recorded from the journal: never run again
    assert len(gate.entered) == 1
