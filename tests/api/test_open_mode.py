"""Issue 9: open mode (loopback, no token) serves the local user only.

A DNS-rebinding page (``Host: evil.example``) and cross-site pages (a foreign ``Origin`` or
``Referer``, or no Origin and nothing a page could not forge) are refused with 403 and change
nothing; the CLI-style client, the dashboard and a real server on 127.0.0.1 keep working.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from gnomon.api import serve_in_background
from gnomon.api.origin import is_local_host
from gnomon.models import ActionSpec
from gnomon.scheduler import Scheduler
from gnomon.store.admin import list_audit
from tests.api.conftest import LOCAL_URL, Tokens, http_job, make_client

EVIL = "https://evil.example"
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def open_client(scheduler: Scheduler) -> Iterator[TestClient]:
    """An open-mode app (no token exists) holding the active job ``job``."""
    scheduler.add("every 1h", ActionSpec(kind="http", config={"url": "https://x.org"}), id="job")
    with make_client(scheduler, open_access=True, dashboard=True) as client:
        yield client


def unchanged(scheduler: Scheduler) -> None:
    """The job is as it was: active, never run, nothing audited, nothing else stored."""
    assert [(j.id, j.state.value) for j in scheduler.list()] == [("job", "active")]
    assert scheduler.runs("job") == []
    assert list_audit(scheduler.store) == []


def assert_refused(response: httpx.Response, field: str) -> None:
    assert response.status_code == 403, response.text
    assert (response.json()["code"], response.json()["field"]) == ("forbidden", field)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/v1/jobs", None),
        ("POST", "/api/v1/jobs/job/pause", None),
        ("POST", "/api/v1/jobs", http_job("new")),
        ("DELETE", "/api/v1/jobs/job", None),
        ("GET", "/", None),
    ],
)
def test_a_rebinding_host_is_refused(
    open_client: TestClient, scheduler: Scheduler, method: str, path: str, body: object
) -> None:
    headers = {"Host": "evil.example:8321", **JSON}
    response = open_client.request(method, path, json=body, headers=headers)
    assert_refused(response, "Host")
    assert "evil.example:8321" in response.json()["message"]
    unchanged(scheduler)


@pytest.mark.parametrize("verb", ["trigger", "pause", "resume", "remove"])
def test_a_foreign_origin_cannot_change_anything(
    open_client: TestClient, scheduler: Scheduler, verb: str
) -> None:
    api = (
        ("DELETE", "/api/v1/jobs/job") if verb == "remove" else ("POST", f"/api/v1/jobs/job/{verb}")
    )
    for origin in ({"Origin": EVIL}, {"Origin": "null"}, {"Referer": f"{EVIL}/page"}):
        for extra in ({}, JSON, {"X-Requested-With": "x"}):  # no header makes it acceptable
            response = open_client.request(*api, headers={**origin, **extra})
            assert_refused(response, next(iter(origin)))
    created = open_client.post("/api/v1/jobs", json=http_job("new"), headers={"Origin": EVIL})
    assert_refused(created, "Origin")
    unchanged(scheduler)


@pytest.mark.parametrize("verb", ["trigger", "pause", "resume"])
def test_a_bodiless_post_without_origin_must_not_be_forgeable(
    open_client: TestClient, scheduler: Scheduler, verb: str
) -> None:
    """What an old browser's cross-site form could send: no Origin, no JSON, no custom header."""
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for headers in ({}, form, {"Content-Type": "text/plain"}, {"Referer": f"{LOCAL_URL}/"}):
        response = open_client.post(f"/api/v1/jobs/job/{verb}", headers=headers)
        assert_refused(response, "X-Requested-With")
    unchanged(scheduler)


def test_the_local_user_still_gets_through(open_client: TestClient, scheduler: Scheduler) -> None:
    assert open_client.post(
        "/api/v1/jobs/job/pause", headers={"X-Requested-With": "cli"}
    ).is_success
    assert open_client.post("/api/v1/jobs/job/resume", headers={"Origin": LOCAL_URL}).is_success
    assert open_client.post("/api/v1/jobs/job/trigger", headers=JSON).status_code == 201
    for host in ("localhost:8787", "127.0.0.1", "[::1]:8787", "127.0.0.2:9"):
        assert open_client.get("/api/v1/jobs", headers={"Host": host}).status_code == 200, host
    created = open_client.post("/api/v1/jobs", json=http_job("new"))  # httpx: JSON, no Origin
    assert created.status_code == 201
    assert [e.action for e in list_audit(scheduler.store)] == [
        "job.create",
        "job.trigger",
        "job.resume",
        "job.pause",
    ]


def test_the_dashboard_forms_work_in_open_mode_and_refuse_other_origins(
    open_client: TestClient, scheduler: Scheduler
) -> None:
    page = open_client.get("/jobs/job").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf
    data = {"csrf": csrf.group(1)}
    foreign = open_client.post("/jobs/job/pause", data=data, headers={"Origin": EVIL})
    assert foreign.status_code == 403
    unchanged(scheduler)
    ok = open_client.post(
        "/jobs/job/pause", data=data, headers={"Origin": LOCAL_URL}, follow_redirects=False
    )
    assert ok.status_code == 303
    assert scheduler.get("job").state.value == "paused"
    without_csrf = open_client.post("/jobs/job/resume", headers={"Origin": LOCAL_URL})
    assert without_csrf.status_code == 403  # the forms' own CSRF token is still required
    assert scheduler.get("job").state.value == "paused"


def test_tokens_mode_refuses_foreign_origins_but_not_other_hosts(
    scheduler: Scheduler, tokens: Tokens
) -> None:
    """With tokens the Host is not checked (a rebinding page has no token, and a reverse
    proxy may use any name), but a browser request from another origin still changes nothing."""
    scheduler.add("every 1h", ActionSpec(kind="http", config={"url": "https://x.org"}), id="job")
    with make_client(scheduler) as client:
        write = tokens.header("write")
        refused = client.post("/api/v1/jobs/job/pause", headers={**write, "Origin": EVIL})
        assert_refused(refused, "Origin")
        assert scheduler.get("job").state.value == "active"
        proxied = client.post("/api/v1/jobs/job/pause", headers={**write, "Host": "gnomon.example"})
        assert proxied.status_code == 200  # no Origin: not a browser; a bodiless POST is fine
        same = {**write, "Host": "gnomon.example", "Origin": "https://gnomon.example"}
        assert client.post("/api/v1/jobs/job/resume", headers=same).status_code == 200
        behind_proxy = {
            **write,
            "Host": "127.0.0.1:8787",
            "Origin": "https://gnomon.example",
            "X-Forwarded-Host": "gnomon.example",
        }
        assert client.post("/api/v1/jobs/job/pause", headers=behind_proxy).status_code == 200
        forged = {**behind_proxy, "Origin": EVIL}
        assert_refused(client.post("/api/v1/jobs/job/resume", headers=forged), "Origin")
        assert scheduler.get("job").state.value == "paused"


def test_a_real_open_mode_server_refuses_rebinding(scheduler: Scheduler) -> None:
    scheduler.add("every 1h", ActionSpec(kind="http", config={"url": "https://x.org"}), id="job")
    server = serve_in_background(scheduler, "127.0.0.1", 0, rate_limit=None)
    try:
        assert server.open_mode
        with httpx.Client(base_url=server.url, timeout=10) as client:
            rebound = client.post("/api/v1/jobs/job/pause", headers={"Host": "evil.example:8321"})
            assert_refused(rebound, "Host")
            cross = client.post("/api/v1/jobs/job/pause", headers={"Origin": EVIL, **JSON})
            assert_refused(cross, "Origin")
            assert scheduler.get("job").state.value == "active"
            mine = client.post("/api/v1/jobs/job/pause", headers={"X-Requested-With": "test"})
            assert mine.status_code == 200
    finally:
        server.stop()
    assert scheduler.get("job").state.value == "paused"


def test_local_hosts() -> None:
    local = ["localhost", "LOCALHOST:1", "127.0.0.1:8787", "127.1.2.3", "[::1]", "[::1]:8787"]
    foreign = [
        "evil.example",
        "127.0.0.1.nip.io",
        "localhost.evil.example",
        "[::2]",
        "",
        "0.0.0.0:8787",
        "10.0.0.1",
        "[::1",
    ]
    assert all(is_local_host(h) for h in local)
    assert not any(is_local_host(h) for h in foreign)
