"""One masked view of a job, a run and an event: the CLI's ``--json``, the API and SSE agree."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from gnomon.cli import app
from gnomon.events import Event
from gnomon.scheduler import Scheduler
from gnomon.views import event_view
from tests.api.conftest import START, Tokens, http_job

CANARY = "canary-v1ews-secret"


def _cli(db: Path, *args: str) -> object:
    done = CliRunner().invoke(app, ["--db", str(db), *args, "--json"])
    assert done.exit_code == 0, done.output
    return json.loads(done.output)


def test_cli_json_api_and_sse_show_the_same_masked_view(
    client: TestClient, tokens: Tokens, scheduler: Scheduler, tmp_path: Path
) -> None:
    a = tokens.header("admin")
    body = {
        **http_job(),
        "action": {
            "kind": "http",
            "config": {
                "url": "https://example.com/hook",
                "headers": {"Authorization": f"Bearer {CANARY}"},
            },
        },
        "policy": {"notify_urls": [f"json://user:{CANARY}@example.com/hook"]},
    }
    assert client.post("/api/v1/jobs", json=body, headers=a).status_code == 201
    run_id = client.post("/api/v1/jobs/hook/trigger", headers=a).json()["id"]
    scheduler.store.append_events(
        [
            Event(
                kind="device.failed",
                at=START,
                data={"error": f"mqtt://u:{CANARY}@h", "token": CANARY},
            )
        ]
    )
    db = tmp_path / "api.db"

    api_job = client.get("/api/v1/jobs/hook", headers=a).json()
    cli_job = _cli(db, "info", "hook")
    assert isinstance(cli_job, dict)
    assert {k: cli_job[k] for k in api_job} == api_job
    assert api_job["policy"]["notify_urls"] == ["json://***"]
    [listed] = _cli(db, "list")
    assert {k: listed[k] for k in api_job} == api_job  # with its last run and time left

    api_run = client.get(f"/api/v1/runs/{run_id}", headers=a).json()
    assert cli_job["recent_runs"] == [api_run]
    [history] = _cli(db, "history", "hook")
    assert {k: history[k] for k in api_run} == api_run  # with lateness, duration, losses

    stream = client.get("/api/v1/events", headers=a).text
    streamed = [json.loads(line[6:]) for line in stream.splitlines() if line.startswith("data: ")]
    assert streamed == [event_view(e) for e in scheduler.events()]
    assert streamed[-1]["data"] == {"error": "mqtt://u:***@h", "token": "***"}

    everything = json.dumps([cli_job, listed, history, api_job, api_run, streamed])
    assert CANARY not in everything
