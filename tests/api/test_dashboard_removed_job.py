"""A removed job's page: when it was removed, in its zone, with its runs (kept); an id never
seen is still a 404."""

from __future__ import annotations

from datetime import timedelta

from gnomon import service
from gnomon.clock import FakeClock
from gnomon.definitions import shell
from gnomon.scheduler import Scheduler
from tests.api.conftest import Tokens
from tests.api.test_dashboard_http import signed_in


def test_a_removed_jobs_page_says_when_and_shows_its_runs(
    scheduler: Scheduler, tokens: Tokens, clock: FakeClock
) -> None:
    scheduler.add("30 9 * * *", shell(["true"]), id="report", name="Report", tz="Europe/Paris")
    run = scheduler.trigger("report")
    scheduler.tick()
    assert scheduler.wait_idle(10)
    clock.advance(90)
    scheduler.remove("report")
    client = signed_in(scheduler, tokens, "read")
    page = client.get("/jobs/report")
    assert page.status_code == 200
    assert 'removed at <time datetime="2026-03-02T08:01:30Z"' in page.text
    assert 'data-tz="Europe/Paris"' in page.text
    assert "At 09:30 (Europe/Paris)" in page.text
    assert f'<tr data-run="{run.id}">' in page.text
    assert "s-succeeded" in page.text
    fragment = client.get("/jobs/report/runs-fragment").text
    assert f'<tr data-run="{run.id}">' in fragment
    assert 'data-tz="Europe/Paris"' in fragment
    missing = client.get("/jobs/nosuch")
    assert missing.status_code == 404
    assert "No such job" in missing.text


def test_a_removed_job_without_runs_and_an_id_used_again(
    scheduler: Scheduler, tokens: Tokens
) -> None:
    scheduler.add("every 1h", shell(["true"]), id="gone")
    scheduler.remove("gone")
    client = signed_in(scheduler, tokens, "read")
    page = client.get("/jobs/gone")
    assert page.status_code == 200
    assert "No runs yet." in page.text
    scheduler.add("every 2h", shell(["true"]), id="gone")
    again = client.get("/jobs/gone").text
    assert "Every 2 hours" in again
    assert "removed at" not in again


def test_a_removed_jobs_runs_outlive_its_pruned_removal_event(
    scheduler: Scheduler, tokens: Tokens, clock: FakeClock
) -> None:
    scheduler.add("every 1h", shell(["true"]), id="old", name="Old job")
    run = scheduler.trigger("old")
    scheduler.tick()
    assert scheduler.wait_idle(10)
    scheduler.remove("old")
    scheduler.add("every 1h", shell(["true"]), id="newer")  # the newest event is never pruned
    client = signed_in(scheduler, tokens, "read")
    assert '<h1 class="job-title">Old job</h1>' in client.get("/jobs/old").text
    clock.advance(timedelta(days=40))
    service.prune(scheduler, service.retention_rules(scheduler, older_than=timedelta(days=1)))
    page = client.get("/jobs/old")
    assert page.status_code == 200
    assert "when is no longer recorded" in page.text
    assert '<h1 class="job-title">old</h1>' in page.text
    assert f'<tr data-run="{run.id}">' in page.text
