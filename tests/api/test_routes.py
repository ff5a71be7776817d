"""Behaviour of each route: success bodies, 404, 422 with a clear message, audit rows."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from gnomon.clock import FakeClock
from gnomon.scheduler import Scheduler
from gnomon.store.admin import list_audit
from tests.api.conftest import Tokens, http_job


@pytest.fixture
def w(tokens: Tokens) -> dict[str, str]:
    return tokens.header("write")


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        (http_job(when="every blue moon"), "when", "cannot read schedule"),
        (http_job(when="0 9 * * 1-5", tz="Mars/Olympus"), "when", "unknown time zone"),
        (http_job(when="2020-01-01T00:00:00Z"), "when", "in the past"),
        ({**http_job(), "action": {"kind": "teleport", "config": {}}}, "action", "unknown action"),
        ({**http_job(), "action": {"kind": "http", "config": {}}}, "action", "url"),
        ({**http_job(), "policy": {"misfire": "sometimes"}}, "policy.misfire", "misfire"),
        ({**http_job(), "policy": {"max_attempts": 0}}, "policy.max_attempts", "greater"),
        ({**http_job(), "id": "no spaces please"}, None, "job id"),
        ({"when": "every 5m"}, "action", "Field required"),
        ({**http_job(), "colour": "blue"}, "colour", "Extra inputs"),
    ],
)
def test_create_refuses_bad_specs_naming_the_field(
    client: TestClient, w: dict[str, str], body: dict[str, object], field: str | None, words: str
) -> None:
    response = client.post("/api/v1/jobs", json=body, headers=w)
    assert response.status_code == 422, response.text
    error = response.json()
    assert error["code"] in ("invalid_spec", "invalid_request")
    assert error["field"] == field
    assert words.lower() in error["message"].lower()
    if field:
        assert error["message"].startswith(field.split(".")[0])


def test_create_get_update_delete(client: TestClient, w: dict[str, str]) -> None:
    created = client.post("/api/v1/jobs", json=http_job(name="Hook"), headers=w)
    assert created.status_code == 201
    assert created.json()["when"] == "Every 10 minutes"
    assert created.json()["next_fire_at"] == "2026-03-02T08:10:00Z"
    assert client.get("/api/v1/jobs/hook", headers=w).json()["name"] == "Hook"
    patched = client.patch(
        "/api/v1/jobs/hook",
        json={"when": "0 9 * * 1-5", "tz": "Europe/Berlin", "policy": {"max_attempts": 3}},
        headers=w,
    )
    assert patched.status_code == 200
    assert patched.json()["when"].startswith("At 09:00, Monday through Friday")
    assert patched.json()["policy"]["max_attempts"] == 3
    assert patched.json()["next_fire_at"] == "2026-03-03T08:00:00Z"  # 09:00 in Berlin (CET)
    again = client.post("/api/v1/jobs", json=http_job(), headers=w)
    assert again.status_code == 409
    assert again.json()["code"] == "conflict"
    assert client.delete("/api/v1/jobs/hook", headers=w).status_code == 204
    assert client.get("/api/v1/jobs/hook", headers=w).status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/jobs/nope"),
        ("PATCH", "/api/v1/jobs/nope"),
        ("DELETE", "/api/v1/jobs/nope"),
        ("POST", "/api/v1/jobs/nope/pause"),
        ("POST", "/api/v1/jobs/nope/resume"),
        ("POST", "/api/v1/jobs/nope/trigger"),
        ("POST", "/api/v1/jobs/nope/backfill"),
        ("GET", "/api/v1/jobs/nope/runs"),
        ("GET", "/api/v1/runs/999"),
        ("GET", "/api/v1/workflows/nope/schedule"),
        ("DELETE", "/api/v1/workflows/nope/schedule"),
        ("GET", "/api/v1/no-such-route"),
    ],
)
def test_unknown_ids_are_404(client: TestClient, tokens: Tokens, method: str, path: str) -> None:
    body = {"start": "2026-03-01T00:00:00Z", "end": "2026-03-01T01:00:00Z"}
    json = body if path.endswith("backfill") else {"name": "x"} if method == "PATCH" else None
    response = client.request(method, path, json=json, headers=tokens.header("write"))
    assert response.status_code == 404, response.text
    assert response.json()["code"] == "not_found"


def test_list_paginates(client: TestClient, scheduler: Scheduler, w: dict[str, str]) -> None:
    for n in range(7):
        client.post("/api/v1/jobs", json=http_job(f"job-{n}"), headers=w)
    first = client.get("/api/v1/jobs?limit=3", headers=w).json()
    assert [j["id"] for j in first["items"]] == ["job-0", "job-1", "job-2"]
    assert first["next_offset"] == 3
    last = client.get("/api/v1/jobs?limit=3&offset=6", headers=w).json()
    assert [j["id"] for j in last["items"]] == ["job-6"]
    assert last["next_offset"] is None
    cursor = client.get("/api/v1/jobs?limit=3&after=job-2", headers=w).json()
    assert [j["id"] for j in cursor["items"]] == ["job-3", "job-4", "job-5"]
    assert (cursor["next_after"], cursor["next_offset"]) == ("job-5", None)
    end = client.get("/api/v1/jobs?limit=3&after=job-5", headers=w).json()
    assert ([j["id"] for j in end["items"]], end["next_after"]) == (["job-6"], None)
    found = client.get("/api/v1/jobs?search=job-4", headers=w).json()["items"]
    assert [j["id"] for j in found] == ["job-4"]
    client.post("/api/v1/jobs/job-5/pause", headers=w)
    paused = client.get("/api/v1/jobs?state=paused", headers=w).json()["items"]
    assert [j["id"] for j in paused] == ["job-5"]
    assert client.get("/api/v1/jobs?limit=501", headers=w).json()["field"] == "limit"


def test_pause_resume_trigger_and_run_detail(
    client: TestClient, scheduler: Scheduler, clock: FakeClock, w: dict[str, str]
) -> None:
    client.post("/api/v1/jobs", json=http_job(), headers=w)
    paused = client.post("/api/v1/jobs/hook/pause", headers=w).json()
    assert (paused["state"], paused["next_fire_at"]) == ("paused", None)
    clock.advance(3600)
    resumed = client.post("/api/v1/jobs/hook/resume", headers=w).json()
    assert resumed["state"] == "active"
    assert resumed["next_fire_at"] == "2026-03-02T09:10:00Z"
    run = client.post("/api/v1/jobs/hook/trigger", headers=w).json()
    assert (run["reason"], run["status"]) == ("manual", "pending")
    runs = client.get("/api/v1/jobs/hook/runs", headers=w).json()["items"]
    assert runs[0]["id"] == run["id"]  # newest first
    assert {r["status"] for r in runs[1:]} <= {"missed"}  # fires that fell in the pause
    manual = client.get("/api/v1/jobs/hook/runs?status=pending", headers=w).json()["items"]
    assert [r["id"] for r in manual] == [run["id"]]
    detail = client.get(f"/api/v1/runs/{run['id']}", headers=w).json()
    assert detail["output"] == ""
    second = client.post("/api/v1/jobs/hook/trigger", headers=w)  # same instant: its own fire
    assert second.status_code == 201
    assert second.json()["id"] != run["id"]


def test_backfill_records_past_fires_once(
    client: TestClient, clock: FakeClock, w: dict[str, str]
) -> None:
    client.post("/api/v1/jobs", json=http_job(when="*/15 * * * *"), headers=w)
    clock.advance(7200)  # now 10:00
    body = {"start": "2026-03-02T08:00:00Z", "end": "2026-03-02T09:00:00Z"}
    done = client.post("/api/v1/jobs/hook/backfill", json=body, headers=w)
    assert done.status_code == 201
    fires = [r["scheduled_for"] for r in done.json()["runs"]]
    assert fires == [f"2026-03-02T08:{m:02d}:00Z" for m in (0, 15, 30, 45)]
    assert {r["reason"] for r in done.json()["runs"]} == {"backfill"}
    again = client.post("/api/v1/jobs/hook/backfill", json=body, headers=w).json()
    assert (again["runs"], again["already_recorded"]) == ([], 4)
    future = {"start": "2026-03-02T09:00:00Z", "end": "2026-03-02T11:00:00Z"}
    late = client.post("/api/v1/jobs/hook/backfill", json=future, headers=w)
    assert (late.status_code, late.json()["field"]) == (422, "end")
    wide = {**body, "max_fires": 2}
    assert client.post("/api/v1/jobs/hook/backfill", json=wide, headers=w).json()["field"] == (
        "max_fires"
    )
    naive = {"start": "2026-03-02T08:00:00", "end": "2026-03-02T09:00:00Z"}
    assert client.post("/api/v1/jobs/hook/backfill", json=naive, headers=w).status_code == 422


def test_preview_describes_without_saving(client: TestClient, tokens: Tokens) -> None:
    r = tokens.header("read")
    got = client.get("/api/v1/preview", params={"when": "0 9 * * 1-5", "count": 3}, headers=r)
    assert got.json() == {
        "description": "At 09:00, Monday through Friday",
        "tz": "UTC",
        "fires": ["2026-03-02T09:00:00Z", "2026-03-03T09:00:00Z", "2026-03-04T09:00:00Z"],
    }
    bad = client.get("/api/v1/preview", params={"when": "whenever"}, headers=r)
    assert (bad.status_code, bad.json()["field"]) == (422, "when")
    assert client.get("/api/v1/jobs", headers=r).json()["items"] == []


def test_workflow_schedule_put_get_delete(client: TestClient, w: dict[str, str]) -> None:
    body = {"when": "0 2 * * *", "action": {"kind": "http", "config": {"url": "https://wf/run"}}}
    created = client.put("/api/v1/workflows/etl-7/schedule", json=body, headers=w)
    assert created.status_code == 201
    assert created.json()["job"]["id"] == "workflow:etl-7"
    replaced = client.put(
        "/api/v1/workflows/etl-7/schedule", json={**body, "when": "0 3 * * *"}, headers=w
    )
    assert replaced.status_code == 200
    got = client.get("/api/v1/workflows/etl-7/schedule", headers=w).json()
    assert got["job"]["when"].startswith("At 03:00")
    shell = {**body, "action": {"kind": "shell", "config": {"argv": ["true"]}}}
    refused = client.put("/api/v1/workflows/x/schedule", json=shell, headers=w)
    assert (refused.status_code, refused.json()["field"]) == (422, "action")
    assert client.delete("/api/v1/workflows/etl-7/schedule", headers=w).status_code == 204
    assert client.get("/api/v1/workflows/etl-7/schedule", headers=w).status_code == 404


def test_every_mutating_call_is_audited(
    client: TestClient, scheduler: Scheduler, clock: FakeClock, w: dict[str, str]
) -> None:
    client.post("/api/v1/jobs", json=http_job(), headers=w)
    client.patch("/api/v1/jobs/hook", json={"name": "renamed"}, headers=w)
    client.post("/api/v1/jobs/hook/pause", headers=w)
    client.post("/api/v1/jobs/hook/resume", headers=w)
    client.post("/api/v1/jobs/hook/trigger", headers=w)
    clock.advance(3600)
    past = {"start": "2026-03-02T08:00:00Z", "end": "2026-03-02T08:30:00Z"}
    client.post("/api/v1/jobs/hook/backfill", json=past, headers=w)
    client.delete("/api/v1/jobs/hook", headers=w)
    wf = {"when": "every 1h", "action": {"kind": "http", "config": {"url": "https://wf/x"}}}
    client.put("/api/v1/workflows/a/schedule", json=wf, headers=w)
    client.put("/api/v1/workflows/a/schedule", json=wf, headers=w)
    client.delete("/api/v1/workflows/a/schedule", headers=w)
    entries = list(reversed(list_audit(scheduler.store)))
    assert [e.action for e in entries] == [
        "job.create",
        "job.update",
        "job.pause",
        "job.resume",
        "job.trigger",
        "job.backfill",
        "job.remove",
        "workflow.schedule.create",
        "workflow.schedule.replace",
        "workflow.schedule.remove",
    ]
    assert {e.actor for e in entries} == {"token:write-token"}
    assert entries[1].diff == {"before": {"name": "http hook"}, "after": {"name": "renamed"}}
    page = client.get("/api/v1/audit", params={"target": "job:hook", "limit": 2}, headers=w)
    assert [e["action"] for e in page.json()["items"]] == ["job.remove", "job.backfill"]
    older = client.get(
        "/api/v1/audit",
        params={"target": "job:hook", "before_id": page.json()["next_before_id"]},
        headers=w,
    )
    assert older.json()["items"][0]["action"] == "job.trigger"


def test_secrets_never_leave_the_api(client: TestClient, tokens: Tokens) -> None:
    canary = "canary-5ec2et-value"
    body = {
        **http_job(),
        "action": {
            "kind": "http",
            "config": {
                "url": "https://example.com/hook",
                "headers": {"Authorization": f"Bearer {canary}"},
            },
        },
        "policy": {"notify_urls": [f"json://user:{canary}@example.com/hook"]},
    }
    a = tokens.header("admin")
    assert client.post("/api/v1/jobs", json=body, headers=a).status_code == 201
    for path in ("/api/v1/jobs", "/api/v1/jobs/hook", "/api/v1/audit", "/api/v1/events"):
        text = client.get(path, headers=a).text
        assert canary not in text, path
        assert "***" in text or path == "/api/v1/events"


def test_events_stream_as_sse(client: TestClient, tokens: Tokens, w: dict[str, str]) -> None:
    client.post("/api/v1/jobs", json=http_job(), headers=w)
    client.post("/api/v1/jobs/hook/trigger", headers=w)
    stream = client.get("/api/v1/events", headers=tokens.header("read"))
    assert stream.headers["content-type"].startswith("text/event-stream")
    blocks = [b for b in stream.text.split("\n\n") if b.startswith("id:")]
    assert [b.splitlines()[1] for b in blocks] == ["event: job.created", "event: job.triggered"]
    after = client.get(
        "/api/v1/events", headers={**tokens.header("read"), "Last-Event-ID": "1"}
    ).text
    assert "job.created" not in after
    assert "job.triggered" in after
