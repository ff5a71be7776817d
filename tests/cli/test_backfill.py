"""``gnomon backfill ID --from T --to T [--dry-run]``: the API's backfill, from the shell."""

from __future__ import annotations

import json

import pytest

from gnomon import FakeClock, RunReason, Scheduler
from gnomon.limits import MAX_BACKFILL_FIRES
from gnomon.store.admin import list_audit
from tests.cli.conftest import Gnomon

FROM, TO = "2026-03-02T08:00:00Z", "2026-03-02T11:00:00Z"


@pytest.fixture
def job(gnomon: Gnomon, clock: FakeClock) -> str:
    """``hourly`` (on the hour, Berlin time), added at 07:00Z; the clock then at 12:30Z."""
    added = gnomon(
        "add", "0 * * * *", "--id", "hourly", "--python", "json:dumps", "--tz", "Europe/Berlin"
    )
    assert added.code == 0, added.err
    clock.advance(5.5 * 3600)
    return "hourly"


def backfilled(db: str, clock: FakeClock, job: str) -> list[str]:
    with Scheduler(db, clock=clock) as scheduler:
        runs = scheduler.runs(job)
    return sorted(
        r.scheduled_for.strftime("%H:%MZ") for r in runs if r.reason is RunReason.BACKFILL
    )


def test_backfill_records_the_fires_of_the_range_and_says_so(
    gnomon: Gnomon, db: str, clock: FakeClock, job: str
) -> None:
    done = gnomon("backfill", job, "--from", FROM, "--to", TO)
    assert done.code == 0, done.err
    assert "3 run(s) recorded" in done.out
    for fire in ("08:00:00Z", "09:00:00Z", "10:00:00Z"):
        assert f"2026-03-02 {fire}" in done.out
    assert backfilled(db, clock, job) == ["08:00Z", "09:00Z", "10:00Z"]
    again = gnomon("backfill", job, "--from", FROM, "--to", TO, "--json")
    assert again.code == 0, again.err
    assert json.loads(again.out) == {"job_id": job, "runs": [], "already_recorded": 3}
    assert backfilled(db, clock, job) == ["08:00Z", "09:00Z", "10:00Z"]


def test_a_time_without_offset_is_in_the_jobs_zone(
    gnomon: Gnomon, db: str, clock: FakeClock, job: str
) -> None:
    done = gnomon("backfill", job, "--from", "2026-03-02T10:00", "--to", "2026-03-02T12:00")
    assert done.code == 0, done.err
    assert backfilled(db, clock, job) == ["09:00Z", "10:00Z"]  # 10:00 and 11:00 in Berlin


def test_dry_run_lists_the_fires_and_records_nothing(
    gnomon: Gnomon, db: str, clock: FakeClock, job: str
) -> None:
    done = gnomon("backfill", job, "--from", FROM, "--to", TO, "--dry-run", "--json")
    assert done.code == 0, done.err
    assert json.loads(done.out) == {
        "job_id": job,
        "dry_run": True,
        "fires": ["2026-03-02 08:00:00Z", "2026-03-02 09:00:00Z", "2026-03-02 10:00:00Z"],
    }
    assert backfilled(db, clock, job) == []
    with Scheduler(db, clock=clock) as scheduler:
        assert [e.action for e in list_audit(scheduler.store)] == ["job.create"]


def test_backfill_is_audited(gnomon: Gnomon, db: str, clock: FakeClock, job: str) -> None:
    assert gnomon("backfill", job, "--from", FROM, "--to", TO).code == 0
    with Scheduler(db, clock=clock) as scheduler:
        entry = list_audit(scheduler.store)[0]
        run_ids = [r.id for r in scheduler.runs(job)]
    assert (entry.action, entry.target) == ("job.backfill", f"job:{job}")
    assert entry.diff is not None
    assert entry.diff["start"] == "2026-03-02T08:00:00+00:00"
    assert sorted(entry.diff["runs"]) == sorted(run_ids)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        pytest.param(
            ["--from", FROM, "--to", "2026-03-02T13:00Z"],
            "--to: a backfill range must end in the past",
            id="future",
        ),
        pytest.param(["--from", TO, "--to", FROM], "--from: must be before end", id="reversed"),
        pytest.param(
            ["--from", FROM, "--to", TO, "--max-fires", "2"],
            "--max-fires: the range holds more than 2",
            id="too-many",
        ),
        pytest.param(
            ["--from", FROM, "--to", TO, "--max-fires", str(MAX_BACKFILL_FIRES + 1)],
            f"must be from 1 to {MAX_BACKFILL_FIRES}",
            id="over-the-limit",
        ),
        pytest.param(
            ["--from", "yesterday", "--to", TO],
            "--from 'yesterday' is not an ISO 8601",
            id="not-iso",
        ),
        pytest.param(
            ["--from", "0001-01-01T00:00Z", "--to", TO], "--from 0001-01-01", id="out-of-range"
        ),
    ],
)
def test_bad_ranges_are_one_line_and_record_nothing(
    gnomon: Gnomon, db: str, clock: FakeClock, job: str, args: list[str], words: str
) -> None:
    done = gnomon("backfill", job, *args)
    assert done.code == 2
    assert words in done.error
    assert backfilled(db, clock, job) == []


def test_the_api_limit_holds(gnomon: Gnomon, db: str, clock: FakeClock) -> None:
    """A range of more than MAX_BACKFILL_FIRES fires is refused even at the largest
    --max-fires, as the API refuses it."""
    assert gnomon("add", "every 1m", "--id", "minutely", "--python", "json:dumps").code == 0
    clock.advance(3 * 86400)
    done = gnomon(
        "backfill",
        "minutely",
        "--from",
        "2026-03-03T00:00Z",
        "--to",
        "2026-03-04T00:00Z",
        "--max-fires",
        str(MAX_BACKFILL_FIRES),
    )
    assert done.code == 2
    assert f"up to {MAX_BACKFILL_FIRES}" in done.error
    assert backfilled(db, clock, "minutely") == []
