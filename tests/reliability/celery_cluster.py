"""The processes of the Celery chaos test (``test_celery_chaos``): schedulers and workers
that can be ``kill -9``-ed — a worker with its pool children — and started again.

Celery's prefork children get SIGKILL from the kernel when their parent dies
(``PR_SET_PDEATHSIG``), but not at the same instant: :func:`kill_tree` freezes the parent,
kills the children, then the parent, and waits until none of them runs, so a kill is one
moment the checker can reason about.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import psutil

from tests.reliability.checker import Kill
from tests.reliability.conftest import GnomonProcess, Launcher
from tests.reliability.workload import sleep_until, utcnow

SCHEDULERS, WORKERS = 3, 2
WORKER_OPTIONS = ("--pool", "prefork", "--concurrency", "2", "--without-mingle", "--without-gossip")
LEASE, RESEND_AFTER = 5.0, 10.0  # short: lost runs and lost messages come back quickly
SCHEDULER_READY, WORKER_READY = "gnomon scheduler", " ready."
ONE = timedelta(seconds=1)


@dataclass
class Faults:
    """What the test did: kills (of pool children, for the checker), and the outage."""

    worker_kills: list[Kill] = field(default_factory=list)  # one per killed pool child
    victims: list[str] = field(default_factory=list)  # process names, in order
    outage: tuple[float, float] = (0.0, 0.0)  # broker stopped, started (epoch seconds)
    lost: tuple[int, int] = (0, 0)  # messages the broker held: queued, unacknowledged


def kill_tree(process: GnomonProcess) -> list[int]:
    """``kill -9`` a process and every descendant; the descendants' pids.

    The parent is frozen first, so it cannot react to its children's deaths (a Celery
    worker would reject their messages back to the broker): the whole tree dies as one.
    """
    try:
        parent = psutil.Process(process.pid)
        children = parent.children(recursive=True)
        parent.suspend()
    except psutil.NoSuchProcess:
        children = []
    for child in children:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()
    process.kill()
    deadline = time.monotonic() + 10
    while any(_alive(c) for c in children):  # reparented: another process reaps them
        assert time.monotonic() < deadline, f"children of {process.name} survived SIGKILL"
        time.sleep(0.01)
    return [c.pid for c in children]


def _alive(process: psutil.Process) -> bool:
    try:
        return bool(process.status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


class Cluster:
    """The schedulers and workers of the test, restarted under new names when killed."""

    def __init__(self, launcher: Launcher, url: str, broker: str, workdir: Path) -> None:
        self.launcher, self.url = launcher, url
        self.queue = f"gnomon-chaos-{secrets.token_hex(4)}"
        self.broker_args = ("--broker", broker, "--queue", self.queue)
        self.env = {
            "GNOMON_LEASE": str(LEASE),
            "GNOMON_RESEND_AFTER": str(RESEND_AFTER),
            "GNOMON_STATE_DIR": str(workdir / "state"),
        }
        self.generation = 0
        self.schedulers = [self.scheduler(i) for i in range(SCHEDULERS)]
        self.workers = [self.worker(i) for i in range(WORKERS)]

    def scheduler(self, slot: int) -> GnomonProcess:
        return self.start("scheduler", slot, "--identity", f"s{slot}")

    def worker(self, slot: int) -> GnomonProcess:
        return self.start("worker", slot, *WORKER_OPTIONS, "--hostname", f"worker-{slot}@%h")

    def start(self, command: str, slot: int, *args: str) -> GnomonProcess:
        """``gnomon scheduler`` or ``gnomon worker`` as ``COMMAND-SLOT-GENERATION``."""
        ready = SCHEDULER_READY if command == "scheduler" else WORKER_READY
        name = f"{command}-{slot}-{self.generation}"
        args = (*self.broker_args, *args)
        return self.launcher.start(
            self.url, name, *args, command=command, ready=ready, env=self.env
        )

    @property
    def processes(self) -> list[GnomonProcess]:
        return self.schedulers + self.workers

    def wait_ready(self) -> None:
        for process in self.processes:
            process.wait_ready(timeout=60)

    def kill_and_restart(self, kind: str, slot: int, faults: Faults) -> None:
        """``kill -9`` one process (with its pool children) and start it again 1 s later."""
        group = self.schedulers if kind == "scheduler" else self.workers
        victim = group[slot]
        killed_at = utcnow()
        children = kill_tree(victim)
        faults.victims.append(victim.name)
        if kind == "worker":
            faults.worker_kills += [Kill(pid, killed_at.timestamp()) for pid in children]
        sleep_until(killed_at + ONE)
        self.generation += 1
        group[slot] = self.scheduler(slot) if kind == "scheduler" else self.worker(slot)

    def stop(self) -> dict[str, tuple[int, float]]:
        """SIGTERM every process at once (a clean stop each); their exit codes, and how
        long each took to stop."""

        def stop(process: GnomonProcess) -> tuple[int, float]:
            began = time.monotonic()
            return process.stop(timeout=60), time.monotonic() - began

        with ThreadPoolExecutor(len(self.processes)) as pool:
            stops = pool.map(stop, self.processes)
            return dict(zip((p.name for p in self.processes), stops, strict=True))
