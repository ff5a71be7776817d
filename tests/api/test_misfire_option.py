"""The misfire policy is one option away on the API and the dashboard too: ``policy.misfire``
in a job's body, the Misfire field of the form; left out, the default coalesces (``latest``)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from gnomon.models import Misfire
from gnomon.scheduler import Scheduler
from tests.api.conftest import Tokens, http_job
from tests.api.test_dashboard_http import csrf_of, signed_in


@pytest.mark.parametrize("misfire", list(Misfire), ids=lambda m: m.value)
def test_the_api_takes_the_policy_in_the_body(
    client: TestClient, tokens: Tokens, scheduler: Scheduler, misfire: Misfire
) -> None:
    body = http_job(policy={"misfire": misfire.value, "grace": 5})
    created = client.post("/api/v1/jobs", json=body, headers=tokens.header("write"))
    assert created.status_code == 201, created.text
    assert created.json()["policy"]["misfire"] == misfire.value
    assert scheduler.get("hook").policy.misfire is misfire


def test_the_api_default_coalesces(
    client: TestClient, tokens: Tokens, scheduler: Scheduler
) -> None:
    created = client.post("/api/v1/jobs", json=http_job(), headers=tokens.header("write"))
    assert created.json()["policy"]["misfire"] == "latest"
    assert created.json()["policy"]["grace"] == 60.0


@pytest.mark.parametrize("misfire", ["", "skip", "all"])
def test_the_dashboard_form_takes_the_policy(
    scheduler: Scheduler, tokens: Tokens, misfire: str
) -> None:
    client = signed_in(scheduler, tokens, "write")
    page = client.get("/jobs/new").text
    assert "default (latest: coalesce)" in page
    form = {
        "csrf": csrf_of(page),
        "when": "every 5m",
        "kind": "http",
        "config": '{"url": "https://example.com"}',
        "id": "h",
        "misfire": misfire,
    }
    done = client.post("/jobs/new", data=form, follow_redirects=False)
    assert done.status_code == 303, done.text
    assert scheduler.get("h").policy.misfire is Misfire(misfire or "latest")
