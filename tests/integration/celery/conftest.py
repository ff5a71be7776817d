"""Fixtures for gnomon on Celery: a real broker (Redis or RabbitMQ), a queue of the test's
own, a fresh PostgreSQL database, and gnomon processes (``tests.reliability.conftest``)."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator

import pytest

from tests.reliability.conftest import launcher  # noqa: F401 (a fixture)
from tests.servers import require

BROKERS = [pytest.param("redis", id="redis"), pytest.param("rabbitmq", id="rabbitmq")]
URLS = {"redis": "redis://127.0.0.1:6379/0", "rabbitmq": "amqp://guest:guest@127.0.0.1:5672//"}


@pytest.fixture
def queue() -> str:
    """A broker queue of this test's own (tests may run side by side on one broker)."""
    return f"gnomon-test-{secrets.token_hex(4)}"


@pytest.fixture
def broker_url(broker: str, queue: str) -> Iterator[str]:
    """The local ``broker``'s URL (parametrize ``broker`` with :data:`BROKERS`); the
    test's queue is deleted afterwards."""
    require(broker)
    url = URLS[broker]
    yield url
    from kombu import Connection

    # (A queue never declared cannot be deleted: nothing to clean.)
    with Connection(url, connect_timeout=5) as conn, contextlib.suppress(Exception):
        conn.default_channel.queue_delete(queue)
