"""The schedulers and workers page, over a scheduler that really runs (system clock)."""

from __future__ import annotations

import re
import shutil
from datetime import timedelta
from pathlib import Path

from sqlalchemy import update

from gnomon.clock import FakeClock
from gnomon.definitions import shell
from gnomon.models import RunStatus
from gnomon.scheduler import Scheduler
from gnomon.store.admin import beat
from gnomon.store.tables import runs
from tests.api.conftest import Tokens
from tests.api.test_dashboard_http import csrf_of, signed_in
from tests.api.test_dashboard_runs import wait_until


def number(page: str, test: str) -> int:
    found = re.search(rf'data-test="{test}">(\d+)<', page)
    assert found, test
    return int(found.group(1))


def test_who_is_alive_what_runs_and_what_waits(tmp_path: Path, migrated_db: Path) -> None:
    shutil.copy(migrated_db, tmp_path / "live.db")
    with Scheduler(str(tmp_path / "live.db"), workers=3, lease=0.6, poll=0.1) as scheduler:
        tokens = Tokens(scheduler)
        now = scheduler.clock.now()
        beat(scheduler.store, "gone-host", now - timedelta(hours=1))  # a scheduler long silent
        scheduler.add("every 7d", shell(["sleep", "30"]), id="slow")
        scheduler.add("every 7d", shell(["true"]), id="held", paused=True)
        scheduler.trigger("held")  # due, but its job is paused: waits
        queued = scheduler.trigger("held")
        with scheduler.store.engine.begin() as conn:  # as a Celery dispatcher leaves it
            conn.execute(
                update(runs).where(runs.c.id == queued.id).values(status=RunStatus.QUEUED.value)
            )
        run = scheduler.trigger("slow")
        scheduler.start()
        wait_until(lambda: scheduler.store.get_run(run.id).status is RunStatus.RUNNING)
        client = signed_in(scheduler, tokens, "write")
        wait_until(lambda: "this process" in client.get("/workers").text)
        page = client.get("/workers").text
        me = scheduler.worker_id
        assert (number(page, "alive"), number(page, "running")) == (1, 1)
        assert (number(page, "depth"), number(page, "queued")) == (1, 1)
        mine = page.split(f'data-scheduler="{me}"')[1].split("</tr>")[0]
        assert "alive" in mine
        assert "3 worker(s)" in mine
        gone = page.split('data-scheduler="gone-host"')[1].split("</tr>")[0]
        assert "silent" in gone
        assert f'action="/runs/{run.id}/cancel"' in page
        assert f'action="/runs/{queued.id}/cancel"' in page  # in the broker's queue
        client.post(f"/runs/{run.id}/cancel", data={"csrf": csrf_of(page)})
        wait_until(lambda: scheduler.store.get_run(run.id).status.finished)


def test_activity_page_counts_and_draws_each_minute(
    scheduler: Scheduler, tokens: Tokens, clock: FakeClock
) -> None:
    scheduler.add("every 7d", shell(["true"]), id="good")
    scheduler.add("every 7d", shell(["sh", "-c", "exit 3"]), id="bad")
    for job_id, late in (("good", 2), ("good", 3), ("bad", 30)):
        scheduler.trigger(job_id)
        clock.advance(late)
        scheduler.tick()
        assert scheduler.wait_idle(10)
    clock.advance(120)
    page = signed_in(scheduler, tokens, "read").get("/activity?hours=1").text
    assert (number(page, "total"), number(page, "succeeded"), number(page, "failed")) == (3, 2, 1)
    assert 'data-test="p50">3.0 s<' in page
    assert 'data-test="p99">30.0 s<' in page
    assert page.count('class="ch-bar g-succeeded"') == 1  # one minute, two runs: one bar part
    assert page.count('class="ch-bar g-failed"') == 1
    assert "08:00 UTC · 2 succeeded" in page
    assert page.count("<polyline") == 2
    assert "cdn" not in page.lower()
