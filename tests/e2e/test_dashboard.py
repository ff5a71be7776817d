"""The dashboard in Chromium: create, see on the timeline, trigger, watch live, pause; XSS."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from gnomon.definitions import python, shell
from gnomon.scheduler import Scheduler

XSS = "<img src=x onerror=alert(1)>"


def seed(scheduler: Scheduler) -> None:
    """A few jobs with some history, so the pages show what they are for."""
    scheduler.add(
        "0 2 * * *", shell(["echo", "backup done"]), id="nightly-backup", name="Nightly backup"
    )
    scheduler.add(
        "0 9 * * 1-5", python("gnomon.demo:hello"), id="weekday-report", name="Weekday report"
    )
    scheduler.add(
        "every 30m",
        python("gnomon.demo:flaky"),
        id="inventory-sync",
        name="Inventory sync",
        max_attempts=2,
        backoff=0.1,
    )
    scheduler.add("every 2h", shell(["sh", "-c", "exit 3"]), id="cache-warm", name="Cache warm")
    scheduler.add("0 */6 * * *", shell(["true"]), id="rotate-logs", name="Rotate logs")
    for job_id in ("weekday-report", "inventory-sync", "cache-warm", "weekday-report"):
        scheduler.trigger(job_id)


def wait_for_runs(scheduler: Scheduler, job_id: str, count: int) -> None:
    """Wait (on the store, with a deadline) until ``job_id`` has ``count`` finished runs."""
    import time

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if sum(r.status.finished for r in scheduler.runs(job_id)) >= count:
            return
        time.sleep(0.05)  # polling a condition, not waiting for scheduled time
    raise AssertionError(f"{job_id}: fewer than {count} finished runs after 20 s")


def test_create_see_trigger_watch_pause(page: Any, scheduler: Scheduler, screenshots: Path) -> None:
    seed(scheduler)
    wait_for_runs(scheduler, "cache-warm", 1)
    wait_for_runs(scheduler, "inventory-sync", 2)  # failed, then the retry succeeded
    page.goto("/jobs/new")
    page.fill("input[name=name]", "Report mailer")
    page.fill("input[name=id]", "report-mailer")
    page.fill("#when", "every 3h")
    expect(page.locator("#preview strong")).to_have_text("Every 3 hours")
    page.select_option("#kind", "shell")
    page.fill("input[name=command]", "echo 'hello from gnomon'")
    page.screenshot(path=str(screenshots / "new-job.png"), full_page=True)
    page.click("#create")
    expect(page).to_have_url(re.compile(r"/jobs/report-mailer$"))
    expect(page.locator("h1.job-title")).to_have_text("Report mailer")
    expect(page.locator('svg g.tl-row[data-job="report-mailer"] circle')).to_have_count(56)

    page.goto("/")
    row = page.locator('svg g.tl-row[data-job="report-mailer"]')
    expect(row.locator("circle")).to_have_count(8)  # every 3 h over 24 h
    expect(page.locator('tr[data-job="report-mailer"]')).to_contain_text("Every 3 hours")
    expect(page.locator("#live-dot.on")).to_have_count(1)
    page.screenshot(path=str(screenshots / "jobs.png"), full_page=True)

    page.goto("/jobs/report-mailer")
    expect(page.locator("#live-dot.on")).to_have_count(1)
    page.click("[data-test=trigger]")
    expect(page).to_have_url(re.compile(r"/jobs/report-mailer$"))
    expect(page.locator("#runs tbody tr .s-succeeded")).to_have_count(1)
    # A run started elsewhere (API, CLI) appears without reloading the page.
    run = scheduler.trigger("report-mailer")
    live = page.locator(f'#runs tr[data-run="{run.id}"]')
    expect(live.locator(".s-succeeded")).to_be_visible()
    expect(page.locator("#feed")).to_contain_text("run.succeeded")
    live.locator("summary").click()
    expect(live.locator("pre")).to_contain_text("hello from gnomon")
    page.screenshot(path=str(screenshots / "job.png"), full_page=True)

    page.click("[data-test=pause]")
    expect(page.locator(".card-head .status.s-paused")).to_be_visible()
    expect(page.locator("[data-test=resume]")).to_be_visible()
    assert scheduler.get("report-mailer").state.value == "paused"
    page.goto("/audit")
    expect(page.locator("table.audit tbody tr")).to_have_count(3)  # create, trigger, pause
    page.screenshot(path=str(screenshots / "audit.png"), full_page=True)


def test_a_hostile_name_is_shown_as_text(page: Any, scheduler: Scheduler) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto("/jobs/new")
    page.fill("input[name=name]", XSS)
    page.fill("input[name=id]", "hostile")
    page.fill("#when", "every 1h")
    page.fill("input[name=command]", "true")
    page.click("#create")
    expect(page.locator("h1.job-title")).to_have_text(XSS)
    page.goto("/")
    expect(page.locator('tr[data-job="hostile"] .job-name')).to_have_text(XSS)
    expect(page.locator("svg g.tl-row text.tl-label").first).to_contain_text("<img src=x")
    expect(page.locator("img[src=x]")).to_have_count(0)
    scheduler.trigger("hostile")
    expect(page.locator("#feed")).to_contain_text("hostile")
    assert dialogs == []


def test_sign_in_with_a_token(browser: Any, scheduler: Scheduler, screenshots: Path) -> None:
    from gnomon.api import serve_in_background
    from gnomon.store.admin import create_token

    secret, _ = create_token(scheduler.store, "ops", "write", scheduler.clock.now())
    scheduler.add("every 1h", python("gnomon.demo:hello"), id="hourly", name="Hourly hello")
    server = serve_in_background(scheduler, "127.0.0.1", 0, rate_limit=None)
    context = browser.new_context(
        base_url=server.url.rstrip("/"), viewport={"width": 1360, "height": 700}
    )
    try:
        page = context.new_page()
        page.goto("/")
        expect(page).to_have_url(re.compile(r"/login$"))
        page.fill("input[name=token]", "gnm_wrong_token")
        page.click("button.primary")
        expect(page.locator(".banner.error")).to_have_text("unknown or revoked token")
        page.screenshot(path=str(screenshots / "login.png"))
        page.fill("input[name=token]", secret)
        page.click("button.primary")
        expect(page.locator('tr[data-job="hourly"]')).to_contain_text("Hourly hello")
        expect(page.locator(".who .pill")).to_have_text("token:ops · write")
        expect(page.locator(".banner.warn")).to_have_count(0)  # not open mode
        page.click("button.link")  # sign out
        expect(page).to_have_url(re.compile(r"/login$"))
        page.goto("/")
        expect(page).to_have_url(re.compile(r"/login$"))
    finally:
        context.close()
        server.stop()
