"""store.admin on SQLite and PostgreSQL: tokens, the append-only audit log, heartbeats."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DatabaseError

from gnomon.store import SqlStore, admin
from gnomon.store.engine import SCHEMA_HEAD
from tests.api.conftest import START
from tests.servers import POSTGRES_URL, require


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    if request.param == "sqlite":
        store = SqlStore(str(tmp_path / "admin.db"))
        yield store
        store.close()
        return
    require("postgres")
    base = make_url(POSTGRES_URL)
    dsn = base.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"gnomon_t_{secrets.token_hex(6)}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    store = SqlStore(base.set(database=name).render_as_string(hide_password=False))
    yield store
    store.close()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_tokens_are_stored_hashed_and_revocable(store: SqlStore) -> None:
    secret, info = admin.create_token(store, "ci", "write", START)
    with store.engine.connect() as conn:
        stored = conn.execute(text("SELECT hash FROM gnomon_tokens")).scalar_one()
    assert secret not in stored
    assert len(stored) == 64
    assert admin.verify_token(store, secret) == info
    assert admin.verify_token(store, secret[:-1] + "x") is None
    assert admin.verify_token(store, "not-a-token") is None
    assert admin.live_token_count(store) == 1
    assert [t.id for t in admin.revoke_token(store, "ci", START)] == [info.id]
    assert admin.verify_token(store, secret) is None
    assert admin.list_tokens(store) == []
    assert len(admin.list_tokens(store, include_revoked=True)) == 1


def test_audit_is_append_only(store: SqlStore) -> None:
    admin.append_audit(
        store,
        at=START,
        actor="token:ci",
        action="job.create",
        target="job:a",
        diff={"after": {"name": "a"}},
    )
    for statement in ("UPDATE gnomon_audit SET actor = 'someone else'", "DELETE FROM gnomon_audit"):
        with pytest.raises(DatabaseError, match="append-only"), store.engine.begin() as conn:
            conn.execute(text(statement))
    [entry] = admin.list_audit(store)
    assert (entry.actor, entry.diff) == ("token:ci", {"after": {"name": "a"}})


def test_heartbeats_upsert(store: SqlStore) -> None:
    admin.beat(store, "host:1", START)
    admin.beat(store, "host:2", START + timedelta(seconds=1))
    admin.beat(store, "host:1", START + timedelta(seconds=5))
    beats = admin.heartbeats(store)
    assert [(b.id, b.started_at, b.beat_at) for b in beats] == [
        ("host:1", START, START + timedelta(seconds=5)),
        ("host:2", START + timedelta(seconds=1), START + timedelta(seconds=1)),
    ]
    assert admin.schema_revision(store) == (SCHEMA_HEAD, SCHEMA_HEAD)


def test_a_heartbeat_carries_where_the_scheduler_imports_from(store: SqlStore) -> None:
    admin.beat(store, "host:1", START, ("/srv/app", "/srv/lib"))
    admin.beat(store, "host:2", START)  # one that does not say
    admin.beat(store, "host:1", START + timedelta(seconds=5))  # a beat without: kept
    beats = {b.id: b.imports for b in admin.heartbeats(store)}
    assert beats == {"host:1": ("/srv/app", "/srv/lib"), "host:2": None}
    admin.beat(store, "host:1", START + timedelta(seconds=9), ("/elsewhere",))  # restarted
    assert admin.heartbeats(store)[0].imports == ("/elsewhere",)
