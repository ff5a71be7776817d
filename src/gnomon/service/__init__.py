"""The use cases of the faces (REST API, CLI, dashboard, device discovery), over a Scheduler.

A face calls the :class:`~gnomon.scheduler.Scheduler`'s public methods or a function here,
never the store: this package is the one place a face's request turns into store calls, so a
new store (or a store reorganised) changes this package, not four faces. Each function takes
the scheduler whose store it uses, and states what it does in its docstring; times it compares
come from the scheduler's clock unless given. The record types the faces need (:class:`Scope`,
:class:`TokenInfo`, :class:`AuditEntry`, :class:`Heartbeat`, :class:`FinishedRun`) are
re-exported here, so no face imports :mod:`gnomon.store`.

Faces import every use case from here (``from gnomon import service``); each concept lives in
its own module:

- :mod:`~gnomon.service.tokens`: tokens (create, revoke, list, verify, count the live ones);
- :mod:`~gnomon.service.audit`: the audit log (append, read);
- :mod:`~gnomon.service.health`: health (the database: URL, identity, ping, schema revision,
  opening one to report on; heartbeats, lag, queue depth, broker backlog; this process's loop);
- :mod:`~gnomon.service.counts`: counts for metrics and the dashboard;
- :mod:`~gnomon.service.jobs`: cursor pages of jobs, upcoming jobs, jobs with their last run,
  removed jobs;
- :mod:`~gnomon.service.runs`: one run, recent runs, runs across jobs, runs in flight, losses,
  retry and cancel;
- :mod:`~gnomon.service.events`: the event log (append, read the newest);
- :mod:`~gnomon.service.device_sync`: device-job sync (jobs under an id prefix, replace one);
- :mod:`~gnomon.service.backfilling`: backfill (record a past range's fires, or list them);
- :mod:`~gnomon.service.pruning`: pruning old history by hand (retention rules, prune);
- :mod:`~gnomon.service.destinations`: named destinations (list, put, remove; see
  :mod:`gnomon.destinations`).
"""

from __future__ import annotations

from gnomon.destinations import Destination
from gnomon.retention import PruneReport, Retention
from gnomon.service.audit import audit_entries, record_audit
from gnomon.service.backfilling import Backfill, backfill, backfill_fires
from gnomon.service.counts import count_jobs, fire_counts, job_counts, run_counts, run_totals
from gnomon.service.destinations import list_destinations, put_destination, remove_destination
from gnomon.service.device_sync import PAGE, jobs_under, replace_job
from gnomon.service.events import latest_events, newest_events, record_events
from gnomon.service.health import (
    broker_backlog,
    database_identity,
    database_url,
    heartbeats,
    inspect_database,
    oldest_due,
    ping,
    queue_depth,
    schema_revision,
    this_process,
)
from gnomon.service.jobs import (
    RemovedJob,
    jobs_after,
    jobs_by_id,
    jobs_with_last_runs,
    removed_job,
    removed_jobs,
    upcoming_jobs,
)
from gnomon.service.pruning import prune, retention_rules
from gnomon.service.runs import (
    cancel_run,
    find_runs,
    get_run,
    loss_counts,
    recent_runs,
    retry_run,
    runs_in_flight,
)
from gnomon.service.tokens import (
    NewToken,
    Revoked,
    create_token,
    list_tokens,
    live_token_count,
    revoke_token,
    verify_token,
)
from gnomon.store import FinishedRun
from gnomon.store.admin import AuditEntry, Heartbeat, Scope, TokenInfo

__all__ = [
    "PAGE",
    "AuditEntry",
    "Backfill",
    "Destination",
    "FinishedRun",
    "Heartbeat",
    "NewToken",
    "PruneReport",
    "RemovedJob",
    "Retention",
    "Revoked",
    "Scope",
    "TokenInfo",
    "audit_entries",
    "backfill",
    "backfill_fires",
    "broker_backlog",
    "cancel_run",
    "count_jobs",
    "create_token",
    "database_identity",
    "database_url",
    "find_runs",
    "fire_counts",
    "get_run",
    "heartbeats",
    "inspect_database",
    "job_counts",
    "jobs_after",
    "jobs_by_id",
    "jobs_under",
    "jobs_with_last_runs",
    "latest_events",
    "list_destinations",
    "list_tokens",
    "live_token_count",
    "loss_counts",
    "newest_events",
    "oldest_due",
    "ping",
    "prune",
    "put_destination",
    "queue_depth",
    "recent_runs",
    "record_audit",
    "record_events",
    "remove_destination",
    "removed_job",
    "removed_jobs",
    "replace_job",
    "retention_rules",
    "retry_run",
    "revoke_token",
    "run_counts",
    "run_totals",
    "runs_in_flight",
    "schema_revision",
    "this_process",
    "upcoming_jobs",
    "verify_token",
]
