"""``gnomon update ID``: schedule, action, policy and name change; the rest stays; bad input
changes nothing; the change is audited like the API's ``PATCH /jobs/{id}``."""

from __future__ import annotations

import getpass
from collections.abc import Callable
from typing import Any

import pytest

from gnomon import FakeClock, Scheduler
from gnomon.store.admin import list_audit
from tests.cli.conftest import Gnomon

Stored = Callable[[str], dict[str, Any]]
REF = "json:dumps"


@pytest.fixture
def job(gnomon: Gnomon) -> str:
    """``nightly``: every 10 minutes from T0 (07:00Z), a Python action, a custom policy."""
    added = gnomon(
        "add",
        "every 10m",
        "--id",
        "nightly",
        "--python",
        REF,
        "--name",
        "Nightly",
        "--max-attempts",
        "2",
        "--timeout",
        "60",
        "--notify",
        "json://hooks.example.org/x",
    )
    assert added.code == 0, added.err
    return "nightly"


def test_a_new_schedule_takes_effect_from_now_and_nothing_else_changes(
    gnomon: Gnomon, stored: Stored, clock: FakeClock, job: str
) -> None:
    before = stored(job)
    assert before["next_fire_at"] == "2026-03-02T07:10:00Z"
    clock.advance(120)
    done = gnomon("update", job, "--when", "every 5m")
    assert done.code == 0, done.err
    assert f"updated job {job}" in done.out
    after = stored(job)
    assert after["when"] == "Every 5 minutes"
    assert after["next_fire_at"] == "2026-03-02T07:07:00Z"  # from the update's now
    for key in ("name", "action", "policy", "state", "created_at"):
        assert after[key] == before[key], key


def test_a_cron_schedule_in_a_zone(gnomon: Gnomon, stored: Stored, job: str) -> None:
    done = gnomon("update", job, "--when", "30 9 * * *", "--tz", "Europe/Berlin")
    assert done.code == 0, done.err
    after = stored(job)
    assert after["trigger"]["tz"] == "Europe/Berlin"
    assert after["next_fire_at"] == "2026-03-02T08:30:00Z"  # 09:30 CET


def test_the_policy_options_change_only_what_is_given(
    gnomon: Gnomon, stored: Stored, job: str
) -> None:
    before = stored(job)["policy"]
    done = gnomon(
        "update",
        job,
        "--retries",
        "3",
        "--backoff",
        "5",
        "--grace",
        "10",
        "--jitter",
        "2",
        "--misfire",
        "skip",
        "--overlap",
        "queue",
    )
    assert done.code == 0, done.err
    after = stored(job)["policy"]
    changed = {"max_attempts": 4, "backoff": 5.0, "grace": 10.0, "jitter": 2.0}
    changed |= {"misfire": "skip", "overlap": "queue"}
    assert after == {**before, **changed}
    assert after["timeout"] == 60.0  # given at add, kept
    assert after["notify_urls"] == ["json://***"]
    assert stored(job)["next_fire_at"] == "2026-03-02T07:10:00Z"  # the schedule did not move


@pytest.mark.parametrize(
    ("args", "kind", "config_part"),
    [
        pytest.param(
            [
                "--kind",
                "http",
                "--url",
                "https://example.org/hook",
                "--method",
                "POST",
                "--json-body",
                '{"a": 1}',
            ],
            "http",
            {"url": "https://example.org/hook", "method": "POST", "json": {"a": 1}},
            id="kind-http",
        ),
        pytest.param(
            ["--shell", "--", "echo", "hi"], "shell", {"argv": ["echo", "hi"]}, id="shell"
        ),
        pytest.param(
            ["--python", "json:loads", "--args", '["[]"]'],
            "python",
            {"ref": "json:loads", "args": ["[]"]},
            id="python",
        ),
        pytest.param(
            ["--kind", "mqtt", "--topic", "coop/door", "--payload", "close"],
            "mqtt",
            {"topic": "coop/door", "payload": "close"},
            id="kind-mqtt",
        ),
    ],
)
def test_the_action_is_replaced_with_the_options_of_add_and_schedule(
    gnomon: Gnomon,
    stored: Stored,
    job: str,
    args: list[str],
    kind: str,
    config_part: dict[str, Any],
) -> None:
    before = stored(job)
    done = gnomon("update", job, *args)
    assert done.code == 0, done.err
    after = stored(job)
    assert after["action"]["kind"] == kind
    assert config_part.items() <= after["action"]["config"].items()
    assert (after["when"], after["policy"], after["name"]) == (
        before["when"],
        before["policy"],
        before["name"],
    )


def test_the_name_changes(gnomon: Gnomon, stored: Stored, job: str) -> None:
    assert gnomon("update", job, "--name", "Every ten").code == 0
    assert stored(job)["name"] == "Every ten"


def test_a_paused_job_stays_paused(gnomon: Gnomon, stored: Stored, job: str) -> None:
    assert gnomon("pause", job).code == 0
    assert gnomon("update", job, "--when", "every 1h").code == 0
    after = stored(job)
    assert (after["state"], after["next_fire_at"], after["when"]) == (
        "paused",
        None,
        "Every 1 hour",
    )


def test_a_solar_schedule_takes_a_place(gnomon: Gnomon, stored: Stored, job: str) -> None:
    done = gnomon("update", job, "--when", "sunset", "--lat", "52.52", "--lon", "13.405")
    assert done.code == 0, done.err
    trigger = stored(job)["trigger"]
    assert (trigger["latitude"], trigger["longitude"]) == (52.52, 13.405)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        pytest.param(["--when", "every -5m"], "every -5m", id="bad-when"),
        pytest.param(["--when", "every 5m", "--tz", "Mars/Olympus"], "Mars/Olympus", id="bad-tz"),
        pytest.param(["--tz", "Europe/Berlin"], "--tz: give --when too", id="tz-alone"),
        pytest.param(
            ["--lat", "1", "--lon", "2"], "--lat/--lon: give --when too", id="place-alone"
        ),
        pytest.param(["--when", "sunset", "--lat", "1"], "both --lat and --lon", id="half-place"),
        pytest.param(
            ["--misfire", "sometimes"], "misfire: 'sometimes' is not one of", id="misfire"
        ),
        pytest.param(["--backoff", "-1"], "policy backoff", id="negative-backoff"),
        pytest.param(["--retries", "-1"], "--retries: -1 must be 0 or more", id="retries"),
        pytest.param(["--retries", "1", "--max-attempts", "2"], "not both", id="retries-twice"),
        pytest.param(["--notify", "nope"], "notify", id="bad-notify-url"),
        pytest.param(["--kind", "teleport"], "unknown kind 'teleport'", id="unknown-kind"),
        pytest.param(["--kind", "mqtt"], "--topic is required", id="incomplete-action"),
        pytest.param(
            ["--url", "https://example.org/x"], "--url: give the new action's kind", id="no-kind"
        ),
        pytest.param(["--shell", "--python", REF], "give one new action", id="two-actions"),
        pytest.param(["--name", "x\x07"], "control character", id="bad-name"),
        pytest.param([], "nothing to change", id="nothing"),
    ],
)
def test_bad_input_is_one_line_and_nothing_changes(
    gnomon: Gnomon, stored: Stored, job: str, args: list[str], words: str
) -> None:
    before = stored(job)
    done = gnomon("update", job, *args)
    assert done.code == 2
    assert words in done.error
    assert stored(job) == before
    assert done.out == ""


def test_an_unknown_job_is_one_line(gnomon: Gnomon) -> None:
    done = gnomon("update", "nope", "--name", "x")
    assert done.code == 1
    assert "nope" in done.error


def test_the_change_is_audited_with_what_changed(
    gnomon: Gnomon, db: str, clock: FakeClock, job: str
) -> None:
    assert gnomon("update", job, "--when", "every 5m", "--name", "Five").code == 0
    with Scheduler(db, clock=clock) as scheduler:
        entry = list_audit(scheduler.store)[0]
    assert (entry.action, entry.target, entry.actor) == (
        "job.update",
        f"job:{job}",
        f"cli:{getpass.getuser()}",
    )
    assert entry.diff == {
        "before": {"name": "Nightly", "when": "Every 10 minutes"},
        "after": {"name": "Five", "when": "Every 5 minutes"},
    }


def test_the_hint_for_an_existing_id_names_a_command_that_exists(
    gnomon: Gnomon, stored: Stored, job: str
) -> None:
    again = gnomon("add", "every 1h", "--id", job, "--python", REF)
    assert again.code != 0
    assert "use update" in again.error
    assert gnomon("update", job, "--when", "every 1h").code == 0
    assert stored(job)["when"] == "Every 1 hour"
