"""What a systemd user expects of the CLI: ``gnomon list`` as ``systemctl list-timers``,
``history`` and ``runs`` with start, lateness and duration in the job's zone, ``events``
(and ``--follow``), removed jobs with ``list --all``. The history is made by a scheduler
with the same FakeClock as the commands (``tests/cli/conftest.py``): times are exact."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from rich.console import Console

from gnomon import service
from gnomon.cli import events_cmd, output, timing
from gnomon.clock import FakeClock
from gnomon.definitions import shell
from gnomon.events import Event
from gnomon.scheduler import Scheduler
from tests.api.conftest import START
from tests.cli.conftest import Gnomon


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)  # Monday 2026-03-02 08:00 UTC (09:00 in Paris)


@pytest.fixture
def scheduler(db: str, clock: FakeClock) -> Iterator[Scheduler]:
    with Scheduler(db, clock=clock, workers=2) as s:
        yield s


@pytest.fixture(autouse=True)
def wide(monkeypatch: pytest.MonkeyPatch) -> None:
    """A console wide enough that no table cell folds (rows are read cell by cell)."""
    monkeypatch.setattr(output._LazyConsole, "_real", Console(width=250))


def ok(gnomon: Gnomon, *args: str) -> str:
    """The output of ``gnomon *args``, which must succeed."""
    done = gnomon(*args)
    assert done.code == 0, done
    return done.out


def row(output: str, first_cell: str) -> list[str]:
    """The cells of the table row that starts with ``first_cell``."""
    for line in output.splitlines():
        cells = [c.strip() for c in re.split(r"[│┃]", line)[1:-1]]
        if cells and cells[0] == first_cell:
            return cells
    raise AssertionError(f"no row {first_cell!r} in:\n{output}")


def run_now(scheduler: Scheduler, clock: FakeClock, job_id: str, late: float = 0) -> int:
    """Trigger ``job_id``; start it ``late`` seconds later and let it finish."""
    run = scheduler.trigger(job_id)
    clock.advance(late)
    scheduler.tick()
    assert scheduler.wait_idle(10)
    return run.id


def paris_job(scheduler: Scheduler, job_id: str = "report") -> None:
    scheduler.add("30 9 * * *", shell(["true"]), id=job_id, name="Report", tz="Europe/Paris")


# -- gnomon list ----------------------------------------------------------------------------


def test_list_shows_next_left_last_and_result_as_list_timers(
    gnomon: Gnomon, scheduler: Scheduler, clock: FakeClock
) -> None:
    paris_job(scheduler)  # next: 09:30 in Paris, 08:30 UTC
    scheduler.add("every 1h", shell(["sh", "-c", "exit 3"]), id="flaky")
    scheduler.add("every 1h", shell(["true"]), id="idle", paused=True)
    run_now(scheduler, clock, "report", late=5)  # 08:00:05 UTC
    run_now(scheduler, clock, "flaky", late=2)  # 08:00:07 UTC
    clock.set(START + timedelta(minutes=17, seconds=48))
    out = ok(gnomon, "list")
    header = row(out, "id")
    assert header == ["id", "name", "schedule", "next", "left", "last", "result"]
    assert row(out, "report") == [
        "report",
        "Report",
        "At 09:30 (Europe/Paris)",
        "2026-03-02 09:30:00 CET",
        "12min 12s",
        "2026-03-02 09:00:05 CET",
        "succeeded",
    ]
    flaky = row(out, "flaky")
    assert flaky[3:] == [
        "2026-03-02 09:00:00 UTC",
        "42min 12s",
        "2026-03-02 08:00:07 UTC",
        "failed",
    ]
    assert row(out, "idle")[3:] == ["-", "paused", "-", "-"]


def test_list_says_how_overdue_a_fire_no_scheduler_recorded_is(
    gnomon: Gnomon, scheduler: Scheduler, clock: FakeClock
) -> None:
    scheduler.add("every 1h", shell(["true"]), id="late")
    clock.advance(timedelta(hours=1, minutes=3, seconds=1))
    assert row(ok(gnomon, "list"), "late")[4] == "overdue 3min 1s"


def test_list_json_gives_the_last_run_and_the_seconds_left(
    gnomon: Gnomon, scheduler: Scheduler, clock: FakeClock
) -> None:
    paris_job(scheduler)
    scheduler.add("every 1h", shell(["true"]), id="fresh")
    ran = run_now(scheduler, clock, "report", late=5)
    [fresh, report] = json.loads(ok(gnomon, "list", "--json"))
    assert (report["id"], report["left_seconds"]) == ("report", 1795.0)
    assert report["last_run"]["id"] == ran
    assert report["last_run"]["status"] == "succeeded"
    assert report["action"]["kind"] == "shell"  # the job's view, as before
    assert fresh["last_run"] is None


def test_list_with_no_jobs_is_one_line(gnomon: Gnomon, scheduler: Scheduler) -> None:
    assert ok(gnomon, "list") == "no jobs\n"
    assert ok(gnomon, "list", "--all") == "no jobs\n"
    paris_job(scheduler)
    assert ok(gnomon, "list", "--search", "nothing like it") == "no matching jobs\n"
    assert json.loads(ok(gnomon, "list", "--json", "--search", "nothing")) == []


def test_list_all_shows_removed_jobs_with_when_and_their_last_run(
    gnomon: Gnomon, scheduler: Scheduler, clock: FakeClock
) -> None:
    paris_job(scheduler)
    paris_job(scheduler, "reused")
    ran = run_now(scheduler, clock, "report", late=5)
    clock.advance(60)
    scheduler.remove("report")  # 08:01:05 UTC
    scheduler.remove("reused")
    scheduler.add("every 1h", shell(["true"]), id="reused")  # the live one wins
    plain = ok(gnomon, "list")
    assert "report" not in plain
    out = ok(gnomon, "list", "--all")
    assert "1 removed job(s)" in out
    assert row(out, "report") == [
        "report",
        "Report",
        "At 09:30 (Europe/Paris)",
        "2026-03-02 09:01:05 CET",
        "2026-03-02 09:00:05 CET",
        "succeeded",
    ]
    assert row(out, "reused")[2] == "Every 1 hour"  # listed once: live
    assert out.count("reused") == 1
    data = json.loads(ok(gnomon, "list", "--all", "--json"))
    removed = [d for d in data if d["state"] == "removed"]
    assert [(d["id"], d["removed_at"], d["last_run"]["id"]) for d in removed] == [
        ("report", "2026-03-02T08:01:05Z", ran)
    ]


# -- gnomon history and gnomon runs ----------------------------------------------------------


def test_history_shows_start_in_the_jobs_zone_lateness_duration_and_a_lost_run(
    gnomon: Gnomon, scheduler: Scheduler, clock: FakeClock
) -> None:
    paris_job(scheduler)
    first = run_now(scheduler, clock, "report", late=2)
    lost = scheduler.trigger("report")  # 08:00:02 UTC
    [claimed] = scheduler.store.claim_runs(clock.now(), "vanished:1", 1, 30)
    assert claimed.run.id == lost.id
    clock.advance(31)  # its lease ran out: put back to pending, run again
    scheduler.tick()
    assert scheduler.wait_idle(10)
    out = ok(gnomon, "history", "report")
    assert row(out, "run") == [
        "run",
        "scheduled for",
        "started",
        "late",
        "took",
        "attempt",
        "status",
        "note",
    ]
    assert row(out, str(lost.id)) == [
        str(lost.id),
        "2026-03-02 09:00:02 CET",
        "2026-03-02 09:00:33 CET",
        "31s",
        "0ms",
        "1",
        "succeeded",
        "lost 1x, re-run",
    ]
    assert row(out, str(first))[1:5] == [
        "2026-03-02 09:00:00 CET",
        "2026-03-02 09:00:02 CET",
        "2.0s",
        "0ms",
    ]
    assert out.index(str(lost.id)) < out.index(f"│ {first} ")  # newest first
    data = json.loads(ok(gnomon, "history", "report", "--json"))
    assert [(r["id"], r["late_seconds"], r["took_seconds"], r["losses"]) for r in data] == [
        (lost.id, 31.0, 0.0, 1),
        (first, 2.0, 0.0, 0),
    ]


def test_history_of_a_job_without_runs_and_of_a_removed_job(
    gnomon: Gnomon, scheduler: Scheduler, clock: FakeClock
) -> None:
    paris_job(scheduler)
    assert ok(gnomon, "history", "report") == "no runs yet\n"
    assert json.loads(ok(gnomon, "history", "report", "--json")) == []
    run_now(scheduler, clock, "report")
    scheduler.remove("report")
    out = ok(gnomon, "history", "report")
    assert "runs of report (removed 2026-03-02 09:00:00 CET)" in out
    assert "succeeded" in out
    assert gnomon("history", "nosuch").error == "error: no job with id 'nosuch'"


def test_history_outlives_the_removal_event_pruned_with_old_events(
    gnomon: Gnomon, scheduler: Scheduler, clock: FakeClock
) -> None:
    """Retention keeps a job's newest run for ever, its events not: its history still shows."""
    paris_job(scheduler)
    ran = run_now(scheduler, clock, "report")
    scheduler.remove("report")
    scheduler.add("every 1h", shell(["true"]), id="other")  # a newer event
    clock.advance(timedelta(days=40))
    rules = service.retention_rules(scheduler, older_than=timedelta(days=1))
    service.prune(scheduler, rules)
    assert service.removed_job(scheduler, "report") is None  # its removal is forgotten
    out = ok(gnomon, "history", "report")
    assert out.splitlines()[0].strip() == "runs of report"
    assert row(out, str(ran))[-2] == "succeeded"
    assert [r["id"] for r in json.loads(ok(gnomon, "runs", "--job", "report", "--json"))] == [ran]
    assert ok(gnomon, "runs", "--job", "report", "--status", "failed") == "no runs yet\n"


def test_runs_across_jobs_by_status_and_job_newest_first(
    gnomon: Gnomon, scheduler: Scheduler, clock: FakeClock
) -> None:
    assert ok(gnomon, "runs") == "no runs yet\n"
    paris_job(scheduler)
    scheduler.add("every 1h", shell(["sh", "-c", "exit 3"]), id="flaky")
    good = run_now(scheduler, clock, "report", late=1)
    bad = run_now(scheduler, clock, "flaky", late=1)
    again = run_now(scheduler, clock, "report", late=1)
    out = ok(gnomon, "runs")
    assert row(out, "run")[:2] == ["run", "job"]
    assert row(out, str(bad))[1:3] == ["flaky", "2026-03-02 08:00:01 UTC"]
    assert row(out, str(good))[1:3] == ["report", "2026-03-02 09:00:00 CET"]
    ids = [r["id"] for r in json.loads(ok(gnomon, "runs", "--json"))]
    assert ids == [again, bad, good]
    failed = json.loads(ok(gnomon, "runs", "--status", "failed", "--json"))
    assert [(r["id"], r["status"]) for r in failed] == [(bad, "failed")]
    both = json.loads(ok(gnomon, "runs", "--status", "failed,succeeded", "--limit", "2", "--json"))
    assert [r["id"] for r in both] == [again, bad]
    mine = json.loads(ok(gnomon, "runs", "--job", "report", "--json"))
    assert [r["id"] for r in mine] == [again, good]
    assert ok(gnomon, "runs", "--status", "running") == "no runs yet\n"
    wrong = gnomon("runs", "--status", "nope")
    assert wrong.code == 2
    assert "--status: 'nope' is not one of pending, queued, running" in wrong.error
    assert gnomon("runs", "--job", "nosuch").error == "error: no job with id 'nosuch'"


# -- gnomon events ---------------------------------------------------------------------------


def test_events_newest_last_in_the_jobs_zone(
    gnomon: Gnomon, scheduler: Scheduler, clock: FakeClock
) -> None:
    assert ok(gnomon, "events") == "no events yet\n"
    paris_job(scheduler)
    ran = run_now(scheduler, clock, "report", late=3)
    lines = ok(gnomon, "events", "--limit", "2").splitlines()
    assert lines == [
        f"2026-03-02 09:00:03 CET  run.started  report  run {ran}  attempt=1",
        f"2026-03-02 09:00:03 CET  run.succeeded  report  run {ran}  attempt=1",
    ]
    data = json.loads(ok(gnomon, "events", "--job", "report", "--json"))
    assert [e["kind"] for e in data] == [
        "job.created",
        "job.triggered",
        "run.started",
        "run.succeeded",
    ]
    assert gnomon("events", "--job", "nosuch").error == "error: no job with id 'nosuch'"


def test_follow_shows_new_events_as_they_are_recorded(
    scheduler: Scheduler, clock: FakeClock
) -> None:
    """The follow loop, polled three times with events recorded between polls."""
    paris_job(scheduler)
    start = scheduler.events()[-1].id or 0
    shown: list[list[str]] = []
    script: list[Callable[[], None]] = [
        lambda: None,  # nothing new at the second poll
        lambda: scheduler.pause("report"),
        lambda: (scheduler.resume("report"), scheduler.add("every 1h", shell(["true"]), id="x")),
    ]

    def go_on() -> bool:
        if not script:
            return False
        script.pop(0)()
        return True

    last = events_cmd.follow(
        scheduler, start, "report", lambda batch: shown.append([e.kind for e in batch]), go_on
    )
    assert shown == [["job.paused"], ["job.resumed"]]  # not job x's
    assert last == max(e.id or 0 for e in scheduler.events(job_id="report"))


def test_events_follow_keeps_printing_until_ctrl_c_and_exits_zero(
    gnomon: Gnomon, scheduler: Scheduler, monkeypatch: pytest.MonkeyPatch
) -> None:
    paris_job(scheduler)
    polls: list[float] = []
    changes = [lambda: scheduler.pause("report"), lambda: scheduler.resume("report")]

    def pause(seconds: float) -> bool:
        polls.append(seconds)
        if len(polls) % 2:
            changes.pop(0)()  # recorded while the command waits
            return True
        raise KeyboardInterrupt  # Ctrl-C while waiting

    monkeypatch.setattr(events_cmd, "pause", pause)
    done = gnomon("events", "--follow", "--interval", "0.2")
    assert done.code == 0, done
    assert [line.split("  ")[1] for line in done.out.splitlines()] == [
        "job.created",
        "job.paused",
    ]
    assert polls == [0.2, 0.2]
    done = gnomon("events", "--follow", "--json", "--limit", "1")
    assert done.code == 0, done
    lines = [json.loads(line) for line in done.out.splitlines()]  # JSON lines
    assert [e["kind"] for e in lines] == ["job.paused", "job.resumed"]


def test_an_event_line_masks_secrets_in_its_data() -> None:
    event = Event(
        kind="run.failed",
        at=START,
        job_id="j",
        run_id=3,
        data={"error": "https://user:hunter2@example.com failed"},
    )
    line = events_cmd.event_line(event, "UTC")
    assert "hunter2" not in line
    assert line.startswith("2026-03-02 08:00:00 UTC  run.failed  j  run 3  error=")


# -- how times are written -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.12, "120ms"),
        (4.25, "4.2s"),
        (42, "42s"),
        (252, "4min 12s"),
        (3600, "1h"),
        (3780, "1h 3min"),
        (3605, "1h 5s"),
        (2 * 86400 + 5 * 3600 + 59, "2d 5h"),
    ],
)
def test_spans_read_as_systemd_writes_them(seconds: float, text: str) -> None:
    assert timing.span(seconds) == text
