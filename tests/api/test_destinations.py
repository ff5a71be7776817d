"""Named destinations through every face: the API, the CLI, job creation and runs."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gnomon import service
from gnomon.cli import main
from gnomon.destinations import UnknownDestination
from gnomon.errors import InvalidSpec, NotFound
from gnomon.models import ActionSpec, RunStatus
from gnomon.scheduler import Scheduler
from tests.api.conftest import Tokens
from tests.servers import require

SECRET_URL = "amqp://app:hunter2-pass@rabbit.example:5672//"
REDIS_URL = "redis://127.0.0.1:6379/0"


def test_put_list_delete_with_scopes_and_masked_passwords(
    client: TestClient, tokens: Tokens
) -> None:
    body = {"url": SECRET_URL, "queue": "reports"}
    refused = client.put("/api/v1/destinations/reports", json=body, headers=tokens.header("write"))
    assert refused.status_code == 403
    made = client.put("/api/v1/destinations/reports", json=body, headers=tokens.header("admin"))
    assert made.status_code == 201, made.text
    assert made.json()["url"] == "amqp://app:***@rabbit.example:5672//"
    again = client.put(
        "/api/v1/destinations/reports", json={"url": REDIS_URL}, headers=tokens.header("admin")
    )
    assert again.status_code == 200
    listed = client.get("/api/v1/destinations", headers=tokens.header("read"))
    assert listed.json() == [
        {
            "name": "reports",
            "url": REDIS_URL,
            "exchange": None,
            "queue": None,
            "routing_key": None,
            "source": "database",
        }
    ]
    gone = client.delete("/api/v1/destinations/reports", headers=tokens.header("admin"))
    assert gone.status_code == 204
    missing = client.delete("/api/v1/destinations/reports", headers=tokens.header("admin"))
    assert missing.status_code == 404
    assert "hunter2" not in json.dumps(
        client.get("/api/v1/audit", headers=tokens.header("admin")).json()
    )


def test_a_bad_destination_is_one_clear_422(client: TestClient, tokens: Tokens) -> None:
    bad = client.put(
        "/api/v1/destinations/x", json={"url": "http://x/"}, headers=tokens.header("admin")
    )
    assert bad.status_code == 422
    assert bad.json()["message"] == (
        "destination x: url 'http://x/' must start with one of "
        "amqp://, amqps://, pyamqp://, redis://, rediss://"
    )


def test_settings_win_and_cannot_be_changed_here(
    scheduler: Scheduler, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GNOMON_DESTINATIONS", json.dumps({"ops": {"url": SECRET_URL}}))
    with pytest.raises(InvalidSpec, match="'ops' is defined in GNOMON_DESTINATIONS"):
        service.put_destination(scheduler, "ops", REDIS_URL)
    with pytest.raises(InvalidSpec, match="'ops' is defined in GNOMON_DESTINATIONS"):
        service.remove_destination(scheduler, "ops")
    [ops] = service.list_destinations(scheduler)
    assert ops.to_json()["source"] == "settings"
    assert ops.shown_url() == "amqp://app:***@rabbit.example:5672//"


def test_an_unknown_name_is_refused_when_a_job_is_created(scheduler: Scheduler) -> None:
    action = ActionSpec(kind="redis", config={"destination": "nowhere", "body": "x"})
    with pytest.raises(UnknownDestination, match="destination 'nowhere' is not defined"):
        scheduler.add("every 5m", action)
    service.put_destination(scheduler, "nowhere", REDIS_URL, queue="q")
    assert scheduler.add("every 5m", action).action.config["destination"] == "nowhere"
    step = {"id": "a", "action": {"kind": "celery", "config": {"task": "t", "destination": "x"}}}
    with pytest.raises(UnknownDestination, match="'x'"):
        scheduler.add("every 5m", ActionSpec(kind="sequence", config={"steps": [step]}))


def test_workflow_schedule_bodies_name_a_destination(
    client: TestClient, tokens: Tokens, scheduler: Scheduler
) -> None:
    body = {
        "when": "every 10m",
        "destination": "etl",
        "action": {"kind": "celery", "config": {"task": "etl.start"}},
    }
    unknown = client.put("/api/v1/workflows/w1/schedule", json=body, headers=tokens.header("write"))
    assert unknown.status_code == 422
    assert "destination 'etl' is not defined" in unknown.json()["message"]
    service.put_destination(scheduler, "etl", REDIS_URL)
    made = client.put("/api/v1/workflows/w1/schedule", json=body, headers=tokens.header("write"))
    assert made.status_code == 201, made.text
    assert scheduler.get("workflow:w1").action.config["destination"] == "etl"
    http = {**body, "action": {"kind": "http", "config": {"url": "https://example.com/"}}}
    refused = client.put("/api/v1/workflows/w2/schedule", json=http, headers=tokens.header("write"))
    assert refused.status_code == 422
    assert refused.json()["field"] == "destination"


def test_runs_resolve_the_destination_when_they_execute(scheduler: Scheduler) -> None:
    """A changed destination reaches the job's next run; a removed one fails it clearly."""
    require("redis")
    import redis

    first, second = (f"gnomon-test-{uuid.uuid4().hex[:8]}" for _ in range(2))
    service.put_destination(scheduler, "jobs", REDIS_URL, queue=first)
    job = scheduler.add(
        "every 1h", ActionSpec(kind="redis", config={"destination": "jobs", "body": "hi"})
    )
    client = redis.Redis.from_url(REDIS_URL)
    try:
        scheduler.trigger(job.id)
        scheduler.tick()
        assert scheduler.wait_idle(10)
        assert client.lpop(first) == b"hi"
        service.put_destination(scheduler, "jobs", REDIS_URL, queue=second)
        scheduler.clock.advance(timedelta(seconds=6))  # type: ignore[attr-defined]
        scheduler.trigger(job.id)
        scheduler.tick()
        assert scheduler.wait_idle(10)
        assert client.lpop(second) == b"hi"
        service.remove_destination(scheduler, "jobs")
        scheduler.clock.advance(timedelta(seconds=6))  # type: ignore[attr-defined]
        scheduler.trigger(job.id)
        scheduler.tick()
        assert scheduler.wait_idle(10)
        last = scheduler.runs(job.id, limit=1)[0]
        assert last.status is RunStatus.FAILED
        assert last.error is not None
        assert "destination 'jobs' is not defined" in last.error
    finally:
        client.delete(first, second)
        client.close()


def test_cli_add_list_remove(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "cli.db")

    def gnomon(*args: str) -> int:
        with pytest.raises(SystemExit) as done:
            main(["--db", db, *args])
        return int(done.value.code or 0)

    assert (
        gnomon(
            "destination", "add", "reports", SECRET_URL, "--exchange", "ex", "--routing-key", "rk"
        )
        == 0
    )
    assert gnomon("destination", "list", "--json") == 0
    out = capsys.readouterr().out
    assert "hunter2" not in out
    listed = json.loads(out[out.index("[") :])
    assert listed[0]["exchange"] == "ex"
    assert listed[0]["url"] == "amqp://app:***@rabbit.example:5672//"
    assert gnomon("destination", "list") == 0
    assert "hunter2" not in capsys.readouterr().out
    assert (
        gnomon(
            "schedule",
            "celery",
            "every 5m",
            "--task",
            "myapp.add",
            "--args",
            "[2, 3]",
            "--destination",
            "reports",
            "--priority",
            "3",
            "--id",
            "c1",
        )
        == 0
    )
    assert gnomon("schedule", "celery", "every 5m", "--task", "x", "--destination", "nope") == 2
    assert "destination 'nope' is not defined" in capsys.readouterr().err
    assert gnomon("destination", "remove", "reports") == 0
    assert gnomon("destination", "remove", "reports") == 1
    assert "no destination named 'reports'" in capsys.readouterr().err
    with Scheduler(db) as scheduler:
        config = dict(scheduler.get("c1").action.config)
    assert config == {
        "task": "myapp.add",
        "args": [2, 3],
        "kwargs": {},
        "destination": "reports",
        "priority": 3,
    }


def test_not_found_is_a_lookup_error(scheduler: Scheduler) -> None:
    with pytest.raises(NotFound):
        service.remove_destination(scheduler, "never")
