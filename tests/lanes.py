"""Parallel lanes for the whole suite on a small machine (a pytest-xdist scheduler).

The suite mixes two kinds of tests:

- **real-time** tests start schedulers, workers and brokers as processes and assert on what
  happened in wall-clock time (lateness after a crash, a chaos run's kills, a browser). Most of
  their time is spent waiting, and together they are most of the suite's time;
- **the rest**: CPU-bound, with injected clocks, that can run anywhere at any priority.

``LaneScheduling`` runs the real-time tests in two *lanes*, each a worker that runs its tests
one after the other in collection order:

- ``gw0``, the **timing** lane, at normal priority: the tests that assert a bound in
  wall-clock time (lateness of replicas, chaos, clean stop; a crash's window in a burst);
- ``gw1``, the **tolerant** lane, at a slightly lower priority (``nice`` 5): real-time tests
  that assert only outcomes (every fire once, nothing twice) with generous deadlines.

Every other worker shares the rest as xdist's ``load`` scheduling does, at ``nice`` 10, so the
lanes' processes run first whenever they need a core. A lane that is done helps with the rest.
With fewer workers, a missing lane's tests join the timing lane.

Which test runs where is decided here only, by path prefixes of node ids (the xdist
controller sees node ids, not markers): ``TIMING`` and ``TOLERANT``.

``python3 dev.py test`` runs the suite this way (``-n 3``); ``pytest`` without ``-n`` runs
serially as before.
"""

from __future__ import annotations

import os

import pytest
from xdist.scheduler import LoadScheduling
from xdist.workermanage import WorkerController

TIMING: tuple[str, ...] = (
    "tests/reliability/test_chaos.py",
    "tests/reliability/test_replicas.py",
    "tests/reliability/test_clean_stop.py",
    "tests/reliability/test_up_process.py",
    "tests/reliability/test_crash_burst.py",  # its 50 ms window of a kill is wall-clock
)
TOLERANT: tuple[str, ...] = (
    "tests/reliability/",
    "tests/integration/celery/",
    "tests/integration/test_up_broker.py",
    "tests/integration/test_pg_notify.py",
    "tests/e2e/",
)
NICE = {"gw0": 0, "gw1": 5}  # by worker; every other worker: REST_NICE
REST_NICE = 10


def lane_of(nodeid: str) -> str | None:
    """The worker that must run ``nodeid`` (``gw0``, ``gw1``), or None for any worker."""
    if nodeid.startswith(TIMING):
        return "gw0"
    if nodeid.startswith(TOLERANT):
        return "gw1"
    return None


class LaneScheduling(LoadScheduling):  # type: ignore[misc, valid-type]
    """xdist's ``load`` scheduling, with the real-time tests in their lanes."""

    def __init__(self, config: pytest.Config, log: object = None) -> None:
        super().__init__(config, log)  # type: ignore[arg-type]
        self._laned: set[int] = set()

    def schedule(self) -> None:
        assert self.collection_is_completed
        if self.collection is not None:  # a node came up late: as in LoadScheduling
            for node in self.nodes:
                self.check_schedule(node)
            return
        if not self._check_nodes_have_same_collection():
            self.log("**Different tests collected, aborting run**")
            return
        self.collection = next(iter(self.node2collection.values()))
        if not self.collection:
            return
        if self.maxschedchunk is None:
            self.maxschedchunk = len(self.collection)
        by_id = {node.gateway.id: node for node in self.nodes}
        first = by_id.get("gw0", self.nodes[0])
        lanes: dict[WorkerController, list[int]] = {}
        for i, nodeid in enumerate(self.collection):
            name = lane_of(nodeid)
            if name is None:
                self.pending.append(i)
            else:
                lanes.setdefault(by_id.get(name, first), []).append(i)
        for node, items in lanes.items():
            self.node2pending[node].extend(items)
            node.send_runtest_some(items)
            self._laned.update(items)
            if len(items) == 1:
                self.check_schedule(node)
        others = [node for node in self.nodes if node not in lanes]
        if self.pending and others:
            chunk = max(2, min(len(self.pending) // len(others) // 4, self.maxschedchunk))
            for node in others:
                self._send_tests(node, chunk)
        if not self.pending:
            for node in self.nodes:
                node.shutdown()

    def check_schedule(self, node: WorkerController, duration: float = 0) -> None:
        """As xdist's, but a lane takes no other test while it has its own to run.

        A worker runs a test only once it has the next one (or is told to shut down), so a
        lane down to its last test is given one more from the rest to run after it."""
        mine = self.node2pending[node]
        if self.pending and self._laned.intersection(mine):
            if len(mine) == 1:
                self._send_tests(node, 1)
            return
        super().check_schedule(node, duration)


@pytest.hookimpl(optionalhook=True)  # ``-p no:xdist`` runs serially, without this hook
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> LoadScheduling:
    return LaneScheduling(config, log)  # type: ignore[arg-type]


def pytest_configure(config: pytest.Config) -> None:
    """On a worker, take the worker's CPU priority (see the module doc)."""
    worker = getattr(config, "workerinput", {}).get("workerid")
    if worker is not None and hasattr(os, "nice"):
        os.nice(NICE.get(worker, REST_NICE))
