"""The job page in words and in the job's zone, its live fragments, and editing a job."""

from __future__ import annotations

from fastapi.testclient import TestClient

from gnomon.clock import FakeClock
from gnomon.definitions import shell
from gnomon.scheduler import Scheduler
from gnomon.store.admin import list_audit
from tests.api.conftest import Tokens
from tests.api.test_dashboard_http import csrf_of, signed_in


def add_paris_job(scheduler: Scheduler) -> None:
    scheduler.add(
        "0 9 * * 1-5",
        shell(["backup.sh", "--fast", "a b"]),
        id="backup",
        name="Backup",
        tz="Europe/Paris",
        max_attempts=3,
        timeout=90,
    )


def test_policy_and_trigger_in_words_times_in_the_jobs_zone(
    scheduler: Scheduler, tokens: Tokens
) -> None:
    add_paris_job(scheduler)
    page = signed_in(scheduler, tokens, "read").get("/jobs/backup").text
    assert "At 09:00, Monday through Friday" in page
    assert "cron schedule, zone Europe/Paris" in page
    assert "Up to 3 attempts, the next after 1 second, doubling up to 5 minutes." in page
    assert "Timeout 90 seconds." in page
    assert "only the latest of them runs" in page
    assert "&#34;max_attempts&#34;" not in page  # no JSON of the policy or trigger
    assert "&#34;expr&#34;" not in page
    assert "backup.sh --fast &#39;a b&#39;" in page  # the command as a shell line
    assert (
        '<time datetime="2026-03-03T08:00:00Z" title="2026-03-03 08:00:00 UTC" '
        'data-tz="Europe/Paris">' in page
    )
    assert 'data-src="/jobs/backup/upcoming-fragment"' in page


def test_fragments_follow_the_schedule(
    scheduler: Scheduler, tokens: Tokens, clock: FakeClock
) -> None:
    add_paris_job(scheduler)
    client = signed_in(scheduler, tokens, "read")
    upcoming = client.get("/jobs/backup/upcoming-fragment").text
    assert upcoming.count("<li>") == 8
    assert 'data-next="2026-03-03T08:00:00Z"' in upcoming
    assert '<template class="next-fire">' in upcoming
    scheduler.pause("backup")
    assert "None while paused." in client.get("/jobs/backup/upcoming-fragment").text
    rows = client.get("/ui/job-rows").text
    assert '<tr data-job="backup">' in rows
    assert "s-paused" in rows


def post_edit(client: TestClient, job_id: str, **fields: str) -> object:
    token = csrf_of(client.get(f"/jobs/{job_id}/edit").text)
    return client.post(
        f"/jobs/{job_id}/edit", data={"csrf": token, **fields}, follow_redirects=False
    )


def test_edit_a_job(scheduler: Scheduler, tokens: Tokens) -> None:
    add_paris_job(scheduler)
    reader = signed_in(scheduler, tokens, "read")
    assert reader.get("/jobs/backup/edit").status_code == 403
    client = signed_in(scheduler, tokens, "admin")
    form = client.get("/jobs/backup/edit").text
    assert 'name="max_attempts" type="number" min="1" value="3"' in form
    assert 'value="Europe/Paris"' in form
    assert 'placeholder="At 09:00, Monday through Friday (Europe/Paris)"' in form
    done = post_edit(
        client,
        "backup",
        name="Backup",
        when="every 2h",
        tz="UTC",
        max_attempts="5",
        timeout="",
        overlap="skip",
        misfire="latest",
        kind="shell",
        command="",
        config="",
    )
    assert (done.status_code, done.headers["location"]) == (303, "/jobs/backup")  # type: ignore[attr-defined]
    job = scheduler.get("backup")
    assert job.trigger.describe() == "Every 2 hours"
    assert (job.policy.max_attempts, job.policy.overlap.value, job.policy.timeout) == (
        5,
        "skip",
        90,
    )
    assert job.action.config["argv"] == ["backup.sh", "--fast", "a b"]  # kept
    entry = list_audit(scheduler.store)[0]
    assert (entry.action, entry.target) == ("job.update", "job:backup")
    bad = post_edit(client, "backup", when="every blue moon", tz="UTC", kind="shell")
    assert bad.status_code == 422  # type: ignore[attr-defined]
    assert "every blue moon" in bad.text  # type: ignore[attr-defined]
    assert 'id="form-error"' in bad.text  # type: ignore[attr-defined]


def test_a_write_token_cannot_give_a_job_local_code(scheduler: Scheduler, tokens: Tokens) -> None:
    add_paris_job(scheduler)
    client = signed_in(scheduler, tokens, "write")
    renamed = post_edit(
        client,
        "backup",
        name="Nightly backup",
        kind="shell",
        max_attempts="3",
        overlap="allow",
        misfire="latest",
    )
    assert renamed.status_code == 303  # type: ignore[attr-defined]
    assert scheduler.get("backup").name == "Nightly backup"
    command = post_edit(
        client,
        "backup",
        kind="shell",
        command="rm -rf /",
        max_attempts="3",
        overlap="allow",
        misfire="latest",
    )
    assert command.status_code == 403  # type: ignore[attr-defined]
    assert scheduler.get("backup").action.config["argv"][0] == "backup.sh"


def test_api_docs_are_served_from_the_spec_without_a_cdn(scheduler: Scheduler) -> None:
    from tests.api.conftest import make_client

    client = make_client(scheduler, dashboard=True)
    page = client.get("/docs")
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    for path in client.get("/api/v1/openapi.json").json()["paths"]:
        assert f"<code>{path}</code>" in page.text
    assert 'data-method="POST" data-path="/api/v1/jobs"' in page.text
    assert "&#34;when&#34;: &#34;" in page.text  # a body skeleton for Try it
    assert "http://" not in page.text.replace("http://testserver", "")
    assert "<script>" not in page.text  # no inline script
    assert 'href="/docs"' in page.text  # in the navigation
