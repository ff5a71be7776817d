"""The indexed job search finds exactly what the plain substring search finds (issue 15).

On SQLite the index is an FTS5 table (trigram tokenizer), on PostgreSQL a pg_trgm GIN
index; queries under 3 characters scan. Whatever the path, the jobs found are those where
the query is a literal substring of the id, the name or the action summary, in any case
(:func:`gnomon.search_text.matches`): checked here against the store's forced scan and the
Python definition, over generated names, actions and queries (unicode, wildcard characters,
FTS5 syntax, short queries).
"""

from __future__ import annotations

import itertools
import logging
import secrets
from dataclasses import replace

import pytest
from alembic import command
from alembic.config import Config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from gnomon.events import Event
from gnomon.models import ActionSpec
from gnomon.search_text import matches
from gnomon.store import SqlStore
from gnomon.store.admin import jobs_after
from gnomon.store.engine import MIGRATIONS, normalise_url
from gnomon.store.statements import job_search
from gnomon.store.tables import jobs as jobs_table
from tests.contract.test_store import T0, make_job

# Characters that are special somewhere: LIKE wildcards and escape, FTS5 syntax, case pairs
# whose folding differs from lower() (ß, İ, ς), combining marks, CJK, an emoji.
TRICKY = '%_\\"*^:()-+ .aAbBcCsSßẞİıiΣσςéé日本語🙂'  # noqa: RUF001 - look-alikes on purpose
tricky_text = st.text(alphabet=st.sampled_from(TRICKY), max_size=12)
free_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12
)
names = st.one_of(tricky_text, free_text).filter(bool)
ID_CHARS = "abcXYZ019_.:@-"


@st.composite
def actions(draw: st.DrawFn) -> ActionSpec:
    word = draw(names)
    kind = draw(st.sampled_from(["shell", "http", "mqtt", "python", "plugin-x"]))
    config = {
        "shell": {"argv": ["echo", word]},
        "http": {"url": f"https://example.org/{word}?token=hidden", "method": "POST"},
        "mqtt": {"topic": f"home/{word}"},
        "python": {"ref": f"mod:{word}"},
        "plugin-x": {"anything": word},
    }[kind]
    return ActionSpec(kind=kind, config=config)


queries = st.one_of(tricky_text, free_text, st.sampled_from(["", "a", "é", "%", "_", '"', "*"]))
SEEN_IDS = itertools.count()


def scanned(store: SqlStore, query: str) -> list[str]:
    """The plain substring search: the same condition, never through the index."""
    with store._read() as conn:
        plain = select(jobs_table.c.id).where(job_search(conn, query, store.dialect, indexed=False))
        return sorted(conn.execute(plain.order_by(jobs_table.c.id)).scalars())


def found(store: SqlStore, query: str) -> list[str]:
    return [j.id for j in store.list_jobs(search=query, limit=10_000)]


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    jobs=st.lists(
        st.tuples(st.text(alphabet=ID_CHARS, max_size=8), names, actions()),
        min_size=1,
        max_size=6,
    ),
    data=st.data(),
)
def test_indexed_search_finds_what_the_plain_substring_search_finds(
    store: SqlStore, jobs: list[tuple[str, str, ActionSpec]], data: st.DataObject
) -> None:
    new = [
        replace(make_job(f"j{next(SEEN_IDS):06d}{suffix}", name=name), action=action)
        for suffix, name, action in jobs
    ]
    store.add_jobs(new)
    stored = store.list_jobs(limit=10_000)
    # queries that hit: pieces of what was just stored, and free ones
    pieces = [job.name for job in new] + [str(v) for job in new for v in job.action.config.values()]
    piece = data.draw(st.sampled_from(pieces))
    start = data.draw(st.integers(0, len(piece)))
    cut = piece[start : start + data.draw(st.integers(1, 6))]
    for query in (cut, cut.upper(), data.draw(queries)):
        expected = sorted(j.id for j in stored if matches(j, query))
        assert found(store, query) == expected, query
        assert scanned(store, query) == expected, query


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("50%", ["pct"]),  # % literal, not a wildcard
        ("a_b", ["under"]),
        ('say "hi"', ["quote"]),  # FTS5 quotes literal
        ("x*", ["star"]),  # FTS5 prefix operator literal
        ("OR", ["or"]),  # FTS5 keyword literal (and 'or' in no other job)
        ("STRASSE", ["street"]),  # ß folds to ss
        ("_B", ["under"]),  # short: scanned
        ("%", ["pct"]),
        ("\ud7ff", []),  # the character before the surrogates: the next one is U+E000
    ],
)
def test_search_takes_every_character_literally(
    store: SqlStore, query: str, expected: list[str]
) -> None:
    store.add_jobs(
        [
            make_job("pct", name="disk at 50% full"),
            make_job("pct2", name="disk at 500 full"),
            make_job("under", name="a_b"),
            make_job("underx", name="axb"),
            make_job("quote", name='say "hi" there'),
            make_job("star", name="x* glob"),
            make_job("starx", name="xy glob"),
            make_job("or", name="this OR that"),
            make_job("street", name="Hauptstraße"),
        ]
    )
    assert found(store, query) == expected
    assert scanned(store, query) == expected


def test_search_finds_jobs_by_their_action_summary_never_by_a_secret(store: SqlStore) -> None:
    secret_url = "https://bob:s3cr3t-pw@api.example.org/v1/hooks?api_key=k3y-v4lue#frag"
    http = ActionSpec(
        kind="http",
        config={
            "url": secret_url,
            "method": "POST",
            "headers": {"Authorization": "Bearer t0k3n-x"},
        },
    )
    shell = ActionSpec(kind="shell", config={"argv": ["pg_dump", "--dbname", "sales"]})
    mqtt = ActionSpec(kind="mqtt", config={"topic": "home/garage/door"})
    store.add_jobs(
        [
            replace(make_job("hook"), action=http),
            replace(make_job("dump"), action=shell),
            replace(make_job("door"), action=mqtt),
        ]
    )
    assert found(store, "api.example.org/v1") == ["hook"]
    assert found(store, "PG_DUMP --dbname") == ["dump"]
    assert found(store, "garage/door") == ["door"]
    for secret in ("s3cr3t", "bob", "k3y-v4lue", "t0k3n", "frag", "api_key"):
        assert found(store, secret) == [], secret
        with store._read() as conn:
            texts = conn.execute(select(jobs_table.c.search_text)).scalars().all()
        assert not any(secret in t for t in texts)


def test_a_changed_or_removed_job_is_searched_as_it_now_is(store: SqlStore) -> None:
    store.add_jobs([make_job("a", name="nightly backup"), make_job("b", name="weekly report")])
    job = store.get_job("a")
    event = Event(kind="job.updated", at=T0, job_id="a", data={})
    store.save_job(replace(job, name="nightly vacuum"), event)
    assert found(store, "backup") == []
    assert found(store, "vacuum") == ["a"]
    store.remove_job("b", T0)
    assert found(store, "report") == []
    if store.dialect.name == "sqlite":  # the FTS index agrees with its content table
        with store.engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO gnomon_jobs_search(gnomon_jobs_search, rank) "
                "VALUES ('integrity-check', 1)"
            )


@pytest.mark.parametrize(
    ("query", "index"), [("job-4", ""), ("b-", "_short"), ("4", "_short"), ("b-4", "_short")]
)
def test_searches_use_the_index_at_any_length(store: SqlStore, query: str, index: str) -> None:
    store.add_jobs([make_job(f"job-{i}", name=f"x{i}") for i in range(50)])
    with store.engine.connect() as conn:
        found = select(jobs_table.c.id).where(job_search(conn, query, store.dialect))
        compiled = found.compile(conn, compile_kwargs={"literal_binds": True})
        if store.dialect.name == "sqlite":
            plan = [row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}")]
            assert any("VIRTUAL TABLE INDEX" in line for line in plan), plan
        else:
            conn.exec_driver_sql("SET enable_seqscan = off")
            plan = conn.exec_driver_sql(f"EXPLAIN {compiled}").scalars().all()
            assert any(f"ix_gnomon_jobs_search{index} " in line for line in plan), plan


@pytest.mark.parametrize(
    ("few", "common"),
    [(1000, 2000), (1, 1000), (1, 5), (5, 5)],
    ids=["rowids-then-sort", "id-order-keeping-rowids", "id-order-scan", "few"],
)
def test_every_way_of_reading_the_matches_finds_the_same_jobs(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch, few: int, common: int
) -> None:
    """SQLite reads the matches one of three ways, by how many jobs hold the text; each
    finds the same page (PostgreSQL's planner chooses for itself: same expectations)."""
    store.add_jobs([make_job(f"job-{i:02d}", name=f"n{i}") for i in range(30)])
    everything = [f"job-{i:02d}" for i in range(30)]
    monkeypatch.setattr("gnomon.store.dialect.FEW", few)
    monkeypatch.setattr("gnomon.store.dialect.COMMON", common)
    assert found(store, "job") == everything  # 30 jobs
    assert found(store, "n1") == ["job-01", *everything[10:20]]  # 11 jobs
    assert found(store, "j") == everything
    assert found(store, "1") == sorted({"job-01", *everything[10:20], "job-21"})
    page = [j.id for j in jobs_after(store, "job-12", limit=3, search="n1")]
    assert page == ["job-13", "job-14", "job-15"]
    if store.dialect.name == "sqlite":  # each way is the plan it says
        with store.engine.connect() as conn:
            query = select(jobs_table).where(job_search(conn, "n1", store.dialect))
            sql = query.order_by(jobs_table.c.id).limit(3)
            compiled = sql.compile(conn, compile_kwargs={"literal_binds": True})
            plan = " | ".join(r[-1] for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}"))
        by_rowid = "USING INTEGER PRIMARY KEY" in plan
        assert by_rowid == (few == 1000), plan
        assert ("VIRTUAL TABLE" in plan) == (common == 1000 or few == 1000), plan


def test_migration_0007_fills_the_search_text_of_stored_jobs(new_database) -> None:  # type: ignore[no-untyped-def]
    url = new_database(migrated=False)
    engine = create_engine(normalise_url(url))
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0006")
        conn.execute(
            text(
                "INSERT INTO gnomon_jobs (id, name, trigger, action_kind, action_config, policy,"
                " overlap, state, next_fire_at, created_at, updated_at) VALUES ('old', 'Old Job',"
                " '{}', 'shell', '{\"argv\": [\"rsync\", \"/srv\"]}', '{}', 'allow', 'paused',"
                " NULL, 0, 0)"
            )
        )
    engine.dispose()
    store = SqlStore(url)
    try:
        assert [j.id for j in store.list_jobs(search="RSYNC /srv")] == ["old"]
        assert [j.id for j in store.list_jobs(search="rs")] == ["old"]
    finally:
        store.close()


@pytest.mark.postgres
def test_without_pg_trgm_the_migration_warns_and_search_still_works(
    postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A role that may not create extensions (CREATE on the database, which pg_trgm, a
    trusted extension, needs): the schema is migrated without the trigram index, with a
    warning, and searches give the same jobs (by reading them)."""
    import psycopg

    role = f"gnomon_noext_{secrets.token_hex(3)}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN")
        admin.execute(f"GRANT USAGE, CREATE ON SCHEMA public TO {role}")
    url = make_url(postgres_url).set(drivername="postgresql+psycopg", username=role)
    try:
        with caplog.at_level(logging.WARNING, logger="gnomon.store.migrations"):
            store = SqlStore(url.render_as_string(hide_password=False))
        try:
            assert "job search is not indexed: cannot create the pg_trgm extension" in caplog.text
            store.add_jobs([make_job("dump", name="nightly pg_dump"), make_job("other")])
            assert found(store, "PG_DUMP") == ["dump"]
            assert found(store, "g_d") == ["dump"]
            with store.engine.connect() as conn:
                indexes = conn.exec_driver_sql(
                    "SELECT indexname FROM pg_indexes WHERE tablename = 'gnomon_jobs_search'"
                ).scalars()
                assert set(indexes) == {"gnomon_jobs_search_pkey", "ix_gnomon_jobs_search_short"}
        finally:
            store.close()
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(f"DROP OWNED BY {role}")
            admin.execute(f"DROP ROLE {role}")


@pytest.mark.postgres
def test_advancing_a_job_leaves_its_indexed_copy_alone(postgres_url: str) -> None:
    """PostgreSQL indexes a copy of the search text: a fire's update of next_fire_at (an
    indexed column, so never a HOT update) must not insert its GIN entries again."""
    store = SqlStore(postgres_url)
    try:
        store.add_jobs([make_job("a", name="nightly backup")])
        version = "SELECT xmin::text FROM gnomon_jobs_search WHERE job_id = 'a'"
        with store.engine.begin() as conn:
            before = conn.exec_driver_sql(version).scalar_one()
            conn.exec_driver_sql("UPDATE gnomon_jobs SET next_fire_at = next_fire_at + 1")
            assert conn.exec_driver_sql(version).scalar_one() == before
        event = Event(kind="job.updated", at=T0, job_id="a", data={})
        store.save_job(replace(store.get_job("a"), name="nightly vacuum"), event)
        with store.engine.begin() as conn:
            assert conn.exec_driver_sql(version).scalar_one() != before
        assert found(store, "vacuum") == ["a"]
        store.remove_job("a", T0)
        with store.engine.begin() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM gnomon_jobs_search").scalar() == 0
    finally:
        store.close()
