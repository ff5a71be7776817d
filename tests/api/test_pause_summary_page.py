"""A pause is one row on the job's page, in words: how many fires, from when to when."""

from __future__ import annotations

from datetime import timedelta

from gnomon.clock import FakeClock
from gnomon.definitions import python
from gnomon.scheduler import Scheduler
from tests.api.conftest import Tokens
from tests.api.test_dashboard_http import signed_in


def test_the_job_page_shows_a_pause_as_one_missed_run(
    scheduler: Scheduler, tokens: Tokens, clock: FakeClock
) -> None:
    scheduler.add(timedelta(minutes=1), python("json:dumps", 1), id="often")
    scheduler.pause("often")
    clock.advance(timedelta(hours=2))
    scheduler.resume("often")
    page = signed_in(scheduler, tokens, "read").get("/jobs/often").text
    assert page.count('<tr data-run="') == 1
    assert "missed: the job was paused: 120 fires, 2026-03-02T08:01:00Z to" in page
    assert "2026-03-02T10:00:00Z, none run" in page
    assert "&#39;fires&#39;" not in page  # the note says it; the result is not repeated
