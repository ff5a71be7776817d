"""The operations pages in Chromium: runs (filter, retry, cancel), workers, activity, times
in the job's zone, live next fires, editing a job, the API docs, a narrow screen."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from gnomon.api import ApiServer
from gnomon.definitions import shell
from gnomon.models import RunStatus
from gnomon.scheduler import Scheduler
from tests.e2e.test_dashboard import seed, wait_for_runs


def wait_for_status(scheduler: Scheduler, run_id: int, wanted: RunStatus) -> None:
    import time

    deadline = time.monotonic() + 20
    while scheduler.store.get_run(run_id).status is not wanted:
        assert time.monotonic() < deadline, f"run {run_id} never became {wanted.value}"
        time.sleep(0.05)  # polling a condition, not waiting for scheduled time


def test_runs_retry_cancel_workers_activity(
    page: Any, scheduler: Scheduler, screenshots: Path
) -> None:
    seed(scheduler)
    wait_for_runs(scheduler, "cache-warm", 1)
    wait_for_runs(scheduler, "inventory-sync", 2)
    scheduler.add("every 7d", shell(["sleep", "60"]), id="long-export", name="Long export")
    slow = scheduler.trigger("long-export")
    wait_for_status(scheduler, slow.id, RunStatus.RUNNING)

    page.goto("/runs")
    page.select_option("select[name=status]", "failed")
    page.click("#run-filters button")
    expect(page).to_have_url(re.compile(r"status=failed"))
    failed = page.locator("table.all-runs tbody tr")
    expect(failed.first.locator(".s-failed")).to_be_visible()
    assert failed.locator(".s-succeeded").count() == 0
    expect(failed.first.locator("td.late")).not_to_have_text("—")
    page.select_option("select[name=status]", "")
    page.click("#run-filters button")
    page.screenshot(path=str(screenshots / "runs.png"), full_page=True)

    page.goto("/runs?job=cache-warm&status=failed")
    before = len(scheduler.runs("cache-warm"))
    page.locator("[data-test=retry]").first.click()
    expect(page).to_have_url(re.compile(r"/runs\?job=cache-warm"))
    wait_for_runs(scheduler, "cache-warm", before + 1)  # the retry ran (and failed again)
    retried = scheduler.runs("cache-warm", limit=1)[0]
    assert (retried.attempt, retried.reason.value) == (2, "manual")

    page.goto("/workers")
    expect(page.locator("[data-test=alive]")).to_have_text("1")
    expect(page.locator(f'tr[data-scheduler="{scheduler.worker_id}"]')).to_contain_text(
        "4 worker(s)"
    )
    row = page.locator(f'table.in-flight tr[data-run="{slow.id}"]')
    expect(row).to_contain_text("long-export")
    page.screenshot(path=str(screenshots / "workers.png"), full_page=True)
    page.on("dialog", lambda dialog: dialog.accept())
    row.locator("[data-test=cancel]").click()
    wait_for_status(scheduler, slow.id, RunStatus.CANCELLED)  # killed at the next heartbeat
    page.goto("/workers")
    expect(page.locator("table.in-flight")).to_contain_text("Nothing is running.")

    page.goto("/activity?hours=1")
    expect(page.locator("[data-test=failed]")).not_to_have_text("0")
    expect(page.locator("rect.ch-bar.g-succeeded").first).to_be_visible()
    expect(page.locator("polyline.l-p99")).to_have_count(1)
    page.screenshot(path=str(screenshots / "activity.png"), full_page=True)


def test_times_in_the_jobs_zone_live_next_fire_and_edit(
    browser: Any, server: ApiServer, scheduler: Scheduler, screenshots: Path
) -> None:
    scheduler.add(
        "0 9 * * 1-5",
        shell(["echo", "report"]),
        id="report",
        name="Morning report",
        tz="Europe/Paris",
        max_attempts=3,
        timeout=120,
    )
    scheduler.add("every 3s", shell(["true"]), id="ticker", name="Ticker")
    context = browser.new_context(
        base_url=server.url.rstrip("/"),
        timezone_id="America/New_York",
        viewport={"width": 1360, "height": 900},
    )
    try:
        page = context.new_page()
        page.goto("/jobs/report")
        first = page.locator("#upcoming time[data-tz]").first
        expect(first).to_have_attribute("title", re.compile(r" UTC$"))
        expect(first).to_contain_text(re.compile(r"09:00:00 (CET|CEST|GMT\+[12])"))
        expect(page.locator("#zone-note")).to_contain_text("America/New_York")
        expect(page.locator("dd.policy")).to_contain_text("Up to 3 attempts")
        expect(page.locator("dd.policy")).to_contain_text("Timeout 2 minutes.")

        page.goto("/jobs/ticker")
        soonest = page.locator("#upcoming li time[datetime]").first
        old = soonest.get_attribute("datetime")
        # The fire passes; the list follows without a reload.
        expect(soonest).not_to_have_attribute("datetime", old or "", timeout=15_000)
        expect(page.locator("#next-fire time[datetime]").first).not_to_have_attribute(
            "datetime", old or ""
        )

        page.goto("/jobs/report/edit")
        page.fill("#when", "every 4h")
        page.fill("#tz", "UTC")
        page.fill("input[name=max_attempts]", "2")
        page.screenshot(path=str(screenshots / "edit-job.png"), full_page=True)
        page.click("#save")
        expect(page).to_have_url(re.compile(r"/jobs/report$"))
        expect(page.locator("dl.spec")).to_contain_text("Every 4 hours")
        expect(page.locator("dd.policy")).to_contain_text("Up to 2 attempts")
        expect(page.locator("table.audit")).to_contain_text("job.update")
    finally:
        context.close()


def test_api_docs_try_it_and_a_narrow_screen(
    page: Any, browser: Any, server: ApiServer, scheduler: Scheduler, screenshots: Path
) -> None:
    scheduler.add("every 1h", shell(["true"]), id="hourly", name="Hourly")
    page.goto("/docs")
    op = page.locator('details.op[data-method="GET"][data-path="/api/v1/jobs"]')
    op.locator("summary").click()
    op.locator("button").click()
    expect(op.locator(".answer")).to_contain_text("200 OK")
    expect(op.locator(".answer")).to_contain_text('"id": "hourly"')
    page.screenshot(path=str(screenshots / "api-docs.png"))

    phone = browser.new_context(
        base_url=server.url.rstrip("/"), viewport={"width": 390, "height": 844}
    )
    try:
        small = phone.new_page()
        for path in ("/", "/runs", "/workers", "/activity", "/jobs/hourly", "/docs"):
            small.goto(path)
            wide = small.evaluate("document.documentElement.scrollWidth")
            assert wide <= 390, f"{path} is {wide}px wide on a 390px screen"
        small.goto("/")
        small.screenshot(path=str(screenshots / "narrow.png"), full_page=True)
    finally:
        phone.close()
