"""store.admin goes through the store's own transactions, and searches jobs as the store does."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gnomon.search_text import matches
from gnomon.store import SqlStore
from gnomon.store.admin import append_audit, beat, create_token, jobs_after, revoke_token
from tests.contract.test_store import make_job

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class CountingLock:
    """The store's writer lock, counting the transactions that queue on it."""

    def __init__(self, inner: AbstractContextManager[Any]) -> None:
        self.inner, self.entered = inner, 0

    def __enter__(self) -> Any:
        self.entered += 1
        return self.inner.__enter__()

    def __exit__(self, *exc: Any) -> Any:
        return self.inner.__exit__(*exc)


def test_admin_writes_queue_on_the_writer_lock(store: SqlStore) -> None:
    lock = CountingLock(store._writer)
    store._writer = lock
    create_token(store, "ci", "read", T0)
    append_audit(store, at=T0, actor="me", action="job.create", target="job:a")
    beat(store, "host:1", T0)
    beat(store, "host:1", T0 + timedelta(seconds=5))
    revoke_token(store, "ci", T0)
    assert lock.entered == 5


@pytest.mark.parametrize("text", ["BACKUP", "backup", "100%", "a_b", "_", "%", "zzz"])
def test_every_job_listing_searches_the_same_way(store: SqlStore, text: str) -> None:
    store.add_jobs(
        [
            make_job("Nightly-Backup", name="the nightly backup"),
            make_job("disk", name="disk at 100%"),
            make_job("disk2", name="disk at 1000"),
            make_job("a_b", name="underscore"),
            make_job("axb", name="no underscore"),
        ]
    )
    listed = [j.id for j in store.list_jobs(search=text)]
    paged = [j.id for j in jobs_after(store, "", limit=100, search=text)]
    assert paged == listed
    # a literal substring of the id, the name or the action summary, in any case
    expected = sorted(j.id for j in store.list_jobs() if matches(j, text))
    assert listed == expected
