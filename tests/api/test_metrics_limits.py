"""/metrics after real runs, rate limits (429), and the open local mode."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from gnomon.api import RateLimit
from gnomon.api.server import is_loopback, open_mode_allowed
from gnomon.clock import FakeClock
from gnomon.definitions import python
from gnomon.errors import ConfigError
from gnomon.scheduler import Scheduler
from gnomon.store.admin import create_token, revoke_token
from tests.api.conftest import START, Tokens, http_job, make_client


def sample(text: str, name: str, labels: str = "") -> float:
    """The value of one sample in Prometheus text format."""
    pattern = re.escape(name) + (r"\{" + re.escape(labels) + r"\}" if labels else "") + r" (\S+)"
    match = re.search(r"^" + pattern + r"$", text, re.MULTILINE)
    assert match, f"{name}{{{labels}}} not in metrics"
    return float(match.group(1))


def test_metrics_expose_lateness_and_counters(
    client: TestClient, scheduler: Scheduler, clock: FakeClock, tokens: Tokens
) -> None:
    scheduler.add("every 1m", python("gnomon.demo:hello"), id="hello")
    scheduler.add("every 1m", python("gnomon.demo:flaky"), id="flaky", misfire="all", grace=10)
    clock.advance(62)  # both fires are 2 s late; flaky's is within grace
    scheduler.tick()
    assert scheduler.wait_idle(timeout=30)
    clock.advance(180)  # 3 more fires each, 2 of them past flaky's 10 s grace
    for _ in range(4):  # two workers: drain the queue
        scheduler.tick()
        assert scheduler.wait_idle(timeout=30)
    text = client.get("/metrics", headers=tokens.header("read")).text
    assert sample(text, "gnomon_run_lateness_seconds_count") >= 3
    assert sample(text, "gnomon_run_lateness_seconds_bucket", 'le="5.0"') >= 1
    assert sample(text, "gnomon_run_lateness_seconds_bucket", 'le="0.005"') == 0
    assert sample(text, "gnomon_runs_finished_total", 'status="succeeded"') >= 2
    assert sample(text, "gnomon_runs_finished_total", 'status="failed"') >= 1
    assert sample(text, "gnomon_fires_total", 'reason="schedule"') >= 4
    assert sample(text, "gnomon_runs_missed_total") >= 1
    assert sample(text, "gnomon_runs_skipped_total") == 0
    assert sample(text, "gnomon_jobs", 'state="active"') == 2
    assert sample(text, "gnomon_queue_depth") >= 0
    assert "# TYPE gnomon_run_lateness_seconds histogram" in text


def test_rate_limit_answers_429_with_retry_after(scheduler: Scheduler, clock: FakeClock) -> None:
    tokens = Tokens(scheduler)
    with make_client(scheduler, rate_limit=RateLimit(rate=1.0, burst=3)) as client:
        codes = [
            client.get("/api/v1/jobs", headers=tokens.header("read")).status_code for _ in range(4)
        ]
        assert codes == [200, 200, 200, 429]
        limited = client.get("/api/v1/jobs", headers=tokens.header("read"))
        assert limited.json()["code"] == "rate_limited"
        assert limited.headers["retry-after"] == "1"
        other = client.get("/api/v1/jobs", headers=tokens.header("write"))
        assert other.status_code == 200  # buckets are per token
        clock.advance(1.0)
        assert client.get("/api/v1/jobs", headers=tokens.header("read")).status_code == 200
        guesses = [client.get("/api/v1/jobs", headers={"Authorization": "Bearer x"}) for _ in "ab"]
        assert {g.status_code for g in guesses} <= {401, 429}


def test_open_mode_only_on_loopback_and_only_without_tokens(scheduler: Scheduler) -> None:
    assert all(is_loopback(host) for host in ("127.0.0.1", "::1", "localhost"))
    assert not is_loopback("0.0.0.0")
    assert open_mode_allowed(scheduler, "127.0.0.1", None)
    with pytest.raises(ConfigError, match="without authentication"):
        open_mode_allowed(scheduler, "0.0.0.0", None)
    assert not open_mode_allowed(scheduler, "0.0.0.0", {"s3cret-token": "admin"})
    with make_client(scheduler, open_access=True) as client:
        body = {**http_job(), "action": {"kind": "shell", "config": {"argv": ["true"]}}}
        assert client.post("/api/v1/jobs", json=body).status_code == 201
        create_token(scheduler.store, "first", "read", START)
        client.app.state.gnomon.auth.forget()  # type: ignore[attr-defined]
        assert client.get("/api/v1/jobs").status_code == 401  # the first token ends open mode
        revoke_token(scheduler.store, "first", START)
    assert not open_mode_allowed(scheduler, "0.0.0.0", {"t": "read"})


def test_configured_static_token(scheduler: Scheduler) -> None:
    with make_client(scheduler, tokens={"static-secret-1": "read"}) as client:
        ok = client.get("/api/v1/jobs", headers={"Authorization": "Bearer static-secret-1"})
        assert ok.status_code == 200
        body = http_job()
        refused = client.post(
            "/api/v1/jobs", json=body, headers={"Authorization": "Bearer static-secret-1"}
        )
        assert refused.status_code == 403
