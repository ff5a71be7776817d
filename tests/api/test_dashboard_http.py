"""S6 without a browser: CSRF (403), CSP and security headers, sign-in, scopes, escaping."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from gnomon.definitions import shell
from gnomon.scheduler import Scheduler
from gnomon.store.admin import list_audit
from gnomon.web.timeline import build_timeline
from tests.api.conftest import START, Tokens, make_client

XSS = "<img src=x onerror=alert(1)>"


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match
    return match.group(1)


def signed_in(scheduler: Scheduler, tokens: Tokens, scope: str) -> TestClient:
    client = make_client(scheduler, dashboard=True)
    page = client.get("/login")
    done = client.post(
        "/login",
        data={"token": tokens.secrets[scope], "csrf": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert done.status_code == 303
    return client


def test_pages_need_a_session(scheduler: Scheduler, tokens: Tokens) -> None:
    client = make_client(scheduler, dashboard=True)
    for path in ("/", "/jobs/new", "/audit", "/ui/events"):
        response = client.get(path, follow_redirects=False)
        assert (response.status_code, response.headers["location"]) == (303, "/login")
    page = client.get("/login")
    wrong = client.post("/login", data={"token": "gnm_a_b", "csrf": csrf_of(page.text)})
    assert wrong.status_code == 401
    assert "unknown or revoked token" in wrong.text


def test_post_without_csrf_is_403(scheduler: Scheduler, tokens: Tokens) -> None:
    scheduler.add("every 1h", shell(["true"]), id="job")
    client = signed_in(scheduler, tokens, "write")
    for data in ({}, {"csrf": "forged"}):
        response = client.post("/jobs/job/pause", data=data)
        assert response.status_code == 403
        assert "CSRF" in response.text
    assert scheduler.get("job").state.value == "active"
    token = csrf_of(client.get("/").text)
    assert client.post("/jobs/job/pause", data={"csrf": token}).status_code == 200
    assert scheduler.get("job").state.value == "paused"
    assert [e.action for e in list_audit(scheduler.store)] == ["job.pause"]


def test_read_scope_cannot_press_buttons(scheduler: Scheduler, tokens: Tokens) -> None:
    scheduler.add("every 1h", shell(["true"]), id="job")
    client = signed_in(scheduler, tokens, "read")
    page = client.get("/").text
    assert 'data-test="trigger"' not in page  # no buttons it may not press
    assert "read-token · read" in page
    token = csrf_of(page)
    assert client.post("/jobs/job/trigger", data={"csrf": token}).status_code == 403
    assert client.get("/jobs/new").status_code == 403


def test_every_page_has_a_strict_csp(scheduler: Scheduler, tokens: Tokens) -> None:
    scheduler.add("every 1h", shell(["true"]), id="job", name=XSS)
    scheduler.trigger("job")
    client = signed_in(scheduler, tokens, "admin")
    for path in ("/", "/?window=7d", "/jobs/job", "/jobs/new", "/audit", "/jobs/job/runs-fragment"):
        response = client.get(path)
        assert response.status_code == 200, path
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert XSS not in response.text, path
        assert "<script>" not in response.text
        assert not re.search(r"<[^>]*\son[a-z]+=", response.text), path  # no handler attributes
    assert "&lt;img src=x onerror=alert(1)&gt;" in client.get("/").text
    assert client.get("/api/v1/jobs").status_code == 401  # the cookie is not an API token


def test_create_form_reports_the_bad_field(scheduler: Scheduler, tokens: Tokens) -> None:
    client = signed_in(scheduler, tokens, "write")
    token = csrf_of(client.get("/jobs/new").text)
    form = {"csrf": token, "when": "every 5m", "kind": "shell", "command": "echo hi"}
    refused = client.post("/jobs/new", data=form)
    assert refused.status_code == 403  # shell needs admin
    bad = client.post("/jobs/new", data={**form, "kind": "http", "config": "{nope"})
    assert bad.status_code == 422
    assert "config: not valid JSON" in bad.text
    ok = client.post(
        "/jobs/new",
        data={**form, "kind": "http", "config": '{"url": "https://example.com"}', "id": "h"},
        follow_redirects=False,
    )
    assert (ok.status_code, ok.headers["location"]) == (303, "/jobs/h")


def test_open_mode_shows_the_banner(scheduler: Scheduler) -> None:
    client = make_client(scheduler, dashboard=True, open_access=True)
    assert "Open mode:" in client.get("/").text


def test_timeline_places_fires_in_the_window(scheduler: Scheduler) -> None:
    job = scheduler.add("0 */6 * * *", shell(["true"]), id="six")
    timeline = build_timeline([job], START, "24h")
    [row] = timeline.rows
    assert [m.at for m in row.marks] == [
        "2026-03-02T12:00:00Z",
        "2026-03-02T18:00:00Z",
        "2026-03-03T00:00:00Z",
        "2026-03-03T06:00:00Z",
    ]
    xs = [m.x for m in row.marks]
    assert xs == sorted(xs)
    assert timeline.chart_x < xs[0] < xs[-1] <= timeline.chart_end
    assert build_timeline([], START, "7d").rows == []
