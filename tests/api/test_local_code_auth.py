"""Issue 9: every action that starts a process or loads code here needs the ``admin`` scope.

The matrix: every known action kind (built-ins and the installed example plugin) x every face
that creates or changes a job (POST, PATCH, a step of a sequence, the workflow schedule, the
dashboard form) x the scopes read, write and admin. A refused request changes nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from gnomon.actions.registry import known_kinds, runs_local_code
from gnomon.models import ActionSpec
from gnomon.scheduler import Scheduler
from tests.api.conftest import Tokens, make_client


@dataclass(frozen=True)
class Case:
    id: str
    kind: str
    config: dict[str, Any]
    local: bool  # starts a process or loads code on this host


STDIO = {"command": ["true"]}
CASES = [
    Case("shell", "shell", {"argv": ["true"]}, local=True),
    Case("python", "python", {"ref": "gnomon.demo:hello"}, local=True),
    Case("mcp-stdio", "mcp", {"server": STDIO, "tool": "add"}, local=True),
    Case(
        "plugin-backup",
        "backup",
        {"command": "prune", "args": {"target": "b", "keep": 1}},
        local=True,
    ),
    Case("http", "http", {"url": "https://example.com/hook"}, local=False),
    Case("mqtt", "mqtt", {"topic": "gnomon/test", "payload": "hi"}, local=False),
    Case("notify", "notify", {"urls": ["json://127.0.0.1:9/hook"], "body": "hi"}, local=False),
    Case("amqp", "amqp", {"url": "amqp://127.0.0.1/", "queue": "q", "json": 1}, local=False),
    Case("redis", "redis", {"url": "redis://127.0.0.1/", "list": "l", "json": 1}, local=False),
    Case("celery", "celery", {"task": "app.add", "broker": "redis://127.0.0.1/"}, local=False),
    Case(
        "mcp-http", "mcp", {"server": {"url": "http://127.0.0.1:9/mcp"}, "tool": "add"}, local=False
    ),
    Case("mcp-vetted-stdio", "mcp", {"server_name": "vetted", "tool": "add"}, local=False),
    Case(
        "sequence-of-http",
        "sequence",
        {"steps": [{"id": "a", "action": {"kind": "http", "config": {"url": "https://x.org"}}}]},
        local=False,
    ),
]
ROUTES = ["create", "patch", "sequence-step", "workflow", "dashboard-form"]
CREATED = {
    "create": 201,
    "patch": 200,
    "sequence-step": 201,
    "workflow": 201,
    "dashboard-form": 303,
}
WORKFLOW_KINDS = {"http", "amqp", "redis", "celery"}


def test_every_known_kind_is_in_the_matrix() -> None:
    """A new kind (built-in or installed plugin) must be added to CASES: no kind slips past."""
    assert set(known_kinds()) <= {c.kind for c in CASES}
    assert "backup" in known_kinds()  # the example plugin is installed by dev.py


@pytest.fixture(autouse=True)
def vetted_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """The operator's list names one stdio server, ``vetted``."""
    monkeypatch.setenv("GNOMON_MCP_SERVERS", json.dumps({"vetted": STDIO}))


@pytest.fixture
def app_client(scheduler: Scheduler, tokens: Tokens) -> Iterator[TestClient]:
    seed = ActionSpec(kind="http", config={"url": "https://example.com/seed"})
    scheduler.add("every 1h", seed, id="target")
    with make_client(scheduler, dashboard=True) as client:
        yield client


def form_client(scheduler: Scheduler, tokens: Tokens, scope: str) -> tuple[TestClient, str]:
    """A dashboard session signed in with the ``scope`` token, and its CSRF token."""
    client = make_client(scheduler, dashboard=True)
    csrf = _csrf(client.get("/login").text)
    signed = client.post(
        "/login", data={"token": tokens.secrets[scope], "csrf": csrf}, follow_redirects=False
    )
    assert signed.status_code == 303
    return client, _csrf(client.get("/").text)


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match
    return match.group(1)


def attempt(
    client: TestClient, scheduler: Scheduler, tokens: Tokens, route: str, scope: str, case: Case
) -> Response:
    action = {"kind": case.kind, "config": case.config}
    job = {"id": f"{case.id}-{scope}", "when": "every 10m", "action": action}
    auth = tokens.header(scope)
    if route == "create":
        return client.post("/api/v1/jobs", json=job, headers=auth)
    if route == "patch":
        return client.patch("/api/v1/jobs/target", json={"action": action}, headers=auth)
    if route == "sequence-step":
        step = {"id": "only", "action": action}
        wrapped = {**job, "action": {"kind": "sequence", "config": {"steps": [step]}}}
        return client.post("/api/v1/jobs", json=wrapped, headers=auth)
    if route == "workflow":
        body = {"when": "every 10m", "action": action}
        return client.put(f"/api/v1/workflows/{case.id}-{scope}/schedule", json=body, headers=auth)
    session, csrf = form_client(scheduler, tokens, scope)
    form = {
        "csrf": csrf,
        "when": "every 10m",
        "id": job["id"],
        "kind": case.kind,
        "config": json.dumps(case.config),
    }
    return session.post("/jobs/new", data=form, follow_redirects=False)


def expected(route: str, scope: str, case: Case) -> int:
    if scope == "read":
        return 403
    if route == "workflow" and case.kind not in WORKFLOW_KINDS:
        return 422  # a workflow schedule is http, amqp, redis or celery (none runs local code)
    return 403 if scope == "write" and case.local else CREATED[route]


def stored_actions(scheduler: Scheduler) -> dict[str, Any]:
    return {job.id: job.action.to_json() for job in scheduler.list(limit=1000)}


MATRIX = [
    (c, r) for c in CASES for r in ROUTES if not (r == "sequence-step" and c.kind == "sequence")
]


@pytest.mark.parametrize(("case", "route"), MATRIX, ids=[f"{c.id}-{r}" for c, r in MATRIX])
def test_local_code_needs_admin_on_every_route(
    app_client: TestClient, scheduler: Scheduler, tokens: Tokens, case: Case, route: str
) -> None:
    for scope in ("read", "write", "admin"):
        before = stored_actions(scheduler)
        response = attempt(app_client, scheduler, tokens, route, scope, case)
        want = expected(route, scope, case)
        assert response.status_code == want, f"{scope}: {response.text[:300]}"
        if want >= 400:
            assert stored_actions(scheduler) == before, f"{scope}: a refused request changed jobs"
        if want == 403 and scope == "write" and route != "dashboard-form":
            problem = response.json()
            assert problem["field"] == "action"
            assert "'admin' scope" in problem["message"]
        if want == 403 and route == "dashboard-form" and scope == "write":
            assert "admin" in response.text


def test_the_kinds_declare_what_they_run() -> None:
    """The one decision, asked directly: declared by each kind, recursively for sequences."""
    for case in CASES:
        assert runs_local_code(case.kind, case.config) is case.local, case.id
    for case in CASES:
        if case.kind != "sequence":
            step = {"id": "s", "action": {"kind": case.kind, "config": case.config}}
            assert runs_local_code("sequence", {"steps": [step]}) is case.local, case.id
    deep = {
        "steps": [
            {"id": "ok", "action": {"kind": "http", "config": {"url": "https://x.org"}}},
            {
                "id": "x",
                "action": {
                    "kind": "sequence",
                    "config": {
                        "steps": [
                            {"id": "y", "action": {"kind": "shell", "config": {"argv": ["id"]}}}
                        ]
                    },
                },
            },
        ]
    }
    assert runs_local_code("sequence", deep)
    assert runs_local_code("sequence", {"steps": "not a list"})  # malformed: assume the worst
    assert runs_local_code("mcp", {"tool": "add"})  # no server at all: assume the worst
    assert runs_local_code("mcp", {"server": {"url": "http://x.org", "command": ["id"]}})


PLUGIN = """
from gnomon.models import Outcome


class Undeclared:
    kind = "undeclared"
    secret_fields = frozenset()

    def validate(self, config):
        return dict(config)

    def execute(self, config, ctx):
        return Outcome.success(None)


class DeclaredSafe(Undeclared):
    def runs_local_code(self, config):
        return False


class Evasive(Undeclared):
    def runs_local_code(self, config):
        return 0  # falsy, but not the declared answer False


class Broken(Undeclared):
    def runs_local_code(self, config):
        raise RuntimeError("no idea")
"""


@pytest.fixture
def new_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A freshly installed plugin registering four kinds in the ``gnomon.actions`` group."""
    (tmp_path / "issue9_plugin.py").write_text(PLUGIN)
    meta = tmp_path / "issue9_plugin-0.1.dist-info"
    meta.mkdir()
    (meta / "METADATA").write_text("Metadata-Version: 2.1\nName: issue9-plugin\nVersion: 0.1\n")
    (meta / "entry_points.txt").write_text(
        "[gnomon.actions]\n"
        "issue9_undeclared = issue9_plugin:Undeclared\n"
        "issue9_safe = issue9_plugin:DeclaredSafe\n"
        "issue9_evasive = issue9_plugin:Evasive\n"
        "issue9_broken = issue9_plugin:Broken\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))


@pytest.mark.parametrize(
    ("kind", "local"),
    [
        ("issue9_undeclared", True),
        ("issue9_evasive", True),
        ("issue9_broken", True),
        ("issue9_safe", False),
    ],
)
def test_a_new_plugin_kind_is_local_code_unless_it_declares_otherwise(
    new_plugin: None,
    client: TestClient,
    scheduler: Scheduler,
    tokens: Tokens,
    kind: str,
    local: bool,
) -> None:
    assert kind in known_kinds()
    job = {"id": "p", "when": "every 10m", "action": {"kind": kind, "config": {"x": 1}}}
    write = client.post("/api/v1/jobs", json=job, headers=tokens.header("write"))
    assert write.status_code == (403 if local else 201), write.text
    if local:
        assert scheduler.list() == []
        admin = client.post("/api/v1/jobs", json=job, headers=tokens.header("admin"))
        assert admin.status_code == 201, admin.text


def test_an_unknown_kind_is_refused_as_invalid_not_guessed(
    client: TestClient, tokens: Tokens
) -> None:
    job = {"id": "p", "when": "every 10m", "action": {"kind": "nosuchkind", "config": {}}}
    response = client.post("/api/v1/jobs", json=job, headers=tokens.header("write"))
    assert (response.status_code, response.json()["field"]) == (422, "action")
    assert "unknown action kind 'nosuchkind'" in response.json()["message"]


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_vetted_servers_may_come_from_a_file(
    client: TestClient,
    tokens: Tokens,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    suffix: str,
) -> None:
    path = tmp_path / f"servers{suffix}"
    if suffix == ".yaml":
        path.write_text("vetted_from_file:\n  command: [uvx, mcp-server-time]\n")
    else:
        path.write_text(json.dumps({"vetted_from_file": {"command": ["uvx", "mcp-server-time"]}}))
    monkeypatch.setenv("GNOMON_MCP_SERVERS", str(path))
    config = {"server_name": "vetted_from_file", "tool": "get_current_time"}
    job = {"id": "t", "when": "every 10m", "action": {"kind": "mcp", "config": config}}
    response = client.post("/api/v1/jobs", json=job, headers=tokens.header("write"))
    assert response.status_code == 201, response.text


def test_an_unreadable_server_list_is_one_clear_line(
    client: TestClient, tokens: Tokens, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GNOMON_MCP_SERVERS", str(tmp_path / "missing.yaml"))
    config = {"server_name": "x", "tool": "t"}
    job = {"id": "t", "when": "every 10m", "action": {"kind": "mcp", "config": config}}
    response = client.post("/api/v1/jobs", json=job, headers=tokens.header("admin"))
    assert (response.status_code, response.json()["field"]) == (422, "action")
    assert "GNOMON_MCP_SERVERS: cannot read" in response.json()["message"]
