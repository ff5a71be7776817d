"""The timeline draws every fire, or for a dense job an honest density over the whole window."""

from __future__ import annotations

import time

import pytest

from gnomon.definitions import shell
from gnomon.scheduler import Scheduler
from gnomon.web.timeline import BINS, CHART_WIDTH, LABEL_WIDTH, MAX_MARKS, build_timeline
from tests.api.conftest import START, Tokens
from tests.api.test_dashboard_http import signed_in


def test_a_sparse_job_shows_every_fire(scheduler: Scheduler) -> None:
    job = scheduler.add("every 2h", shell(["true"]), id="two")
    [row] = build_timeline([job], START, "7d").rows
    assert len(row.marks) == row.total == 84
    assert (row.bins, row.count_label) == ([], "84")


def test_a_dense_job_is_counted_exactly_over_the_whole_window(scheduler: Scheduler) -> None:
    job = scheduler.add("every 1m", shell(["true"]), id="minutely")
    [row] = build_timeline([job], START, "24h").rows
    assert row.total == 1440 > MAX_MARKS
    assert (row.marks, row.estimated, row.count_label) == ([], False, "1440")
    assert len(row.bins) == BINS  # no lane stops early
    assert sum(b.count for b in row.bins) == 1440
    assert row.bins[-1].x + row.bins[-1].width == pytest.approx(LABEL_WIDTH + CHART_WIDTH, abs=1)
    assert "1 fires" not in row.bins[3].title
    assert {round(b.count) for b in row.bins[1:-1]} <= {9, 10}  # 1440 / 152 a slot


def test_a_very_dense_job_is_estimated_and_says_so(scheduler: Scheduler) -> None:
    job = scheduler.add("every 1s", shell(["true"]), id="secondly")
    began = time.monotonic()
    [row] = build_timeline([job], START, "7d").rows
    assert time.monotonic() - began < 2  # sampled, not 604,800 fires walked
    assert row.estimated
    assert row.total == pytest.approx(7 * 86400, rel=0.01)
    assert row.count_label == "≈604.8k"
    assert len(row.bins) == BINS
    assert "≈" in row.bins[-1].title


def test_job_page_draws_its_seven_days(scheduler: Scheduler, tokens: Tokens) -> None:
    scheduler.add("every 1m", shell(["true"]), id="minutely")
    page = signed_in(scheduler, tokens, "read").get("/jobs/minutely").text
    assert page.count('class="tl-density"') == BINS
    assert ">≈10.1k</text>" in page  # 7 days of 1440 fires, sampled beyond the first 1,500


def test_a_dense_cron_job_costs_a_bounded_time(scheduler: Scheduler) -> None:
    job = scheduler.add("* * * * *", shell(["true"]), id="cron", tz="Europe/Paris")
    began = time.monotonic()
    [row] = build_timeline([job], START, "7d").rows
    assert time.monotonic() - began < 2
    assert row.total == pytest.approx(7 * 1440, rel=0.01)
