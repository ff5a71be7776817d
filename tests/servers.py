"""Real local servers for integration tests.

``require(name)`` returns the server's address when it answers; otherwise the test skips with
a clear reason — except under ``CI=true``, where a missing server fails the test (``.ci/run``
starts every server first).
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

SERVERS = {
    "postgres": ("127.0.0.1", 5432),
    "redis": ("127.0.0.1", 6379),
    "rabbitmq": ("127.0.0.1", 5672),
    "mosquitto": ("127.0.0.1", 1883),
}
POSTGRES_URL = os.environ.get(
    "GNOMON_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def reachable(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def require(name: str) -> tuple[str, int]:
    host, port = SERVERS[name]
    if not reachable(host, port):
        reason = f"{name} is not running on {host}:{port}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true: .ci/run should have started it)")
        pytest.skip(reason)
    return host, port


@contextmanager
def fresh_postgres_database(prefix: str, server: str = POSTGRES_URL) -> Iterator[str]:
    """A new, empty database on ``server`` (its URL, for psycopg or gnomon), dropped after."""
    import psycopg

    admin_url = server.replace("postgresql+psycopg://", "postgresql://", 1)
    name = f"{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
