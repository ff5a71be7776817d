"""Executing one claimed run: shared by every dispatcher (local threads, Celery workers).

The runner builds the run's context, calls the action, turns whatever happens into an
:class:`~gnomon.models.Outcome` (an exception is a failure, never an escape), asks
:func:`gnomon.planning.retry_due` whether and when it is retried, and redacts what it reports.
"""

from __future__ import annotations

import logging
import threading

from gnomon.actions.base import RunContext, cap_output
from gnomon.actions.registry import get_action
from gnomon.clock import Clock
from gnomon.destinations import Resolver
from gnomon.errors import InvalidAction
from gnomon.limits import MAX_ERROR_CHARS, cap_result
from gnomon.models import Outcome, RunStatus
from gnomon.planning import retry_due
from gnomon.redaction import mask, redact, redact_text, secret_values
from gnomon.store.rows import ClaimedRun, FinishedRun

log = logging.getLogger(__name__)


def execute_run(
    claimed: ClaimedRun,
    *,
    clock: Clock,
    worker: str,
    cancelled: threading.Event | None = None,
    destinations: Resolver | None = None,
) -> FinishedRun:
    """Run one attempt and describe how it ended (not yet recorded).

    ``destinations`` resolves the named destinations actions refer to (see
    :class:`gnomon.store.destinations.DestinationCatalogue`); None: the settings' only.
    """
    run, policy = claimed.run, claimed.policy
    ctx = RunContext(
        job_id=run.job_id,
        run_id=run.id,
        scheduled_for=run.scheduled_for,
        attempt=run.attempt,
        timeout=policy.timeout,
        cancelled=cancelled or threading.Event(),
        started_at=clock.now(),
        destinations=destinations,
    )
    permanent = False
    try:
        action = get_action(claimed.action.kind)
        outcome = action.execute(claimed.action.config, ctx)
        secret_keys = action.secret_fields
    except InvalidAction as exc:
        # The action cannot run as configured (its code does not import, its kind is gone):
        # a permanent failure, never retried with backoff — another attempt would fail alike.
        outcome = Outcome.failure(f"{exc} (not retried: the action cannot run as configured)")
        secret_keys, permanent = frozenset(), True
    except Exception as exc:  # an action's bug is the run's failure, not the scheduler's
        log.debug("run %s raised", run.id, exc_info=True)
        outcome = Outcome.failure(f"{type(exc).__name__}: {exc}")
        secret_keys = frozenset()
    if not outcome.status.finished:  # 'pending' would run again at every tick, 'running' forever
        outcome = Outcome.failure(
            f"the action reported status {outcome.status.value!r}, which does not end an attempt",
            result=outcome.result,
            output=outcome.output,
        )
    error = None if outcome.error is None else cap_output(outcome.error, MAX_ERROR_CHARS)
    finished = clock.now()
    # A success is recorded with the run (and a Celery worker logs each task anyway): INFO
    # only for the runs that did not succeed, so a busy worker does not log every run twice.
    log.log(
        logging.DEBUG if outcome.status is RunStatus.SUCCEEDED else logging.INFO,
        "run %s of job %s attempt %s: %s",
        run.id,
        run.job_id,
        run.attempt,
        outcome.status.value,
    )
    result, output = outcome.result, outcome.output
    if result is not None or error is not None or output != "":
        # Masked: the values under the config's secret keys, wherever the attempt echoed
        # them. (Most quick runs report nothing: no walk of the config for them.)
        config = claimed.action.config
        secrets = secret_values(config if type(config) is dict else dict(config), secret_keys)
        if result is not None:
            result = mask(redact(cap_result(result), secret_keys), secrets)
        if error is not None:
            error = mask(redact_text(error), secrets)
        if output != "":
            output = mask(redact_text(cap_output(output)), secrets)
    return FinishedRun(
        run_id=run.id,
        worker=worker,
        status=outcome.status,
        finished_at=finished,
        result=result,
        error=error,
        output=output,
        retry_due=None if permanent else retry_due(policy, run.attempt, outcome.status, finished),
        job_id=run.job_id,
    )
