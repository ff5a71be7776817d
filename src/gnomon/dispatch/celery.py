"""The Celery dispatcher: a scheduler's runs are executed by Celery workers.

The scheduler's step claims due runs ``queued`` (the database is the outbox: each run is
recorded before its message exists); :meth:`CeleryDispatcher.submit` publishes one
message per run — its id and its job's name, JSON, nothing else — and records, once the
broker has confirmed them, when each is sent again if no worker has started it
(:data:`~gnomon.settings.Settings.resend_after`, then as long as it has waited: the wait
doubles with each re-send). Each heartbeat of the scheduler's loop
sends again the runs whose moment passed: those a sender died before publishing, and
those a broker lost. A worker (:mod:`gnomon.dispatch.celery_worker`) starts a run by id,
exactly once whatever the number of deliveries.

Runs are never published before they are due (Celery holds ETA messages in worker memory,
where they interact badly with Redis's visibility timeout): the dispatcher takes nothing
ahead. While the broker is away the dispatcher takes nothing at all (:meth:`capacity` is 0
for a moment after a failed publish), so fires stay ``pending`` in the store instead of
piling up as queued runs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from gnomon.dispatch.base import DispatchContext
from gnomon.redaction import redact_text
from gnomon.store import ClaimedRun

if TYPE_CHECKING:
    from celery import Celery

log = logging.getLogger(__name__)
TASK = "gnomon.run"
BATCH = 500  # runs claimed per step for the broker
BROKER_PAUSE = 2.0  # seconds nothing is claimed after a failed publish
PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 1.0}


def task_name(job_id: str) -> str:
    """The name monitoring (Flower, logs) shows for a run of ``job_id``."""
    return f"{TASK}[{job_id}]"


class CeleryDispatcher:
    """Sends claimed runs to Celery workers through ``app``'s broker (see the module
    docstring). ``queue``: the broker queue; ``resend_after``: seconds a published run
    may wait for a worker before it is sent again."""

    queues = True  # the scheduler claims runs 'queued', not 'running'

    def __init__(self, app: Celery, *, queue: str = "gnomon", resend_after: float = 300.0) -> None:
        self.app, self.queue, self.resend_after = app, queue, resend_after
        self._context: DispatchContext | None = None
        self._paused_until = 0.0  # monotonic: the broker failed; claim nothing until then
        self.sent = 0  # messages the broker accepted (for status and tests)

    @property
    def context(self) -> DispatchContext:
        if self._context is None:
            raise RuntimeError("dispatcher not started")
        return self._context

    def start(self, context: DispatchContext) -> None:
        self._context = context

    def describe(self) -> str:
        url = self.app.conf.broker_url or "the default broker"
        return f"runs sent to Celery workers via {redact_text(str(url))} (queue {self.queue})"

    def capacity(self) -> int:
        return 0 if time.monotonic() < self._paused_until else BATCH

    def hungry(self) -> bool:
        return self.capacity() > 0

    def room_ahead(self) -> int:
        return 0

    def submit(self, claimed: Sequence[ClaimedRun]) -> None:
        self._publish(claimed)

    def _publish(self, claimed: Sequence[ClaimedRun]) -> None:
        """Publish each run; record the ones the broker accepted. On a failure the rest stay
        queued under this sender's short claim and are sent again when it lapses."""
        if not claimed:
            return
        sent: list[int] = []
        with self.app.producer_or_acquire() as producer:
            for item in claimed:
                run = item.run
                try:
                    self.app.send_task(
                        TASK,
                        args=[run.id],
                        kwargs={"job": run.job_id, "attempt": run.attempt},
                        queue=self.queue,
                        shadow=task_name(run.job_id),
                        producer=producer,
                        retry=True,
                        retry_policy=PUBLISH_RETRY,
                    )
                except Exception as exc:  # kombu's errors vary by transport
                    self._paused_until = time.monotonic() + BROKER_PAUSE
                    log.warning(
                        "broker unavailable (%s): %d run(s) will be sent again later",
                        redact_text(str(exc)),
                        len(claimed) - len(sent),
                    )
                    break
                sent.append(run.id)
        if sent:
            ctx = self.context
            ctx.store.mark_sent(sent, ctx.worker_id, ctx.clock.now(), self.resend_after)
            self.sent += len(sent)

    def recheck(self) -> None:
        pass

    def heartbeat(self) -> None:
        """Send again the queued runs whose moment passed (see the module docstring)."""
        if self.capacity() == 0:
            return
        ctx = self.context
        again = ctx.store.resend_due(ctx.clock.now(), ctx.worker_id, ctx.lease)
        if again:
            log.info("sending %d queued run(s) again", len(again))
            self._publish(again)

    def in_flight(self) -> list[int]:
        return []  # a run is published within submit(): none is held here after it

    def wait_idle(self, timeout: float | None = None) -> bool:
        return True

    def drain(self) -> list[int]:
        return []

    def shutdown(self, wait: bool = True, timeout: float | None = None) -> None:
        # Nothing is held. (The app's connection pool stays open: kombu shares producer
        # pools between apps on the same broker, and closing it would break the others.)
        pass


__all__ = ["TASK", "CeleryDispatcher", "task_name"]
