"""``gnomon import-beat``: beat entries become celery jobs, idempotently; the inexpressible
are listed with their reason; a crontab's fires match Celery's own across a DST change."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from gnomon.beat_import import Planned, Refused, load_app, plan
from gnomon.cli import main
from gnomon.errors import InvalidSpec
from gnomon.scheduler import Scheduler
from gnomon.triggers import CronTrigger
from gnomon.triggers.solar import SolarTrigger
from tests.engine.beat_app import app

TARGET = {"broker": "redis://127.0.0.1:6379/9"}


def planned() -> dict[str, Planned | Refused]:
    return {item.entry: item for item in plan(app, TARGET)}


def test_every_kind_of_entry_converts() -> None:
    found = planned()
    add, cleanup, report = found["add every 30s"], found["cleanup"], found["morning report"]
    assert isinstance(add, Planned)
    assert add.job_id == "beat-add-every-30s"
    assert add.when == timedelta(seconds=30)
    assert dict(add.action.config) == {
        "task": "tasks.add",
        "args": [2, 3],
        "kwargs": {},
        "broker": "redis://127.0.0.1:6379/9",
    }
    assert isinstance(cleanup, Planned)
    assert cleanup.action.config["queue"] == "low"
    assert cleanup.action.config["priority"] == 3
    assert cleanup.action.config["kwargs"] == {"older_than": 7}
    assert isinstance(report, Planned)
    assert report.when == CronTrigger("0 9,18 * * 1-5", "Europe/Berlin")
    assert report.action.config["exchange"] == "reports"
    assert report.action.config["expires"] == 600
    quarter = found["first of quarter"]
    assert isinstance(quarter, Planned)
    assert quarter.when == CronTrigger("30 7 1 1,4,7,10 *", "Europe/Berlin")
    lights = found["lights"]
    assert isinstance(lights, Planned)
    assert lights.when == SolarTrigger("sunset", 52.52, 13.405, timedelta(0), "Europe/Berlin")
    poll = found["poll"]
    assert isinstance(poll, Planned)
    assert poll.when == timedelta(seconds=45)


def test_what_cannot_be_expressed_is_listed_with_its_reason() -> None:
    found = planned()
    reasons = {name: item.reason for name, item in found.items() if isinstance(item, Refused)}
    assert set(reasons) == {"relative", "both days", "countdown", "not json"}
    assert "relative=True" in reasons["relative"]
    assert "both day_of_month and day_of_week" in reasons["both days"]
    assert reasons["countdown"].startswith("option(s) countdown cannot be expressed")
    assert "args and kwargs must be JSON" in reasons["not json"]


def gnomon(db: Path, *args: str) -> int:
    with pytest.raises(SystemExit) as done:
        main(["--db", str(db), *args])
    return int(done.value.code or 0)


def rows(capsys: pytest.CaptureFixture[str]) -> dict[str, dict[str, Any]]:
    out = capsys.readouterr().out
    return {row["entry"]: row for row in json.loads(out[out.index("[") :])}


def test_import_is_idempotent_and_updates_a_changed_entry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "beat.db"
    ref = "tests.engine.beat_app:app"
    assert gnomon(db, "import-beat", ref, "--dry-run", "--json") == 1  # refused entries: 1
    dry = rows(capsys)
    assert dry["cleanup"]["result"] == "would create"
    with Scheduler(str(db)) as scheduler:
        assert scheduler.list() == []
    assert gnomon(db, "import-beat", ref, "--json") == 1
    first = rows(capsys)
    assert {r["result"] for r in first.values()} == {"created", "refused"}
    assert first["relative"]["reason"].startswith("relative=True")
    with Scheduler(str(db)) as scheduler:
        job = scheduler.get("beat-add-every-30s")
    assert job.action.config["backend"] == "redis://127.0.0.1:6379/9"  # the app's backend
    assert job.action.config["broker"] == "redis://:beat-secret@127.0.0.1:6379/9"
    assert gnomon(db, "import-beat", ref, "--json") == 1
    assert {r["result"] for r in rows(capsys).values()} == {"unchanged", "refused"}
    changed = dict(app.conf.beat_schedule)
    changed["cleanup"] = {**changed["cleanup"], "schedule": timedelta(minutes=5)}
    monkeypatch.setitem(app.conf, "beat_schedule", changed)
    assert gnomon(db, "import-beat", ref, "--json") == 1
    again = rows(capsys)
    assert again["cleanup"]["result"] == "updated"
    assert again["add every 30s"]["result"] == "unchanged"
    with Scheduler(str(db)) as scheduler:
        assert scheduler.get("beat-cleanup").trigger.to_json()["every"] == 300
    assert gnomon(db, "import-beat", ref) == 1  # the table, for people
    shown = capsys.readouterr().out
    assert "beat-secret" not in shown
    assert "relative=True" in shown


def test_a_bad_reference_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert gnomon(tmp_path / "x.db", "import-beat", "tests.engine.beat_app") == 2
    assert capsys.readouterr().err.startswith("error: 'tests.engine.beat_app': write the app as")
    assert gnomon(tmp_path / "x.db", "import-beat", "tests.engine.beat_app:nope") == 2
    with pytest.raises(InvalidSpec, match="not a Celery app"):
        load_app("tests.engine.beat_app:timedelta")


BERLIN = ZoneInfo("Europe/Berlin")


# Outside the hours DST skips or repeats: there Celery 5.7 fires late (02:15 on the spring-forward
# day fires at 04:15 CEST; gnomon, as Vixie cron, at 03:00), see docs/actions/celery.md.
@pytest.mark.parametrize(
    "entry",
    [
        {"minute": 0, "hour": "9,18", "day_of_week": "mon-fri"},
        {"minute": 30, "hour": 12},
        {"minute": 45, "hour": "7-8", "day_of_month": "27-31"},
    ],
)
def test_crontab_fires_match_celerys_own_across_dst(entry: dict[str, Any]) -> None:
    """Over 2026-03-27..31 (Berlin springs forward on the 29th), minute by minute, beat's own
    ``is_due`` and the imported cron trigger fire at the same instants."""
    from celery.schedules import crontab

    start = datetime(2026, 3, 27, tzinfo=UTC)
    now = [start]
    schedule = crontab(**entry, nowfun=lambda: now[0].astimezone(BERLIN), app=app)
    item = {i.entry: i for i in plan(_app_with(schedule), TARGET)}["e"]
    assert isinstance(item, Planned)
    trigger = item.when
    assert isinstance(trigger, CronTrigger)
    celery_fires, last = [], start.astimezone(BERLIN)
    for minute in range(5 * 24 * 60):
        now[0] = start + timedelta(minutes=minute)
        if schedule.is_due(last).is_due:
            celery_fires.append(now[0])
            last = now[0].astimezone(BERLIN)
    gnomon_fires, fire = [], trigger.next_after(start - timedelta(microseconds=1))
    while fire is not None and fire < start + timedelta(days=5):
        gnomon_fires.append(fire)
        fire = trigger.next_after(fire)
    assert gnomon_fires == celery_fires


def _app_with(schedule: Any) -> Any:
    from celery import Celery

    other = Celery("dst", broker="redis://127.0.0.1:6379/9", set_as_current=False)
    other.conf.timezone = "Europe/Berlin"
    other.conf.beat_schedule = {"e": {"task": "t", "schedule": schedule}}
    return other
