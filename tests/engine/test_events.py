"""Lifecycle events: recorded in the events table and fanned out to hooks and sinks."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from gnomon import FakeClock, Scheduler, shell
from gnomon.events import Event
from gnomon.settings import Settings


@pytest.fixture
def hook_server() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(json.loads(body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/events", received
    server.shutdown()
    server.server_close()


def test_hooks_and_webhook_sink_receive_run_events(
    tmp_path: Path, hook_server: tuple[str, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, received = hook_server
    monkeypatch.setenv("GNOMON_HTTP_ALLOW", "127.0.0.1")  # the sink passes the SSRF guard too
    settings = Settings(event_webhook=url)
    clock = FakeClock(datetime(2026, 3, 1, tzinfo=UTC))
    with Scheduler(str(tmp_path / "g.db"), clock=clock, settings=settings) as scheduler:
        failed: list[Event] = []
        every: list[str] = []
        scheduler.on("run.failed", failed.append)
        scheduler.on("*", lambda e: every.append(e.kind))
        scheduler.add("in 5 seconds", shell(["false"]), id="boom")
        clock.advance(5)
        scheduler.tick()
        assert scheduler.wait_idle(timeout=10)
        assert scheduler.pump_events() >= 3
    assert [e.job_id for e in failed] == ["boom"]
    assert every == ["job.created", "run.started", "run.failed"]
    assert [e["kind"] for e in received] == every
    assert received[-1]["job_id"] == "boom"
    assert received[-1]["data"]["error"] == "exit code 1"


def test_two_schedulers_on_one_database_send_each_event_once(
    tmp_path: Path, hook_server: tuple[str, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, received = hook_server
    monkeypatch.setenv("GNOMON_HTTP_ALLOW", "127.0.0.1")
    settings = Settings(event_webhook=url)
    clock = FakeClock(datetime(2026, 3, 1, tzinfo=UTC))
    db = str(tmp_path / "g.db")
    with (
        Scheduler(db, clock=clock, settings=settings) as one,
        Scheduler(db, clock=clock, settings=settings) as two,
    ):
        one.pump_events()  # both sinks start here: the jobs below are after it
        two.pump_events()
        one.add("in 5 seconds", shell(["true"]), id="a")
        two.add("in 5 seconds", shell(["true"]), id="b")
        clock.advance(5)
        one.tick()
        two.tick()
        assert one.wait_idle(timeout=10)
        assert two.wait_idle(timeout=10)
        two.pump_events()
        one.pump_events()
    ids = [e["id"] for e in received]
    assert ids == sorted(set(ids))
    assert len(ids) == 6  # created, started, succeeded for each job


def test_a_failing_hook_does_not_stop_other_hooks(tmp_path: Path) -> None:
    clock = FakeClock(datetime(2026, 3, 1, tzinfo=UTC))
    with Scheduler(str(tmp_path / "g.db"), clock=clock, settings=Settings()) as scheduler:
        seen: list[str] = []

        def broken(event: Event) -> None:
            raise RuntimeError("hook bug")

        scheduler.on("job.*", broken)
        scheduler.on("job.*", lambda e: seen.append(e.kind))
        scheduler.add("in 1 hour", shell(["true"]), id="x")
        scheduler.pause("x")
        scheduler.pump_events()
    assert seen == ["job.created", "job.paused"]


def test_job_notification_on_failure(
    tmp_path: Path, hook_server: tuple[str, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, received = hook_server
    monkeypatch.setenv("GNOMON_HTTP_ALLOW", "127.0.0.1")
    target = url.replace("http://", "json://")
    clock = FakeClock(datetime(2026, 3, 1, tzinfo=UTC))
    with Scheduler(str(tmp_path / "g.db"), clock=clock, settings=Settings()) as scheduler:
        scheduler.add("in 5 seconds", shell(["false"]), id="nightly", notify_urls=[target])
        scheduler.add("in 5 seconds", shell(["true"]), id="fine", notify_urls=[target])
        clock.advance(5)
        scheduler.tick()
        assert scheduler.wait_idle(timeout=10)
    assert len(received) == 1  # only the failure: notify_on defaults to failures
    assert received[0]["title"] == "gnomon: nightly failed"
    assert "exit code 1" in received[0]["message"]


def test_mqtt_sink_publishes_a_topic_per_event(tmp_path: Path) -> None:
    import uuid

    import paho.mqtt.client as mqtt

    from tests.servers import require

    host, port = require("mosquitto")
    prefix = f"gnomon-test/{uuid.uuid4().hex}"
    got: list[str] = []
    subscribed, done = threading.Event(), threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.on_subscribe = lambda *args: subscribed.set()

    def on_message(_c: Any, _u: Any, message: Any) -> None:
        got.append(message.topic.removeprefix(prefix + "/"))
        if len(got) == 3:
            done.set()

    client.on_message = on_message
    client.connect(host, port)
    client.subscribe(f"{prefix}/#", qos=1)
    client.loop_start()
    try:
        assert subscribed.wait(5)
        settings = Settings(event_mqtt_topic=prefix, mqtt_url=f"mqtt://{host}:{port}")
        clock = FakeClock(datetime(2026, 3, 1, tzinfo=UTC))
        with Scheduler(str(tmp_path / "g.db"), clock=clock, settings=settings) as scheduler:
            scheduler.on("never.matches", lambda e: None)
            scheduler.add("in 5 seconds", shell(["true"]), id="m")
            clock.advance(5)
            scheduler.tick()
            assert scheduler.wait_idle(timeout=10)
            scheduler.pump_events()
        assert done.wait(5)
    finally:
        client.loop_stop()
        client.disconnect()
    assert got == ["job/created", "run/started", "run/succeeded"]
