"""The dashboard's runs page, retry and cancel, without a browser (fake clock, SQLite)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from gnomon.clock import FakeClock
from gnomon.definitions import shell
from gnomon.models import RunReason, RunStatus
from gnomon.scheduler import Scheduler
from gnomon.store.admin import list_audit
from tests.api.conftest import Tokens
from tests.api.test_dashboard_http import csrf_of, signed_in


def run_now(scheduler: Scheduler, job_id: str) -> int:
    """Trigger ``job_id``, run it to its outcome; its run id."""
    run = scheduler.trigger(job_id)
    scheduler.tick()
    assert scheduler.wait_idle(10)
    return run.id


def seeded(scheduler: Scheduler, clock: FakeClock) -> dict[str, int]:
    scheduler.add("every 7d", shell(["sh", "-c", "exit 3"]), id="bad")
    scheduler.add("every 7d", shell(["true"]), id="good")
    ids = {"old-bad": run_now(scheduler, "bad")}
    clock.advance(3 * 3600)
    ids["good"] = run_now(scheduler, "good")
    ids["bad"] = run_now(scheduler, "bad")
    return ids


def rows_of(client: TestClient, query: str) -> set[int]:
    import re

    page = client.get("/runs" + query)
    assert page.status_code == 200, page.text
    return {int(n) for n in re.findall(r'<tr data-run="(\d+)"', page.text)}


def test_runs_filter_by_status_job_and_time(
    scheduler: Scheduler, tokens: Tokens, clock: FakeClock
) -> None:
    ids = seeded(scheduler, clock)
    client = signed_in(scheduler, tokens, "read")
    assert rows_of(client, "") >= set(ids.values())
    assert rows_of(client, "?status=failed") == {ids["bad"], ids["old-bad"]}
    assert rows_of(client, "?status=unsuccessful&job=good") == set()
    assert rows_of(client, "?job=good") == {ids["good"]}
    assert rows_of(client, "?status=failed&last=1h") == {ids["bad"]}
    assert rows_of(client, "?since=2026-03-02T07:00&until=2026-03-02T09:00") == {ids["old-bad"]}
    bad = client.get("/runs?since=yesterday")
    assert bad.status_code == 422
    assert "since: &#39;yesterday&#39; is not a date and time" in bad.text
    assert client.get("/runs?status=nope").status_code == 422
    page = client.get("/runs?job=good").text
    assert "<th>Late</th>" in page
    assert "<th>Took</th>" in page
    assert 'data-test="retry"' not in page  # read scope: no buttons


def test_retry_a_failed_run_is_a_new_attempt_of_its_fire(
    scheduler: Scheduler, tokens: Tokens, clock: FakeClock
) -> None:
    ids = seeded(scheduler, clock)
    client = signed_in(scheduler, tokens, "write")
    page = client.get("/runs?status=failed").text
    assert page.count('data-test="retry"') == 2
    done = client.post(
        f"/runs/{ids['bad']}/retry",
        data={"csrf": csrf_of(page)},
        headers={"referer": "http://testserver/runs?status=failed"},
        follow_redirects=False,
    )
    assert (done.status_code, done.headers["location"]) == (303, "/runs?status=failed")
    old = scheduler.store.get_run(ids["bad"])
    new = scheduler.runs("bad", limit=1)[0]
    assert (new.scheduled_for, new.attempt, new.reason) == (old.scheduled_for, 2, RunReason.MANUAL)
    assert new.status is RunStatus.PENDING
    entry = list_audit(scheduler.store)[0]
    assert (entry.action, entry.target, entry.actor) == (
        "run.retry",
        "job:bad",
        "token:write-token",
    )
    assert entry.diff == {"run_id": ids["bad"], "new_run_id": new.id}
    # The same run again: its fire has a newer attempt now.
    again = client.post(f"/runs/{ids['bad']}/retry", data={"csrf": csrf_of(page)})
    assert again.status_code == 409
    assert "newer attempt" in again.text
    good = client.post(f"/runs/{ids['good']}/retry", data={"csrf": csrf_of(page)})
    assert good.status_code == 409
    assert client.post(f"/runs/{ids['bad']}/retry", data={}).status_code == 403  # no CSRF


def test_cancel_a_pending_run_and_ask_a_running_one_to_stop(
    scheduler: Scheduler, tokens: Tokens, clock: FakeClock
) -> None:
    scheduler.add("every 1h", shell(["true"]), id="job")
    pending = scheduler.trigger("job")
    reader = signed_in(scheduler, tokens, "read")
    token = csrf_of(reader.get("/runs").text)
    assert reader.post(f"/runs/{pending.id}/cancel", data={"csrf": token}).status_code == 403
    client = signed_in(scheduler, tokens, "write")
    page = client.get("/runs").text
    assert 'data-test="cancel"' in page
    done = client.post(f"/runs/{pending.id}/cancel", data={"csrf": csrf_of(page)})
    assert done.status_code == 200  # followed to /runs
    cancelled = scheduler.store.get_run(pending.id)
    assert (cancelled.status, cancelled.error) == (RunStatus.CANCELLED, "cancelled by a person")
    assert [e.action for e in list_audit(scheduler.store)] == ["run.cancel"]
    again = client.post(f"/runs/{pending.id}/cancel", data={"csrf": csrf_of(page)})
    assert (again.status_code, "already ended" in again.text) == (409, True)
    assert client.post("/runs/999/cancel", data={"csrf": csrf_of(page)}).status_code == 404


def test_cancel_stops_a_running_shell_run_at_the_next_heartbeat(
    tmp_path: Path, migrated_db: Path
) -> None:
    """A real scheduler (system clock, a 0.6 s lease: a heartbeat every 0.2 s)."""
    shutil.copy(migrated_db, tmp_path / "live.db")
    with Scheduler(str(tmp_path / "live.db"), workers=2, lease=0.6, poll=0.1) as scheduler:
        tokens = Tokens(scheduler)
        scheduler.add("every 7d", shell(["sleep", "30"]), id="slow")
        run = scheduler.trigger("slow")
        scheduler.start()
        wait_until(lambda: scheduler.store.get_run(run.id).status is RunStatus.RUNNING)
        client = signed_in(scheduler, tokens, "write")
        page = client.get("/runs?status=in-flight").text
        assert f'action="/runs/{run.id}/cancel"' in page
        began = time.monotonic()
        assert (
            client.post(f"/runs/{run.id}/cancel", data={"csrf": csrf_of(page)}).status_code == 200
        )
        wait_until(lambda: scheduler.store.get_run(run.id).status.finished)
        stopped = scheduler.store.get_run(run.id)
        assert stopped.status is RunStatus.CANCELLED
        assert "process group killed" in (stopped.error or "")
        assert time.monotonic() - began < 10  # not the 30 s of the command


def wait_until(condition: Callable[[], bool], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)  # polling a condition, not waiting for scheduled time
