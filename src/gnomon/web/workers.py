"""The schedulers and workers page (who is alive, what each runs now, what waits) and the
activity page (runs per minute by outcome, lateness percentiles)."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from gnomon import service
from gnomon.api.context import context
from gnomon.models import Run, RunStatus
from gnomon.run_stats import run_activity
from gnomon.web.chart import GROUPS, lateness_chart, outcome_chart
from gnomon.web.render import render
from gnomon.web.session import principal

router = APIRouter(include_in_schema=False)


@router.get("/workers", response_class=HTMLResponse)
def workers_page(request: Request) -> HTMLResponse:
    """Schedulers by heartbeat (alive within one lease), the runs each holds now, Celery
    workers seen running runs, and the queues: due pending runs and runs in a broker."""
    principal(request)
    scheduler = context(request).scheduler
    now = scheduler.clock.now()
    alive_since = now - timedelta(seconds=scheduler.lease)
    in_flight = service.runs_in_flight(scheduler)
    running: dict[str, list[Run]] = defaultdict(list)
    for run in in_flight:
        if run.status is RunStatus.RUNNING:
            running[run.worker or "?"].append(run)
    beats = service.heartbeats(scheduler)
    known = {b.id for b in beats}
    return render(
        request,
        "workers.html",
        beats=beats,
        alive_since=alive_since,
        running=running,
        others=sorted(w for w in running if w not in known),
        here=service.this_process(scheduler),
        queued=[r for r in in_flight if r.status is RunStatus.QUEUED],
        depth=service.queue_depth(scheduler, now),
        backlog=service.broker_backlog(scheduler),
        running_count=sum(len(r) for r in running.values()),
    )


@router.get("/activity", response_class=HTMLResponse)
def activity_page(request: Request, hours: int = Query(3, ge=1, le=24)) -> HTMLResponse:
    """Counters and charts of the last ``hours``: runs per minute by outcome, lateness."""
    principal(request)
    found = run_activity(context(request).scheduler, hours)
    groups = {
        name: sum(found.outcomes.get(s, 0) for s in statuses) for name, statuses in GROUPS.items()
    }
    return render(
        request,
        "activity.html",
        activity=found,
        hours=hours,
        groups=groups,
        total=sum(found.outcomes.values()),
        outcomes=outcome_chart(found.minutes),
        lateness=lateness_chart(found.minutes),
    )
