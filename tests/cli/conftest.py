"""The command line run in-process on a SQLite file, with a FakeClock injected where the
commands open their scheduler (``state.clock``): times are exact and nothing sleeps."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gnomon import FakeClock, Scheduler
from gnomon.cli import main
from gnomon.cli.state import state
from gnomon.views import job_view

T0 = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # a Monday


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    @property
    def error(self) -> str:
        """The one error line (asserting it is one line, without a traceback)."""
        lines = self.err.strip().splitlines()
        assert len(lines) == 1, self.err
        assert lines[0].startswith("error: "), self.err
        return lines[0]


Gnomon = Callable[..., Result]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "cli.db")


@pytest.fixture
def gnomon(
    db: str, clock: FakeClock, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Gnomon:
    """``gnomon(*args)``: run ``gnomon --db DB *args``; its exit code, stdout and stderr."""
    monkeypatch.setattr(state, "clock", clock)
    for name in ("GNOMON_LATITUDE", "GNOMON_LONGITUDE", "GNOMON_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)

    def run(*args: str, url: str | None = None) -> Result:
        with pytest.raises(SystemExit) as exit_info:
            main(["--db", url or db, *args])
        out, err = capsys.readouterr()
        return Result(int(exit_info.value.code or 0), out, err)

    return run


@pytest.fixture
def stored(db: str, clock: FakeClock) -> Callable[[str], dict[str, Any]]:
    """``stored(job_id)``: the job as the API and ``--json`` show it."""

    def read(job_id: str) -> dict[str, Any]:
        with Scheduler(db, clock=clock) as scheduler:
            return job_view(scheduler.get(job_id))

    return read
