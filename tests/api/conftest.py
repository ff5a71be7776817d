"""An API app over a fresh SQLite store, a fake clock, and one token per scope."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gnomon.api import RateLimit, create_app
from gnomon.clock import FakeClock
from gnomon.scheduler import Scheduler
from gnomon.store import SqlStore
from gnomon.store.admin import create_token

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday


class Tokens:
    def __init__(self, scheduler: Scheduler) -> None:
        self.secrets = {
            scope: create_token(scheduler.store, f"{scope}-token", scope, START)[0]
            for scope in ("read", "write", "admin")
        }

    def header(self, scope: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secrets[scope]}"}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, empty database, copied for each test (migrating takes ~0.5 s)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    SqlStore(str(path)).close()
    return path


@pytest.fixture
def scheduler(tmp_path: Path, clock: FakeClock, migrated_db: Path) -> Iterator[Scheduler]:
    shutil.copy(migrated_db, tmp_path / "api.db")
    with Scheduler(str(tmp_path / "api.db"), clock=clock, workers=2) as s:
        yield s


@pytest.fixture
def tokens(scheduler: Scheduler) -> Tokens:
    return Tokens(scheduler)


LOCAL_URL = "http://127.0.0.1:8787"  # an open-mode server answers only to loopback names


def make_client(scheduler: Scheduler, **kwargs: object) -> TestClient:
    kwargs.setdefault("rate_limit", None)
    kwargs.setdefault("dashboard", False)
    base_url = LOCAL_URL if kwargs.get("open_access") else "http://testserver"
    return TestClient(create_app(scheduler, **kwargs), base_url=base_url)  # type: ignore[arg-type]


@pytest.fixture
def client(scheduler: Scheduler, tokens: Tokens) -> Iterator[TestClient]:
    with make_client(scheduler) as c:
        yield c


def http_job(job_id: str = "hook", when: str = "every 10m", **extra: object) -> dict[str, object]:
    return {
        "id": job_id,
        "when": when,
        "action": {"kind": "http", "config": {"url": "https://example.com/hook"}},
        **extra,
    }


__all__ = ["LOCAL_URL", "START", "RateLimit", "Tokens", "http_job", "make_client"]
