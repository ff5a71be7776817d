"""Devices end to end: discovery of examples/devices, the coop door at sunrise over the real
Mosquitto, a device that is offline, and a command that went stale while it was away."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gnomon import FakeClock, RunStatus, Scheduler
from gnomon.devices.device import Device
from gnomon.devices.discovery import apply_discovery, device_status
from gnomon.devices.simulate import coop_door
from gnomon.settings import Settings
from tests.servers import require

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "devices"
BROKEN = Path(__file__).resolve().parents[1] / "fixtures" / "devices" / "broken"
START = datetime(2026, 6, 1, tzinfo=UTC)  # midnight UTC, before Berlin's sunrise

COOP_MODULE = """
TIMEZONE = "Europe/Berlin"
LOCATION = (52.52, 13.405)

def schedule_tasks(scheduler):
    scheduler.add("sunrise",
                  scheduler.mqtt_command("{base}/open", "open", ack_timeout=1, valid_for=60,
                                         broker="{broker}"),
                  name="open-door", max_attempts=2, backoff=5)
"""


@pytest.fixture
def scheduler(tmp_path: Path) -> Iterator[Scheduler]:
    with Scheduler(str(tmp_path / "devices.db"), clock=FakeClock(START), settings=Settings()) as s:
        yield s


@pytest.fixture
def with_broken(tmp_path: Path) -> Path:
    """The README's example devices plus a deliberately broken one (a test fixture only)."""
    folder = tmp_path / "devices"
    shutil.copytree(EXAMPLES, folder)
    shutil.copytree(BROKEN, folder / "broken")
    return folder


def job_ids(scheduler: Scheduler) -> list[str]:
    return sorted(j.id for j in scheduler.list())


def test_the_readme_example_devices_are_all_ok(scheduler: Scheduler) -> None:
    reports = apply_discovery(scheduler, EXAMPLES)
    assert sorted(r.device for r in reports) == ["coop", "sprinkler"]
    assert all(r.ok for r in reports), [r.error for r in reports]


def test_gnomon_devices_exits_non_zero_when_a_device_failed(
    with_broken: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from gnomon.cli import main

    db = str(tmp_path / "cli.db")
    with pytest.raises(SystemExit) as failed:
        main(["--db", db, "devices", str(with_broken)])
    assert failed.value.code == 1
    out = capsys.readouterr().out
    assert "failed" in out
    assert "coop" in out
    with pytest.raises(SystemExit) as ok:
        main(["--db", db, "devices", str(EXAMPLES)])
    assert ok.value.code == 0


def test_discovery_reports_the_broken_module_and_schedules_the_others(
    scheduler: Scheduler, with_broken: Path
) -> None:
    reports = {r.device: r for r in apply_discovery(scheduler, with_broken)}
    assert reports["coop"].ok
    assert reports["sprinkler"].ok
    assert not reports["broken"].ok
    assert "ModuleNotFoundError" in (reports["broken"].error or "")
    assert job_ids(scheduler) == [
        "device:coop:close-door",
        "device:coop:open-door",
        "device:sprinkler:evening",
        "device:sprinkler:morning",
    ]
    status = {row["device"]: row for row in device_status(scheduler)}
    assert status["broken"]["ok"] is False
    assert "gnomon_this_module_does_not_exist" in status["broken"]["error"]
    assert status["coop"]["jobs"] == ["device:coop:open-door", "device:coop:close-door"]
    opening = scheduler.get("device:coop:open-door")
    assert opening.trigger.kind == "solar"
    assert opening.next_fire_at is not None
    assert opening.next_fire_at.date() == START.date()


def test_rediscovery_three_times_leaves_exactly_the_same_jobs(scheduler: Scheduler) -> None:
    apply_discovery(scheduler, EXAMPLES)
    first = {j.id: j for j in scheduler.list()}
    for _ in range(3):
        reports = apply_discovery(scheduler, EXAMPLES)
        assert all(r.changes.get("unchanged") == len(r.jobs) for r in reports if r.ok)
    assert {j.id: j for j in scheduler.list()} == first


def test_jobs_of_a_removed_device_are_removed(scheduler: Scheduler, tmp_path: Path) -> None:
    folder = tmp_path / "devices"
    shutil.copytree(EXAMPLES, folder)
    apply_discovery(scheduler, folder)
    shutil.rmtree(folder / "sprinkler")
    apply_discovery(scheduler, folder)
    assert job_ids(scheduler) == ["device:coop:close-door", "device:coop:open-door"]


def coop_folder(tmp_path: Path, base: str, broker: str) -> Path:
    folder = tmp_path / "devices" / "coop"
    folder.mkdir(parents=True)
    (folder / "tasks.py").write_text(COOP_MODULE.format(base=base, broker=broker))
    return folder.parent


@dataclass(frozen=True)
class Coop:
    """A coop module discovered against the real Mosquitto, on topics of its own."""

    broker: str
    base: str
    clock: FakeClock
    sunrise: datetime

    def door(self, *, persistent_session: bool = False) -> Device:
        return coop_door(
            broker=self.broker,
            base=self.base,
            clock=self.clock,
            persistent_session=persistent_session,
            client_id=f"coop-{uuid.uuid4().hex}",
        )


@pytest.fixture
def coop(scheduler: Scheduler, tmp_path: Path) -> Coop:
    host, port = require("mosquitto")
    broker, base = f"mqtt://{host}:{port}", f"test-{uuid.uuid4().hex}/coop/door"
    apply_discovery(scheduler, coop_folder(tmp_path, base, broker))
    clock = scheduler.clock
    assert isinstance(clock, FakeClock)
    sunrise = scheduler.get("device:coop:open-door").next_fire_at
    assert sunrise is not None
    return Coop(broker, base, clock, sunrise)


def fire(scheduler: Scheduler, clock: FakeClock, when: datetime) -> None:
    clock.set(when)
    scheduler.tick()
    assert scheduler.wait_idle(timeout=15)


def test_coop_opens_at_sunrise_and_the_run_records_the_ack(
    scheduler: Scheduler, coop: Coop
) -> None:
    door = coop.door()
    door.start()
    try:
        fire(scheduler, coop.clock, coop.sunrise)
    finally:
        door.stop()
    [run] = scheduler.runs("device:coop:open-door")
    assert run.status is RunStatus.SUCCEEDED, run.error
    assert run.result == {"ok": True, "command": "open", "state": {"door": "open"}}
    assert door.state == {"door": "open"}
    assert [command for command, _ in door.executed] == ["open"]


def test_offline_device_fails_after_ack_timeout_and_is_retried(
    scheduler: Scheduler, coop: Coop
) -> None:
    fire(scheduler, coop.clock, coop.sunrise)  # nobody listens: no ack within 1 s
    retry, first = scheduler.runs("device:coop:open-door")
    assert (retry.attempt, retry.status) == (2, RunStatus.PENDING)  # a durable retry row
    assert first.status is RunStatus.FAILED
    assert first.error is not None
    assert "no ack from device within 1 s" in first.error
    fire(
        scheduler, coop.clock, coop.sunrise + timedelta(seconds=10)
    )  # the retry is due after backoff
    runs = scheduler.runs("device:coop:open-door")
    assert [(r.attempt, r.status) for r in runs] == [(2, RunStatus.FAILED), (1, RunStatus.FAILED)]


def test_command_that_expired_while_the_device_was_away_is_not_executed(
    scheduler: Scheduler, coop: Coop
) -> None:
    door = coop.door(persistent_session=True)
    door.start()  # the broker now keeps a session that queues QoS 1 commands for it
    door.stop()
    fire(scheduler, coop.clock, coop.sunrise)  # published while the door is away: queued, unacked
    assert scheduler.runs("device:coop:open-door")[-1].status is RunStatus.FAILED
    coop.clock.advance(timedelta(minutes=5))  # the command was valid for 60 s
    door.start()  # reconnects: the broker hands over the queued command
    try:
        assert door.wait_for_refusal(timeout=10)
    finally:
        door.stop()
    assert door.executed == []
    assert door.state == {"door": "closed"}
    assert door.refused[0][0] == "open"
    assert door.refused[0][1].startswith("stale")


def test_replanning_job_applies_discovery_again(
    scheduler: Scheduler, tmp_path: Path, with_broken: Path
) -> None:
    from gnomon.devices.discovery import REPLAN_JOB, replan, schedule_replanning

    folder = with_broken
    schedule_replanning(scheduler, folder)
    job = scheduler.get(REPLAN_JOB)
    assert job.action.config["ref"] == "gnomon.devices.discovery:replan"
    result = replan(str(folder), str(tmp_path / "devices.db"))
    assert result["coop"] == "ok"
    assert "ModuleNotFoundError" in result["broken"]
    assert "device:coop:open-door" in job_ids(scheduler)


def test_one_bad_task_does_not_drop_the_devices_good_tasks(
    scheduler: Scheduler, tmp_path: Path
) -> None:
    folder = tmp_path / "devices" / "pump"
    folder.mkdir(parents=True)
    tasks = folder / "tasks.py"
    good = "{'kind': 'shell', 'config': {'argv': ['true']}}"

    def declare(second_when: str) -> None:
        tasks.write_text(
            "def schedule_tasks():\n"
            f"    return [dict(name='flush', when='every 1h', action={good}),\n"
            f"            dict(name='drain', when={second_when!r}, action={good}),\n"
            "            dict(name='nameless-action', when='every 2h')]\n"
        )

    declare("every 3h")
    [first] = apply_discovery(scheduler, tmp_path / "devices")
    assert not first.ok  # the task without an action
    assert "'nameless-action': no action" in (first.error or "")
    assert job_ids(scheduler) == ["device:pump:drain", "device:pump:flush"]
    declare("every 25 o'clock")  # now 'drain' is bad too: its job stays as it was
    [second] = apply_discovery(scheduler, tmp_path / "devices")
    assert not second.ok
    assert "25 o'clock" in (second.error or "")
    assert second.jobs == ["device:pump:flush"]
    assert job_ids(scheduler) == ["device:pump:drain", "device:pump:flush"]
    assert scheduler.get("device:pump:drain").trigger.describe() == "Every 3 hours"
