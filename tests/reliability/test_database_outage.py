"""RELIABILITY #12 (and #5 by chance): the database goes away under load and comes back.

Two ``gnomon up`` processes reach PostgreSQL through a TCP proxy. About 3 s in, the proxy
resets every connection and refuses new ones for 5 s, then lets them through again (the
shared PostgreSQL server itself is never stopped). Both processes must survive, fire again
within 5 s of the database's return, and every fire must still happen exactly once (due
during the outage: within the 60 s grace, so late but run).

A cut can land right after a COMMIT whose reply never arrives: a claim the process believes
failed then stays ``running`` until its 30 s lease expires and is taken back — so the test
waits up to a minute for completeness — and an action may run again with the same run id
(at least once), which is listed and allowed.
"""

from __future__ import annotations

import signal
import subprocess
from collections import defaultdict
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.reliability.checker import Fire, check, interval_fires
from tests.reliability.conftest import Launcher
from tests.reliability.ledger import Entry, read
from tests.reliability.proxy import TcpProxy
from tests.reliability.workload import (
    every,
    next_whole_second,
    sleep_until,
    store_jobs,
    utcnow,
    wait_for_ledger,
)

JOBS = 20
OUTAGE = 5.0
LEASE = 30.0


@pytest.fixture
def proxy(postgres_url: str) -> Iterator[TcpProxy]:
    parts = urlsplit(postgres_url)
    tcp = TcpProxy((parts.hostname or "127.0.0.1", parts.port or 5432))
    try:
        yield tcp
    finally:
        tcp.close()


def via(proxy: TcpProxy, url: str) -> str:
    parts = urlsplit(url)
    netloc = (
        f"{parts.username}@127.0.0.1:{proxy.port}" if parts.username else f"127.0.0.1:{proxy.port}"
    )
    return urlunsplit(parts._replace(netloc=netloc))


def same_run_reexecutions(entries: list[Entry]) -> set[Fire]:
    by_fire: dict[Fire, list[Entry]] = defaultdict(list)
    for entry in entries:
        by_fire[entry.fire].append(entry)
    return {
        f
        for f, copies in by_fire.items()
        if len(copies) > 1 and len({c.run_id for c in copies}) == 1
    }


@pytest.mark.slow
@pytest.mark.postgres
def test_database_connections_cut_for_5_s_every_fire_once(
    tmp_path: Path, launcher: Launcher, postgres_url: str, proxy: TcpProxy
) -> None:
    url, ledger = via(proxy, postgres_url), tmp_path / "ledger.jsonl"
    replicas = [launcher.start(url, f"replica-{i}") for i in range(2)]
    for replica in replicas:
        replica.wait_ready()
    base = next_whole_second(utcnow(), margin=1.0)
    one = timedelta(seconds=1)
    store_jobs(postgres_url, [every(f"job-{i:02}", 1, base, ledger) for i in range(JOBS)])

    sleep_until(base + timedelta(seconds=3.3))
    cut_at = utcnow()
    connections = proxy.cut()
    sleep_until(cut_at + timedelta(seconds=OUTAGE))
    proxy.restore()
    restored_at = utcnow()

    last = restored_at + timedelta(seconds=5)
    must = [f for i in range(JOBS) for f in interval_fires(f"job-{i:02}", base, one, last)]
    tail = last + timedelta(seconds=120)
    may = [f for i in range(JOBS) for f in interval_fires(f"job-{i:02}", base, one, tail)]
    wanted = set(must)
    wait_for_ledger(
        ledger,
        lambda es: wanted <= {e.fire for e in es},
        until=restored_at + timedelta(seconds=LEASE * 1.5 + 15),
    )
    alive = [r.alive() for r in replicas]
    codes = [r.stop() for r in replicas]
    entries = read(ledger)
    report = check(must, may, entries)
    again = same_run_reexecutions(entries)
    after = sorted(e.written_at for e in entries if e.written_at > restored_at.timestamp())
    back = (after[0] - restored_at.timestamp()) if after else float("inf")
    by_replica = {
        r.name: sum(e.pid == r.pid and e.written_at > restored_at.timestamp() for e in entries)
        for r in replicas
    }
    print(report.summary())
    print(
        f"cut {connections} connections for {OUTAGE:g} s at base+"
        f"{(cut_at - base).total_seconds():.2f} s; first fire {back:.2f} s after the return; "
        f"fires after it by replica {by_replica}; {len(again)} same-run-id re-executions"
    )
    assert alive == [True, True], "a replica died while the database was away"
    assert codes == [0, 0]
    assert connections > 0, "the proxy cut nothing: the fault was not injected"
    assert back < 5.0, "no fire within 5 s of the database's return"
    for fire in again:
        del report.duplicates[fire]
    assert report.ok, report.summary()


@pytest.mark.postgres
def test_ctrl_c_twice_stops_gnomon_up_while_the_database_is_away(
    tmp_path: Path, launcher: Launcher, postgres_url: str, proxy: TcpProxy
) -> None:
    url, ledger = via(proxy, postgres_url), tmp_path / "ledger.jsonl"
    process = launcher.start(url, "up")
    process.wait_ready()
    base = next_whole_second(utcnow(), margin=1.0)
    store_jobs(postgres_url, [every(f"slow-{i}", 1, base, ledger, delay=1.0) for i in range(4)])
    wait_for_ledger(ledger, lambda es: len(es) >= 4, until=base + timedelta(seconds=10))
    proxy.cut()  # runs in flight now finish while their outcomes cannot be recorded
    sleep_until(utcnow() + timedelta(seconds=2))
    assert process.alive()
    process.signal(signal.SIGINT)
    sleep_until(utcnow() + timedelta(seconds=1))
    process.signal(signal.SIGINT)  # a person who does not want to wait
    assert process.proc is not None
    try:
        process.proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pytest.fail("gnomon up still running 5 s after a second Ctrl-C")
