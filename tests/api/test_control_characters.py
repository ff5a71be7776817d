"""A NUL or another control character in any path or query parameter is a 422, on SQLite and
on PostgreSQL (whose driver refuses NUL in text: it was a 500 there)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from gnomon.clock import FakeClock
from gnomon.definitions import python
from gnomon.scheduler import Scheduler
from tests.api.conftest import START, Tokens, make_client
from tests.api.test_dashboard_http import signed_in
from tests.servers import POSTGRES_URL, require

BAD = ["%00", "a%00b", "%1f", "x%0Ay", "%7f"]
WORKFLOW = {"when": "every 5m", "action": {"kind": "http", "config": {"url": "https://e.x/h"}}}
API_ROUTES = [
    ("GET", "/api/v1/jobs?search={}"),
    ("GET", "/api/v1/jobs?after={}"),
    ("GET", "/api/v1/jobs?state={}"),
    ("GET", "/api/v1/jobs/{}"),
    ("PATCH", "/api/v1/jobs/{}"),
    ("DELETE", "/api/v1/jobs/{}"),
    ("POST", "/api/v1/jobs/{}/pause"),
    ("POST", "/api/v1/jobs/{}/resume"),
    ("POST", "/api/v1/jobs/{}/trigger"),
    ("POST", "/api/v1/jobs/{}/backfill"),
    ("GET", "/api/v1/jobs/{}/runs"),
    ("GET", "/api/v1/jobs/hook/runs?status={}"),
    ("GET", "/api/v1/preview?when={}"),
    ("GET", "/api/v1/preview?when=every%205m&tz={}"),
    ("GET", "/api/v1/events?job_id={}"),
    ("GET", "/api/v1/audit?target={}"),
    ("GET", "/api/v1/workflows/{}/schedule"),
    ("PUT", "/api/v1/workflows/{}/schedule"),
    ("DELETE", "/api/v1/workflows/{}/schedule"),
    ("GET", "/api/v1/jobs?{}=1"),  # the name of a parameter, too
]
DASHBOARD_ROUTES = [
    ("GET", "/?q={}"),
    ("GET", "/?state={}"),
    ("GET", "/jobs/{}"),
    ("GET", "/jobs/{}/runs-fragment"),
    ("GET", "/ui/events?job_id={}"),
    ("GET", "/ui/preview?when={}"),
    ("POST", "/jobs/{}/pause"),
]


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def backend_scheduler(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Scheduler]:
    """A scheduler holding one job, on a fresh database of each backend."""
    if request.param == "sqlite":
        url = str(tmp_path_factory.mktemp("nul") / "nul.db")
        with Scheduler(url, clock=FakeClock(START), workers=1) as scheduler:
            scheduler.add("every 10m", python("gnomon.demo:hello"), id="hook")
            yield scheduler
        return
    require("postgres")
    base = make_url(POSTGRES_URL)
    dsn = base.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"gnomon_t_{secrets.token_hex(6)}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        url = base.set(database=name).render_as_string(hide_password=False)
        with Scheduler(url, clock=FakeClock(START), workers=1) as scheduler:
            scheduler.add("every 10m", python("gnomon.demo:hello"), id="hook")
            yield scheduler
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="module")
def tokens(backend_scheduler: Scheduler) -> Tokens:
    return Tokens(backend_scheduler)


def request(client: TestClient, method: str, url: str, headers: dict[str, str]) -> dict[str, str]:
    body = WORKFLOW if method in ("PUT", "PATCH") else None
    if url.endswith("/backfill"):
        body = {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"}
    response = client.request(method, url, json=body, headers=headers, follow_redirects=False)
    assert response.status_code == 422, f"{method} {url}: {response.status_code} {response.text}"
    error: dict[str, str] = response.json()
    assert error["code"] == "invalid_request"
    assert "control character" in error["message"]
    return error


@pytest.mark.parametrize(("method", "route"), API_ROUTES)
def test_api_routes(backend_scheduler: Scheduler, tokens: Tokens, method: str, route: str) -> None:
    with make_client(backend_scheduler) as client:
        for bad in BAD:
            request(client, method, route.format(bad), tokens.header("admin"))
        assert client.get("/api/v1/jobs/hook", headers=tokens.header("read")).status_code == 200


@pytest.mark.parametrize(("method", "route"), DASHBOARD_ROUTES)
def test_dashboard_routes(
    backend_scheduler: Scheduler, tokens: Tokens, method: str, route: str
) -> None:
    client = signed_in(backend_scheduler, tokens, "admin")
    for bad in BAD:
        request(client, method, route.format(bad), {})


def test_the_field_is_named(backend_scheduler: Scheduler, tokens: Tokens) -> None:
    with make_client(backend_scheduler) as client:
        error = request(client, "GET", "/api/v1/jobs?search=a%00b", tokens.header("read"))
    assert error["field"] == "search"
    assert error["message"] == "'search': 'a\\x00b' contains a control character"


def test_text_without_control_characters_still_works(
    backend_scheduler: Scheduler, tokens: Tokens, tmp_path: Path
) -> None:
    with make_client(backend_scheduler) as client:
        found = client.get("/api/v1/jobs?search=h%C3%B6%20k", headers=tokens.header("read"))
    assert found.status_code == 200
    assert found.json()["items"] == []
