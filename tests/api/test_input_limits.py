"""Bounded input over HTTP: body size (413), config/args sizes, amounts, dates, policy values
and ids (422) — the same bounds as the Python API, and nothing stored when refused."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gnomon import limits
from gnomon.clock import FakeClock
from gnomon.definitions import define_job
from gnomon.errors import InvalidPolicy
from gnomon.scheduler import Scheduler
from gnomon.settings import Settings
from tests.api.conftest import START, Tokens, http_job, make_client

MIB = 1024 * 1024


@pytest.fixture
def w(tokens: Tokens) -> dict[str, str]:
    return tokens.header("admin")


def job_count(scheduler: Scheduler) -> int:
    return scheduler.store.count_jobs()


def too_large(response: Any) -> None:
    assert response.status_code == 413, response.text
    assert response.json()["code"] == "too_large"
    assert "larger than" in response.json()["message"]


# -- the body --------------------------------------------------------------------------------


def big_job(size: int) -> bytes:
    padding = "x" * size
    return f'{{"id": "big", "when": "every 5m", "name": "{padding}", "action": {{}}}}'.encode()


def test_a_body_over_1_mib_is_413(
    client: TestClient, scheduler: Scheduler, w: dict[str, str]
) -> None:
    headers = {**w, "Content-Type": "application/json"}
    too_large(client.post("/api/v1/jobs", content=big_job(MIB), headers=headers))
    assert job_count(scheduler) == 0
    under = client.post("/api/v1/jobs", content=big_job(MIB - 200), headers=headers)
    assert under.status_code == 422  # read and judged: a name that long is refused


def test_a_chunked_body_without_content_length_is_bounded_too(
    client: TestClient, scheduler: Scheduler, w: dict[str, str]
) -> None:
    body = big_job(2 * MIB)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    headers = {**w, "Content-Type": "application/json"}
    response = client.post("/api/v1/jobs", content=chunks(), headers=headers)
    assert "content-length" not in {k.lower() for k in response.request.headers}
    too_large(response)
    assert job_count(scheduler) == 0


def test_the_body_limit_is_a_setting(tmp_path: Path, clock: FakeClock) -> None:
    settings = Settings.from_env({"GNOMON_MAX_BODY_BYTES": "2000"})
    assert settings.max_body_bytes == 2000
    with Scheduler(str(tmp_path / "s.db"), clock=clock, workers=1, settings=settings) as s:
        tokens = Tokens(s)
        with make_client(s) as client:
            small = client.post("/api/v1/jobs", json=http_job(), headers=tokens.header("write"))
            assert small.status_code == 201
            big = client.post(
                "/api/v1/jobs", json=http_job("b", name="x" * 2000), headers=tokens.header("write")
            )
            too_large(big)
            assert big.json()["message"] == "the request body is larger than 2000 bytes"


# -- action config and arguments ------------------------------------------------------------


def test_a_config_too_large_is_refused(
    client: TestClient, scheduler: Scheduler, w: dict[str, str]
) -> None:
    config = {"url": "https://example.com/hook", "headers": {"X-Pad": "x" * 300_000}}
    body = {**http_job(), "action": {"kind": "http", "config": config}}
    response = client.post("/api/v1/jobs", json=body, headers=w)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "action"
    assert re.search(r"its config is 3\d{5} bytes as JSON; at most 262144", response.text)
    assert job_count(scheduler) == 0


def test_arguments_too_large_are_refused(
    client: TestClient, scheduler: Scheduler, w: dict[str, str]
) -> None:
    config = {"ref": "gnomon.demo:hello", "args": ["x" * limits.MAX_ARGS_BYTES]}
    body = {**http_job(), "action": {"kind": "python", "config": config}}
    response = client.post("/api/v1/jobs", json=body, headers=w)
    assert response.status_code == 422, response.text
    assert "its arguments (args, kwargs) are 65561 bytes as JSON; at most 65536" in response.text
    assert job_count(scheduler) == 0


# -- amounts, dates and policy values: the same bounds as the Python API ---------------------


@pytest.mark.parametrize(
    "when",
    [
        "every 99999999999 days",
        "every 2000000 weeks",
        "in 99999999999 days",
        "9999-12-31T23:59:00Z",
        "x" * 501,
    ],
)
def test_huge_schedules_are_422(
    client: TestClient, scheduler: Scheduler, w: dict[str, str], when: str
) -> None:
    response = client.post("/api/v1/jobs", json=http_job(when=when), headers=w)
    assert response.status_code == 422, response.text
    assert job_count(scheduler) == 0
    preview = client.get("/api/v1/preview", params={"when": when}, headers=w)
    assert preview.status_code == 422, preview.text


def test_a_preview_stops_at_the_last_computable_date(client: TestClient, w: dict[str, str]) -> None:
    response = client.get(
        "/api/v1/preview", params={"when": "every 36525 days", "count": 100}, headers=w
    )
    assert response.status_code == 200, response.text
    assert 60 < len(response.json()["fires"]) < 70
    assert all(f < "9000-01-01" for f in response.json()["fires"])


POLICY_BOUNDS = [
    ("max_attempts", limits.MAX_ATTEMPTS, 1),
    ("catchup_cap", limits.MAX_CATCHUP_CAP, 1),
    *(
        (name, limits.MAX_POLICY_SECONDS, 0.5)
        for name in ("backoff", "max_backoff", "timeout", "jitter", "grace")
    ),
]


@pytest.mark.parametrize(("name", "most", "step"), POLICY_BOUNDS)
def test_policy_bounds_are_the_same_in_the_api_and_python(
    client: TestClient,
    scheduler: Scheduler,
    w: dict[str, str],
    name: str,
    most: float,
    step: float,
) -> None:
    over = client.post("/api/v1/jobs", json=http_job(policy={name: most + step}), headers=w)
    assert over.status_code == 422, over.text
    assert over.json()["field"] == f"policy.{name}"
    with pytest.raises(InvalidPolicy, match=f"policy {name}: .* must be at most {most}"):
        define_job("every 5m", http_action(), now=START, **{name: most + step})
    assert job_count(scheduler) == 0
    at_most = client.post("/api/v1/jobs", json=http_job(policy={name: most}), headers=w)
    assert at_most.status_code == 201, at_most.text
    assert define_job("every 5m", http_action(), now=START, **{name: most})


def http_action() -> Any:
    from gnomon.models import ActionSpec

    return ActionSpec(kind="http", config={"url": "https://example.com/hook"})


@pytest.mark.parametrize(
    ("start", "end"),
    [
        pytest.param("0001-01-01T00:00:00Z", "2026-01-01T00:00:00Z", id="from-year-1"),
        pytest.param("0001-01-01T00:00:00+01:00", "2026-01-01T00:00:00Z", id="before-year-1"),
        pytest.param("2026-01-01T00:00:00Z", "9999-12-31T23:59:59Z", id="to-year-9999"),
    ],
)
def test_a_backfill_out_of_range_is_422(
    client: TestClient, scheduler: Scheduler, w: dict[str, str], start: str, end: str
) -> None:
    client.post("/api/v1/jobs", json=http_job(when="0 9 * * *"), headers=w)
    response = client.post(
        "/api/v1/jobs/hook/backfill", json={"start": start, "end": end}, headers=w
    )
    assert response.status_code == 422, response.text
    assert "out of range" in response.json()["message"]
    assert scheduler.runs("hook") == []


def test_a_backfill_from_1970_is_bounded_by_max_fires(
    client: TestClient, scheduler: Scheduler, w: dict[str, str]
) -> None:
    client.post("/api/v1/jobs", json=http_job(when="0 9 * * *"), headers=w)
    body = {"start": "1970-01-01T00:00:00Z", "end": "2026-01-01T00:00:00Z"}
    response = client.post("/api/v1/jobs/hook/backfill", json=body, headers=w)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "max_fires"
    assert scheduler.runs("hook") == []


# -- ids -------------------------------------------------------------------------------------


def test_ids_with_a_slash_are_refused(
    client: TestClient, scheduler: Scheduler, w: dict[str, str]
) -> None:
    """An id is a path segment of the API: ``a/b`` could be created but not read."""
    response = client.post("/api/v1/jobs", json=http_job("team/nightly"), headers=w)
    assert response.status_code == 422, response.text
    assert "no /" in response.json()["message"]
    assert job_count(scheduler) == 0
    workflow = {"when": "every 5m", "action": http_job()["action"]}
    assert (
        client.put("/api/v1/workflows/a%2Fb/schedule", json=workflow, headers=w).status_code == 404
    )
    assert client.get("/api/v1/jobs/team%2Fnightly", headers=w).json()["code"] == "not_found"


def test_a_bad_last_event_id_is_422_on_the_dashboards_feed(
    scheduler: Scheduler, tokens: Tokens
) -> None:
    from tests.api.test_dashboard_http import signed_in

    client = signed_in(scheduler, tokens, "read")
    for value in ("abc", "-1", str(2**70)):
        response = client.get("/ui/events", headers={"Last-Event-ID": value})
        assert response.status_code == 422, response.text
