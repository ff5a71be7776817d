"""/metrics totals count pruned runs too: a prune never makes a counter go down (Prometheus
would take that for a restart and count everything again)."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from gnomon import service
from gnomon.clock import FakeClock
from gnomon.definitions import python
from gnomon.retention import Retention
from gnomon.scheduler import Scheduler
from tests.api.conftest import Tokens
from tests.api.test_metrics_limits import sample


def test_totals_stay_and_the_stored_gauge_drops_after_a_prune(
    client: TestClient, scheduler: Scheduler, clock: FakeClock, tokens: Tokens
) -> None:
    scheduler.add("every 1m", python("gnomon.demo:hello"), id="hello", misfire="skip", grace=1)
    clock.advance(timedelta(minutes=10))  # ten fires: nine missed, the last one on time
    scheduler.tick()
    assert scheduler.wait_idle(timeout=30)
    clock.advance(timedelta(days=40))
    before = client.get("/metrics", headers=tokens.header("read")).text
    report = service.prune(scheduler, Retention(per_job=0))
    after = client.get("/metrics", headers=tokens.header("read")).text
    assert report.runs == {"missed": 9}  # the newest finished run of the job stays
    assert sample(before, "gnomon_fires_total", 'reason="schedule"') == 10
    assert sample(after, "gnomon_fires_total", 'reason="schedule"') == 10
    assert sample(before, "gnomon_runs_missed_total") == 9
    assert sample(after, "gnomon_runs_missed_total") == 9
    assert 'gnomon_runs{status="missed"}' not in after  # what is stored: none left
    assert sample(after, "gnomon_runs", 'status="succeeded"') == 1
