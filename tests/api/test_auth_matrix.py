"""S2: every route but health needs a token; 401 without one, 403 with too small a scope."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from gnomon.clock import FakeClock
from gnomon.scheduler import Scheduler
from tests.api.conftest import START, Tokens, http_job

WORKFLOW = {
    "when": "every 1h",
    "action": {"kind": "http", "config": {"url": "https://example.com/wf"}},
}
PAST = {"start": "2026-03-01T00:00:00Z", "end": "2026-03-01T01:00:00Z"}
# (method, path, json body, scope needed, success status)
ROUTES: list[tuple[str, str, Any, str, int]] = [
    ("GET", "/api/v1/jobs", None, "read", 200),
    ("POST", "/api/v1/jobs", http_job("new"), "write", 201),
    ("GET", "/api/v1/jobs/hook", None, "read", 200),
    ("PATCH", "/api/v1/jobs/hook", {"name": "renamed"}, "write", 200),
    ("POST", "/api/v1/jobs/hook/pause", None, "write", 200),
    ("POST", "/api/v1/jobs/hook/resume", None, "write", 200),
    ("POST", "/api/v1/jobs/hook/trigger", None, "write", 201),
    ("POST", "/api/v1/jobs/hook/backfill", PAST, "write", 201),
    ("GET", "/api/v1/jobs/hook/runs", None, "read", 200),
    ("GET", "/api/v1/runs/1", None, "read", 200),
    ("DELETE", "/api/v1/jobs/hook", None, "write", 204),
    ("GET", "/api/v1/preview?when=every+5m", None, "read", 200),
    ("GET", "/api/v1/events", None, "read", 200),
    ("GET", "/api/v1/audit", None, "read", 200),
    ("GET", "/metrics", None, "read", 200),
    ("PUT", "/api/v1/workflows/etl/schedule", WORKFLOW, "write", 201),
    ("GET", "/api/v1/workflows/etl/schedule", None, "read", 200),
    ("DELETE", "/api/v1/workflows/etl/schedule", None, "write", 204),
    (
        "POST",
        "/api/v1/jobs",
        {**http_job("sh"), "action": {"kind": "shell", "config": {"argv": ["true"]}}},
        "admin",
        201,
    ),
]
IDS = [f"{m} {p.split('?')[0]} ({s})" for m, p, _, s, _ in ROUTES]
LOWER = {"read": None, "write": "read", "admin": "write"}


@pytest.fixture
def seeded(
    client: TestClient, scheduler: Scheduler, tokens: Tokens, clock: FakeClock
) -> TestClient:
    """A job ``hook`` with one run, and the workflow schedule ``etl``."""
    assert (
        client.post("/api/v1/jobs", json=http_job(), headers=tokens.header("write")).status_code
        == 201
    )
    scheduler.trigger("hook")
    clock.advance(1)
    put = client.put(
        "/api/v1/workflows/etl/schedule", json=WORKFLOW, headers=tokens.header("write")
    )
    assert put.status_code == 201
    scheduler.remove("workflow:etl")  # the PUT route itself must create it
    return client


@pytest.mark.parametrize(("method", "path", "body", "scope", "ok"), ROUTES, ids=IDS)
def test_route_needs_a_token(
    seeded: TestClient, method: str, path: str, body: Any, scope: str, ok: int
) -> None:
    response = seeded.request(method, path, json=body)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"
    bad = seeded.request(method, path, json=body, headers={"Authorization": "Bearer gnm_x_y"})
    assert bad.status_code == 401
    assert bad.json()["message"] == "unknown or revoked token"


SCOPED = [(r, i) for r, i in zip(ROUTES, IDS, strict=True) if LOWER[r[3]] is not None]


@pytest.mark.parametrize(  # read is the smallest scope: only write/admin routes have a lower one
    ("method", "path", "body", "scope", "ok"), [r for r, _ in SCOPED], ids=[i for _, i in SCOPED]
)
def test_route_refuses_a_smaller_scope(
    seeded: TestClient, tokens: Tokens, method: str, path: str, body: Any, scope: str, ok: int
) -> None:
    lower = LOWER[scope]
    assert lower is not None
    response = seeded.request(method, path, json=body, headers=tokens.header(lower))
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert scope in response.json()["message"]


@pytest.mark.parametrize(("method", "path", "body", "scope", "ok"), ROUTES, ids=IDS)
def test_route_succeeds_with_its_scope(
    seeded: TestClient, tokens: Tokens, method: str, path: str, body: Any, scope: str, ok: int
) -> None:
    if path.endswith("/schedule") and method != "PUT":
        seeded.put("/api/v1/workflows/etl/schedule", json=WORKFLOW, headers=tokens.header("write"))
    response = seeded.request(method, path, json=body, headers=tokens.header(scope))
    assert response.status_code == ok, response.text


def test_health_needs_no_token(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_revoked_token_is_refused(client: TestClient, scheduler: Scheduler, tokens: Tokens) -> None:
    from gnomon.store.admin import revoke_token

    assert client.get("/api/v1/jobs", headers=tokens.header("read")).status_code == 200
    assert revoke_token(scheduler.store, "read-token", START)
    assert client.get("/api/v1/jobs", headers=tokens.header("read")).status_code == 401


def test_a_sequence_holding_a_shell_step_needs_admin(client: TestClient, tokens: Tokens) -> None:
    body = {
        **http_job("seq"),
        "action": {
            "kind": "sequence",
            "config": {
                "steps": [{"id": "s", "action": {"kind": "shell", "config": {"argv": ["true"]}}}]
            },
        },
    }
    response = client.post("/api/v1/jobs", json=body, headers=tokens.header("write"))
    assert response.status_code == 403
    assert response.json()["field"] == "action"


def test_patching_in_a_shell_action_needs_admin(client: TestClient, tokens: Tokens) -> None:
    client.post("/api/v1/jobs", json=http_job(), headers=tokens.header("write"))
    patch = {"action": {"kind": "shell", "config": {"argv": ["id"]}}}
    response = client.patch("/api/v1/jobs/hook", json=patch, headers=tokens.header("write"))
    assert response.status_code == 403
    assert (
        client.patch("/api/v1/jobs/hook", json=patch, headers=tokens.header("admin")).status_code
        == 200
    )
