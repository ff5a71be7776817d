"""``add`` and ``schedule`` take the same job options (one definition, ``cli/job_options.py``);
``schedule`` takes every kind ``gnomon actions`` lists; ``--json`` prints JSON; solar
schedules take ``--lat``/``--lon`` and the hint for a missing place names them."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import typer

from gnomon.cli import app
from tests.cli.conftest import Gnomon

Stored = Callable[[str], dict[str, Any]]
POLICY_ARGS = [
    "--max-attempts",
    "3",
    "--backoff",
    "5",
    "--timeout",
    "30",
    "--misfire",
    "skip",
    "--grace",
    "10",
    "--overlap",
    "skip",
    "--jitter",
    "2",
    "--notify",
    "json://hooks.example.org/x",
    "--notify-on",
    "failed",
    "--notify-on",
    "succeeded",
    "--paused",
]
POLICY = {
    "max_attempts": 3,
    "backoff": 5.0,
    "timeout": 30.0,
    "misfire": "skip",
    "grace": 10.0,
    "overlap": "skip",
    "jitter": 2.0,
    "notify_urls": ["json://***"],
    "notify_on": ["failed", "succeeded"],
}
JOB_OPTIONS = {"--id", "--name", "--tz", "--paused", "--json", "--lat", "--lon"}
POLICY_OPTIONS = {
    "--max-attempts",
    "--retries",
    "--backoff",
    "--timeout",
    "--misfire",
    "--grace",
    "--overlap",
    "--jitter",
    "--notify",
    "--notify-on",
}


def flags(command: str) -> set[str]:
    """The option names of ``command`` (Typer's own click: read by duck typing)."""
    found: Any = typer.main.get_command(app)
    options = [p for p in found.commands[command].params if p.param_type_name == "option"]
    return {name for option in options for name in option.opts}


def test_add_schedule_and_update_offer_the_same_job_options() -> None:
    for command in ("add", "schedule"):
        assert flags(command) >= JOB_OPTIONS | POLICY_OPTIONS, command
    assert POLICY_OPTIONS | {"--name", "--tz", "--json", "--lat", "--lon"} <= flags("update")


def test_add_and_schedule_store_the_same_policy(gnomon: Gnomon, stored: Stored) -> None:
    added = gnomon("add", "every 1h", "--id", "a", "--python", "json:dumps", *POLICY_ARGS)
    assert added.code == 0, added.err
    scheduled = gnomon(
        "schedule", "python", "every 1h", "--id", "s", "--ref", "json:dumps", *POLICY_ARGS
    )
    assert scheduled.code == 0, scheduled.err
    a, s = stored("a"), stored("s")
    assert a["policy"] == s["policy"]
    assert POLICY.items() <= a["policy"].items()
    assert (a["state"], s["state"]) == ("paused", "paused")


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(["add", "every 1h", "--id", "w", "--shell"], id="add"),
        pytest.param(["schedule", "shell", "every 1h", "--id", "w"], id="schedule"),
    ],
)
def test_a_missing_program_is_the_same_warning(
    gnomon: Gnomon, stored: Stored, command: list[str]
) -> None:
    done = gnomon(*command, "--", "no-such-prog-9f")
    assert done.code == 0, done.err
    assert done.err.startswith("warning: 'no-such-prog-9f' is not a program on this machine's")
    assert stored("w")["action"]["config"]["argv"] == ["no-such-prog-9f"]


def test_retries_is_max_attempts_less_one(gnomon: Gnomon, stored: Stored) -> None:
    assert (
        gnomon("schedule", "shell", "every 1h", "--id", "r", "--retries", "2", "--", "true").code
        == 0
    )
    assert stored("r")["policy"]["max_attempts"] == 3


@pytest.fixture
def steps(tmp_path: Path) -> str:
    path = tmp_path / "steps.yaml"
    path.write_text("steps:\n  - id: a\n    action: {kind: shell, config: {argv: [echo, hi]}}\n")
    return str(path)


def kind_args(steps: str) -> dict[str, list[str]]:
    """Enough options to schedule each kind `gnomon actions` lists (built in and plugins)."""
    return {
        "amqp": [
            "--config",
            '{"url": "amqp://guest:guest@127.0.0.1:5672//", "queue": "q", "body": "x"}',
        ],
        "redis": ["--config", '{"url": "redis://127.0.0.1:6379/0", "channel": "c", "body": "x"}'],
        "backup": ["--command-name", "run_backup", "--args", '{"target": "/tmp/b"}'],
        "celery": ["--task", "myapp.add", "--broker", "redis://127.0.0.1:6379/0"],
        "http": ["--url", "https://example.org/hook"],
        "mcp": ["--server-name", "time", "--tool-name", "get_current_time"],
        "mqtt": ["--topic", "coop/door"],
        "notify": ["--message", "hi", "--url", "json://hooks.example.org/in"],
        "python": ["--ref", "json:dumps"],
        "sequence": ["--file", steps],
        "shell": ["--", "echo", "hi"],
    }


def test_schedule_takes_every_kind_gnomon_actions_lists(
    gnomon: Gnomon, stored: Stored, steps: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GNOMON_MCP_SERVERS", json.dumps({"time": {"command": ["true"]}}))
    listed = gnomon("actions", "--json")
    kinds = {k["kind"] for k in json.loads(listed.out)}
    by_kind = kind_args(steps)
    assert kinds == set(by_kind)  # a new kind needs its line above
    for kind in sorted(kinds):
        done = gnomon("schedule", kind, "every 1h", "--id", f"j-{kind}", *by_kind[kind])
        assert done.code == 0, (kind, done.err)
        assert stored(f"j-{kind}")["action"]["kind"] == kind


def test_a_kind_nobody_offers_is_refused_naming_the_kinds(gnomon: Gnomon) -> None:
    done = gnomon("schedule", "teleport", "every 1h")
    assert done.code == 2
    for kind in ("amqp", "redis", "http", "notification", "mcp_tool", "plugin_command"):
        assert kind in done.error


def test_json_prints_the_job_and_the_old_spelling_still_prints_it(gnomon: Gnomon) -> None:
    for option, job_id in (("--json", "j1"), ("--json-output", "j2")):
        done = gnomon("schedule", "shell", "every 1h", "--id", job_id, option, "--", "true")
        assert done.code == 0, done.err
        assert json.loads(done.out)["id"] == job_id
        deprecated = "warning: --json-output is deprecated: use --json"
        assert (deprecated in done.err) == (option == "--json-output")


def test_an_http_body_given_the_old_way_says_how_to_give_it(gnomon: Gnomon, stored: Stored) -> None:
    url = "https://example.org/hook"
    done = gnomon("schedule", "http", "every 1h", "--url", url, "--json", '{"a": 1}')
    assert done.code == 2
    assert "give the body with --json-body" in done.error
    done = gnomon(
        "schedule", "http", "every 1h", "--id", "h", "--url", url, "--json-body", '{"a": 1}'
    )
    assert done.code == 0, done.err
    assert stored("h")["action"]["config"]["json"] == {"a": 1}


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(["add", "sunset+20m", "--python", "json:dumps"], id="add"),
        pytest.param(["schedule", "shell", "sunset+20m", "--", "true"], id="schedule"),
    ],
)
def test_solar_schedules_take_a_place_and_the_hint_names_real_options(
    gnomon: Gnomon, stored: Stored, command: list[str]
) -> None:
    missing = gnomon(*command)
    assert missing.code == 2
    named = set(re.findall(r"--[a-z-]+", missing.error))
    assert named == {"--lat", "--lon"}
    assert named <= flags(command[0])
    placed = [*command[:2], "--id", "coop", "--lat", "52.52", "--lon", "13.405", *command[2:]]
    done = gnomon(*placed)
    assert done.code == 0, done.err
    trigger = stored("coop")["trigger"]
    assert (trigger["latitude"], trigger["longitude"]) == (52.52, 13.405)
