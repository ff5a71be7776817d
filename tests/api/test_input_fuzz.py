"""Property tests over the API's schemas: generated job bodies and parameters are answered
201, 404, 409 or 422 — never a 500, never an exception escaping a route.

The TestClient re-raises any exception a route lets out, so "only gnomon's own errors" is
checked too: a non-gnomon exception fails the example. Example counts stay modest (a few
seconds in all); ``tests/api/test_openapi_fuzz.py`` (slow) covers every operation.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gnomon import limits
from gnomon.clock import FakeClock
from gnomon.scheduler import Scheduler
from tests.api.conftest import START, Tokens, make_client
from tests.unit.test_input_properties import phrases, rrules

SETTINGS = settings(
    max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)
EDGE_NUMBERS = [
    0,
    -1,
    1,
    0.5,
    1e300,
    -1e300,
    1e-300,
    2**53,
    2**63,
    10**12,
    limits.MAX_POLICY_SECONDS,
    limits.MAX_POLICY_SECONDS + 1,
    limits.MAX_ATTEMPTS,
    limits.MAX_ATTEMPTS + 1,
    limits.MAX_CATCHUP_CAP + 1,
]
numbers = (
    st.sampled_from(EDGE_NUMBERS)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.integers(-(2**70), 2**70)
)
json_values = st.recursive(
    st.none() | st.booleans() | numbers | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)
texts = st.text(max_size=30) | st.sampled_from(["a/b", "x" * 201, "ok-id", "\x00", "é", ""])
policies = st.dictionaries(
    st.sampled_from(
        [
            "max_attempts",
            "backoff",
            "max_backoff",
            "timeout",
            "jitter",
            "grace",
            "catchup_cap",
            "misfire",
            "overlap",
            "notify_on",
            "retries",
        ]
    ),
    numbers | st.sampled_from(["skip", "all", "queue", None, ["failed"], [1]]),
    max_size=4,
)
actions = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(["http", "notify", "mqtt", "teleport", ""]),
        "config": st.dictionaries(
            st.sampled_from(
                ["url", "method", "headers", "timeout", "urls", "body", "topic", "qos", "args"]
            ),
            json_values | st.just("https://example.com/hook"),
            max_size=4,
        ),
    },
)
bodies = st.fixed_dictionaries(
    {"when": phrases | rrules | texts, "action": actions},
    optional={
        "id": texts,
        "name": texts,
        "tz": st.sampled_from(["UTC", "Europe/Berlin", "X"]),
        "policy": policies,
        "paused": st.booleans(),
        "extra": json_values,
    },
)


def finite(value: Any) -> bool:
    """JSON cannot carry nan or infinity (the client refuses to send them)."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(finite(v) for v in value.values())
    if isinstance(value, list):
        return all(finite(v) for v in value)
    return True


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, str]]]:
    path: Path = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    with Scheduler(str(path), clock=FakeClock(START), workers=1) as scheduler:
        headers = Tokens(scheduler).header("admin")
        with make_client(scheduler) as client:
            yield client, headers


@SETTINGS
@given(body=bodies.filter(finite))
def test_generated_job_bodies_are_never_a_server_error(
    api: tuple[TestClient, dict[str, str]], body: dict[str, Any]
) -> None:
    client, headers = api
    response = client.post("/api/v1/jobs", json=body, headers=headers)
    assert response.status_code in (201, 409, 422), response.text
    if response.status_code == 422:
        assert response.json()["code"] in ("invalid_spec", "invalid_request")
    patched = client.patch(
        "/api/v1/jobs/fuzz-target",
        json={k: v for k, v in body.items() if k in ("when", "policy")},
        headers=headers,
    )
    assert patched.status_code in (200, 404, 422), patched.text


@SETTINGS
@given(value=texts, count=st.integers(-5, 2000), when=phrases | rrules | texts)
def test_generated_parameters_are_never_a_server_error(
    api: tuple[TestClient, dict[str, str]], value: str, count: int, when: str
) -> None:
    client, headers = api
    segment = quote(value, safe="")  # the client refuses raw control characters in a URL
    for method, url, params in [
        ("GET", "/api/v1/jobs", {"search": value, "after": value, "state": value}),
        ("GET", f"/api/v1/jobs/{segment}", {}),
        ("GET", f"/api/v1/jobs/{segment}/runs", {"status": value}),
        ("POST", f"/api/v1/jobs/{segment}/pause", {}),
        ("GET", "/api/v1/preview", {"when": when, "tz": value, "count": count}),
        ("GET", "/api/v1/audit", {"target": value}),
        ("GET", "/api/v1/events", {"job_id": value}),
    ]:
        response = client.request(method, url, params=params, headers=headers)
        assert response.status_code < 500, f"{method} {url} {params}: {response.text}"
