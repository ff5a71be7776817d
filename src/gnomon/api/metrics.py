"""Prometheus metrics: what this process observed, plus store counts read at scrape time.

In-process (from :meth:`Scheduler.on_finished`): ``gnomon_runs_finished_total{status}``,
``gnomon_run_lateness_seconds`` (start minus scheduled time) and
``gnomon_run_duration_seconds``. From the store at each scrape: ``gnomon_fires_total{reason}``,
``gnomon_runs_missed_total``, ``gnomon_runs_skipped_total``, ``gnomon_runs{status}``,
``gnomon_queue_depth`` and ``gnomon_jobs{state}``. Each app has its own registry.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from gnomon import service
from gnomon.service import FinishedRun

if TYPE_CHECKING:
    from gnomon.scheduler import Scheduler

log = logging.getLogger(__name__)
LATENESS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


class StoreCollector(Collector):
    """Counts read from the store when Prometheus scrapes."""

    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler

    def collect(self) -> Iterator[Metric]:
        scheduler = self.scheduler
        fires = CounterMetricFamily("gnomon_fires", "Fires recorded, by reason.", labels=["reason"])
        for reason, n in sorted(service.fire_counts(scheduler).items()):
            fires.add_metric([reason], n)
        yield fires
        totals = service.run_totals(scheduler)  # pruned runs included: never goes down
        for status in ("missed", "skipped"):
            yield CounterMetricFamily(
                f"gnomon_runs_{status}", f"Fires recorded as {status}.", value=totals.get(status, 0)
            )
        counts = service.run_counts(scheduler)
        runs = GaugeMetricFamily("gnomon_runs", "Stored runs by status.", labels=["status"])
        for status, n in sorted(counts.items()):
            runs.add_metric([status], n)
        yield runs
        yield GaugeMetricFamily(
            "gnomon_queue_depth", "Pending runs already due.", value=service.queue_depth(scheduler)
        )
        jobs = GaugeMetricFamily("gnomon_jobs", "Stored jobs by state.", labels=["state"])
        for state, n in sorted(service.job_counts(scheduler).items()):
            jobs.add_metric([state], n)
        yield jobs


class Metrics:
    """The registry of one API app, fed by the scheduler's finished-run listener."""

    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler
        self.registry = CollectorRegistry(auto_describe=True)
        self.finished = Counter(
            "gnomon_runs_finished",
            "Attempts this process finished.",
            ["status"],
            registry=self.registry,
        )
        self.lateness = Histogram(
            "gnomon_run_lateness_seconds",
            "Seconds from a run's scheduled time to its start.",
            buckets=LATENESS_BUCKETS,
            registry=self.registry,
        )
        self.duration = Histogram(
            "gnomon_run_duration_seconds",
            "Seconds an attempt ran.",
            buckets=LATENESS_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(StoreCollector(scheduler))
        scheduler.on_finished(self.observe)

    def observe(self, item: FinishedRun) -> None:
        """Count an attempt that ended (called in the scheduler's recorder thread)."""
        self.finished.labels(item.status.value).inc()
        try:
            run = service.get_run(self.scheduler, item.run_id)
        except Exception:  # metrics must never disturb recording
            log.debug("no run %s for metrics", item.run_id, exc_info=True)
            return
        if run.started_at is not None:
            late = (run.started_at - run.scheduled_for).total_seconds()
            self.lateness.observe(max(0.0, late))
            self.duration.observe(max(0.0, (item.finished_at - run.started_at).total_seconds()))

    def render(self) -> bytes:
        return generate_latest(self.registry)
