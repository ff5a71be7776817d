"""`gnomon schedule KIND SPEC …` in the seed's words, `gnomon actions`, and the example plugin."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gnomon import ActionSpec, FakeClock, RunStatus, Scheduler
from gnomon.cli import main
from gnomon.settings import Settings


def gnomon(db: Path, *args: str) -> tuple[int, str, str]:
    """Run the CLI in-process; returns (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as exit_info:
        main(["--db", str(db), *args])
    return int(exit_info.value.code or 0), "", ""


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "cli.db"


def stored(db: Path) -> list[dict[str, Any]]:
    with Scheduler(str(db)) as scheduler:
        return [
            {"id": j.id, "name": j.name, "kind": j.action.kind, "config": dict(j.action.config)}
            for j in scheduler.list()
        ]


@pytest.mark.parametrize(
    ("args", "kind", "config_part"),
    [
        pytest.param(
            [
                "notification",
                "in 5 minutes",
                "--message",
                "Hello!",
                "--url",
                "json://hooks.example.org/in",
            ],
            "notify",
            {"body": "Hello!"},
            id="notification",
        ),
        pytest.param(
            ["shell", "0 2 * * *", "--", "/usr/local/bin/backup.sh", "--fast"],
            "shell",
            {"argv": ["/usr/local/bin/backup.sh", "--fast"]},
            id="shell",
        ),
        pytest.param(
            [
                "http",
                "every 15m",
                "--url",
                "https://example.org/hook",
                "--method",
                "POST",
                "--json-body",
                '{"a": 1}',
            ],
            "http",
            {"method": "POST"},
            id="http",
        ),
        pytest.param(
            ["mqtt", "every 1h", "--topic", "coop/door/close", "--payload", "close"],
            "mqtt",
            {"topic": "coop/door/close"},
            id="mqtt",
        ),
        pytest.param(
            ["mcp_tool", "0 12 * * *", "--server-name", "time", "--tool-name", "get_current_time"],
            "mcp",
            {"tool": "get_current_time"},
            id="mcp-tool",
        ),
        pytest.param(
            [
                "plugin_command",
                "0 2 * * *",
                "--plugin-name",
                "backup",
                "--command-name",
                "run_backup",
                "--args",
                '{"target": "/data"}',
                "--name",
                "Nightly Backup",
            ],
            "backup",
            {"command": "run_backup"},
            id="plugin-command",
        ),
    ],
)
def test_schedule_in_the_seeds_words(
    db: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    kind: str,
    config_part: dict[str, Any],
) -> None:
    monkeypatch.setenv("GNOMON_MCP_SERVERS", json.dumps({"time": {"command": ["true"]}}))
    code, _, _ = gnomon(db, "schedule", *args)
    assert code == 0
    [job] = stored(db)
    assert job["kind"] == kind
    assert config_part.items() <= job["config"].items()


def test_schedule_sequence_from_a_yaml_file(db: Path, tmp_path: Path) -> None:
    steps = tmp_path / "steps.yaml"
    steps.write_text(
        "on_failure: continue\n"
        "steps:\n"
        "  - id: fetch\n    action: {kind: shell, config: {argv: [echo, hi]}}\n"
        "  - id: report\n    needs: [fetch]\n"
        "    action: {kind: shell, config: {argv: [echo, '{{steps.fetch.output}}']}}\n"
    )
    assert gnomon(db, "schedule", "sequence", "0 3 * * *", "--file", str(steps))[0] == 0
    [job] = stored(db)
    assert [s["id"] for s in job["config"]["steps"]] == ["fetch", "report"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ["mqtt", "every 1h", "--payload", "x"], "--topic is required", id="missing-topic"
        ),
        pytest.param(["http", "every 1h", "--url", "ftp://example.org/x"], "http", id="bad-url"),
        pytest.param(
            ["plugin_command", "every 1h", "--plugin-name", "nope", "--command-name", "x"],
            "unknown action kind 'nope'",
            id="unknown-plugin",
        ),
        pytest.param(
            [
                "plugin_command",
                "every 1h",
                "--plugin-name",
                "backup",
                "--command-name",
                "explode",
                "--args",
                '{"target": "/x"}',
            ],
            "not one of run_backup, prune",
            id="unknown-plugin-command",
        ),
        pytest.param(["teleport", "every 1h"], "unknown kind 'teleport'", id="unknown-kind"),
        pytest.param(["shell", "every 1h"], "a command after --", id="shell-without-command"),
    ],
)
def test_bad_config_is_refused_and_nothing_stored(
    db: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, _, _ = gnomon(db, "schedule", *args)
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1  # one clear line, no traceback
    assert stored(db) == []


def test_cyclic_sequence_is_refused(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    steps = tmp_path / "cycle.toml"
    steps.write_text(
        '[[steps]]\nid = "a"\nneeds = ["b"]\naction = {kind = "shell", config = {argv = ["x"]}}\n'
        '[[steps]]\nid = "b"\nneeds = ["a"]\naction = {kind = "shell", config = {argv = ["y"]}}\n'
    )
    assert gnomon(db, "schedule", "sequence", "every 1h", "--file", str(steps))[0] == 2
    assert "cycle" in capsys.readouterr().err
    assert stored(db) == []


def test_actions_lists_the_example_plugin(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert gnomon(db, "actions", "--json")[0] == 0
    kinds = {k["kind"]: k for k in json.loads(capsys.readouterr().out)}
    assert kinds["backup"]["source"] == "plugin"
    assert kinds["backup"]["status"] == "ok"
    assert {"python", "shell", "http", "mqtt", "notify", "mcp", "sequence"} <= set(kinds)


def test_example_plugin_runs_on_schedule(tmp_path: Path) -> None:
    clock = FakeClock(datetime(2026, 5, 1, 1, 59, tzinfo=UTC))
    target = tmp_path / "backups"
    action = ActionSpec(
        kind="backup", config={"command": "run_backup", "args": {"target": str(target)}}
    )
    with Scheduler(str(tmp_path / "p.db"), clock=clock, settings=Settings()) as scheduler:
        scheduler.add("0 2 * * *", action, id="nightly")
        clock.advance(60)
        scheduler.tick()
        assert scheduler.wait_idle(timeout=10)
        [run] = scheduler.runs("nightly")
    assert run.status is RunStatus.SUCCEEDED
    assert [p.name for p in target.iterdir()] == ["backup-nightly-20260501T020000Z.json"]
