"""``gnomon up --broker`` on the real PostgreSQL and Redis: its children (scheduler, worker,
API) run a job created through the API, the run is executed by the Celery worker, and a
SIGTERM to ``gnomon up`` stops every process it started."""

from __future__ import annotations

import socket
import time

import httpx
import psutil
import psycopg
import pytest

from tests.integration.celery.conftest import broker_url, queue  # noqa: F401 (fixtures)
from tests.reliability.conftest import Launcher, launcher  # noqa: F401
from tests.servers import require

READY = {
    "scheduler": "scheduler | gnomon scheduler",
    "worker": " ready.",  # Celery: "celery@host ready."
    "api": "api       | gnomon API and dashboard on",
}
PATIENCE = 60.0  # seconds for a process to start or a run to finish (never slept through)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def poll(check: object, what: str, timeout: float = PATIENCE) -> object:
    """Ask ``check()`` until it returns something true (the processes under test are not
    ours to signal from: they answer over HTTP and SQL)."""
    assert callable(check)
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.1)


def succeeded_runs(client: httpx.Client) -> list[dict[str, object]]:
    response = client.get("/api/v1/jobs/hello/runs")
    response.raise_for_status()
    body = response.json()
    runs = body["items"] if isinstance(body, dict) else body
    return [r for r in runs if r["status"] == "succeeded"]


def api_up(client: httpx.Client) -> bool:
    try:
        return client.get("/health").status_code == 200
    except httpx.TransportError:
        return False


@pytest.mark.postgres
@pytest.mark.parametrize("broker", ["redis"])
def test_up_with_a_broker_runs_a_job_on_the_worker_and_stops_every_child(
    postgres_url: str,
    broker_url: str,  # noqa: F811
    queue: str,  # noqa: F811
    launcher: Launcher,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    require("redis")
    monkeypatch.setenv("GNOMON_CELERY_QUEUE", queue)  # this test's own queue
    port = free_port()
    up = launcher.start(
        postgres_url,
        "up",
        "--broker",
        broker_url,
        "--no-flower",
        "--port",
        str(port),
        ready=READY["scheduler"],
    )
    children: list[psutil.Process] = []
    try:
        for line in READY.values():
            up.ready = line
            up.wait_ready(timeout=PATIENCE)
        children = psutil.Process(up.pid).children(recursive=True)
        assert len(children) >= 3, children
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            poll(lambda: api_up(client), "the API answering")
            job = {
                "id": "hello",
                "when": "every 1s",
                "action": {"kind": "python", "config": {"ref": "gnomon.demo:hello"}},
            }
            assert client.post("/api/v1/jobs", json=job).status_code == 201
            poll(lambda: succeeded_runs(client), "a succeeded run of 'hello'")
        with psycopg.connect(postgres_url) as conn:
            workers = {
                w
                for (w,) in conn.execute(
                    "SELECT worker FROM gnomon_runs WHERE job_id = 'hello' AND status = 'succeeded'"
                )
            }
        assert workers
        assert all(w.startswith("celery@") for w in workers), workers
        assert up.stop(timeout=PATIENCE) == 0, launcher.describe()
        _, alive = psutil.wait_procs(children, timeout=PATIENCE)
        assert all(p.status() == psutil.STATUS_ZOMBIE for p in alive), alive
        stopped = [line for line in up.output().splitlines() if "| stopped: " in line]
        assert stopped == ["up        | stopped: scheduler 0, worker 0, api -15"] or stopped == [
            "up        | stopped: scheduler 0, worker 0, api 0"
        ], up.output()
    finally:
        for child in children:  # whatever failed, nothing outlives the test
            if child.is_running():
                child.kill()
