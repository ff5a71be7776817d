"""Schemathesis against the OpenAPI document: no 5xx, every response matches its schema.

Each operation gets a bounded number of generated cases (``max_examples``), driven by
Hypothesis directly, with an ``admin`` token so that requests reach the handlers. Streams
(``/events?follow=true``) are cut short by a small ``stream_seconds``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from gnomon.api import create_app
from gnomon.clock import FakeClock
from gnomon.definitions import python
from gnomon.scheduler import Scheduler
from gnomon.store.admin import create_token
from tests.api.conftest import START

# A schedule like "0" matches the schema yet is refused with 422 (a schema cannot say
# which cron or natural-language strings are valid); every other check stays on.
SEMANTIC = [positive_data_acceptance]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    path = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    scheduler = Scheduler(str(path), clock=FakeClock(START), workers=1)
    secret, _ = create_token(scheduler.store, "fuzz", "admin", START)
    scheduler.add("every 10m", python("gnomon.demo:hello"), id="hook")
    scheduler.trigger("hook")
    app = create_app(scheduler, rate_limit=None, dashboard=False)
    app.state.gnomon.stream_seconds = 0.05  # ?follow=true streams end quickly here
    app.state.gnomon.event_poll = 0.01
    yield schemathesis.openapi.from_asgi("/api/v1/openapi.json", app), secret
    scheduler.close()


@pytest.mark.slow  # ~30 s: 19 operations x 12 cases
def test_no_server_errors_and_responses_match_the_schema(api: tuple[Any, str]) -> None:
    schema, secret = api
    headers = {"Authorization": f"Bearer {secret}"}
    checked = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def run(case: Any) -> None:
            case.call_and_validate(headers=headers, excluded_checks=SEMANTIC)

        run()
        checked.append(operation.label)
    assert len(checked) >= 17
