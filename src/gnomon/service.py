"""The use cases of the faces (REST API, CLI, dashboard, device discovery), over a Scheduler.

A face calls the :class:`~gnomon.scheduler.Scheduler`'s public methods or a function here,
never the store: this module is the one place a face's request turns into store calls, so a
new store (or a store reorganised) changes this module, not four faces. Each function takes
the scheduler whose store it uses, and states what it does in its docstring; times it compares
come from the scheduler's clock unless given. The record types the faces need (:class:`Scope`,
:class:`TokenInfo`, :class:`AuditEntry`, :class:`Heartbeat`, :class:`FinishedRun`) are
re-exported here, so no face imports :mod:`gnomon.store`.

Use cases: tokens (create, revoke, list, verify, count the live ones), the audit log (append,
read), health (ping, schema revision, heartbeats, lag, queue depth), counts for metrics and
the dashboard, cursor pages of jobs, one run, backfill, pruning old history by hand,
device-job sync (jobs under an id prefix, replace one, record and read discovery events), and
named destinations (list, put, remove; see :mod:`gnomon.destinations`).
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from gnomon import limits
from gnomon.destinations import Destination, check_destination
from gnomon.errors import Conflict, InvalidSpec, StoreUnavailable
from gnomon.events import Event
from gnomon.models import Job, JobState, Run, RunReason, RunStatus
from gnomon.open_mode import LAST_TOKEN_REFUSAL
from gnomon.pruner import prune_all
from gnomon.redaction import redact
from gnomon.retention import PruneReport, Retention
from gnomon.scheduler import Scheduler
from gnomon.settings import Settings
from gnomon.settings import destinations as settings_destinations
from gnomon.store import FinishedRun, SqlStore, activity, admin
from gnomon.store import destinations as store_destinations
from gnomon.store.admin import AuditEntry, Heartbeat, Scope, TokenInfo
from gnomon.store.engine import error_line

PAGE = 1000  # jobs read per query when walking every job under a prefix

# -- tokens ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewToken:
    """A token just created: ``secret`` is shown once and never stored."""

    secret: str
    info: TokenInfo
    ended_open_mode: bool  # it was the first live token


def create_token(scheduler: Scheduler, name: str, scope: Scope | str) -> NewToken:
    """Store a new token (hashed); raises :class:`InvalidSpec` for a bad name or scope."""
    first = admin.live_token_count(scheduler.store) == 0
    secret, info = admin.create_token(scheduler.store, name, scope, scheduler.clock.now())
    return NewToken(secret=secret, info=info, ended_open_mode=first)


@dataclass(frozen=True, slots=True)
class Revoked:
    """What a revocation did: ``reopened`` when no live token is left (open mode is back)."""

    tokens: list[TokenInfo]
    reopened: bool


def revoke_token(scheduler: Scheduler, id_or_name: str, *, reopen: bool = False) -> Revoked:
    """Revoke every live token with this id or name.

    Revoking the last live token brings open mode back, so it is refused
    (:class:`InvalidSpec`, :data:`~gnomon.open_mode.LAST_TOKEN_REFUSAL`) unless ``reopen``;
    a name that matches no live token is refused too.
    """
    live = admin.list_tokens(scheduler.store)
    matching = [t for t in live if id_or_name in (t.id, t.name)]
    if matching and len(matching) == len(live) and not reopen:
        raise InvalidSpec(LAST_TOKEN_REFUSAL.format(name=id_or_name))
    revoked = admin.revoke_token(scheduler.store, id_or_name, scheduler.clock.now())
    if not revoked:
        raise InvalidSpec(f"no live token with id or name {id_or_name!r} (see gnomon token list)")
    return Revoked(tokens=revoked, reopened=len(revoked) == len(live))


def list_tokens(scheduler: Scheduler, *, include_revoked: bool = False) -> list[TokenInfo]:
    """Tokens by creation time (never their secrets); the live ones unless ``include_revoked``."""
    return admin.list_tokens(scheduler.store, include_revoked=include_revoked)


def verify_token(scheduler: Scheduler, secret: str) -> TokenInfo | None:
    """The live token ``secret`` belongs to, or None (unknown, malformed or revoked)."""
    return admin.verify_token(scheduler.store, secret)


def live_token_count(scheduler: Scheduler) -> int:
    """How many tokens are live (none: a loopback server may run in open mode)."""
    return admin.live_token_count(scheduler.store)


# -- audit ----------------------------------------------------------------------------------


def record_audit(
    scheduler: Scheduler,
    *,
    actor: str,
    action: str,
    target: str | None,
    client: str | None = None,
    diff: dict[str, Any] | None = None,
) -> None:
    """Append who did what, now, to the audit log; ``diff`` is redacted here."""
    admin.append_audit(
        scheduler.store,
        at=scheduler.clock.now(),
        actor=actor,
        action=action,
        target=target,
        client=client,
        diff=redact(diff) if diff else None,
    )


def audit_entries(
    scheduler: Scheduler,
    *,
    target: str | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[AuditEntry]:
    """Audit entries newest first (of one ``target``, e.g. ``job:backup``); page back with
    ``before_id``."""
    return admin.list_audit(scheduler.store, target=target, before_id=before_id, limit=limit)


# -- health ---------------------------------------------------------------------------------


def database_url(scheduler: Scheduler) -> str:
    """The scheduler's database, to show (password hidden)."""
    return scheduler.store.url


def database_identity(scheduler: Scheduler) -> str:
    """A digest naming the scheduler's database, the same in every process that opens it and
    revealing nothing of its URL (see :func:`gnomon.store.admin.database_identity`)."""
    return admin.database_identity(scheduler.store)


def ping(scheduler: Scheduler) -> None:
    """Reach the database once; raises :class:`StoreUnavailable` (one line) if it cannot."""
    scheduler.store.ping()


@contextmanager
def inspect_database(url: str) -> Iterator[Scheduler]:
    """A scheduler over ``url`` for reporting on the database (``gnomon status``): the schema
    is not migrated, no settings are read, nothing runs. Raises :class:`StoreUnavailable`
    (one line) when the database cannot be opened or reached."""
    try:
        store = SqlStore(url, migrate=False)
    except Exception as exc:  # a bad URL or a missing driver: reported like an absent server
        raise StoreUnavailable(error_line(exc)) from exc
    try:
        store.ping()
        with Scheduler(store=store, settings=Settings()) as scheduler:
            yield scheduler
    finally:
        store.close()


def schema_revision(scheduler: Scheduler) -> tuple[str | None, str | None]:
    """``(current, newest)`` schema revisions of the database and of this gnomon."""
    return admin.schema_revision(scheduler.store)


def heartbeats(scheduler: Scheduler) -> list[Heartbeat]:
    """The most recently seen schedulers, newest beat first."""
    return admin.heartbeats(scheduler.store)


def oldest_due(scheduler: Scheduler, now: datetime | None = None) -> datetime | None:
    """The earliest next fire at or before ``now``: how far the schedulers lag."""
    return admin.oldest_due(scheduler.store, now or scheduler.clock.now())


def queue_depth(scheduler: Scheduler, now: datetime | None = None) -> int:
    """Pending runs already due at ``now``: work waiting for a worker."""
    return admin.queue_depth(scheduler.store, now or scheduler.clock.now())


def broker_backlog(scheduler: Scheduler) -> admin.BrokerBacklog:
    """Runs waiting for Celery workers, and when a worker last started one."""
    return admin.broker_backlog(scheduler.store)


# -- counts and pages -----------------------------------------------------------------------


def count_jobs(scheduler: Scheduler) -> int:
    """How many jobs are stored."""
    return scheduler.store.count_jobs()


def job_counts(scheduler: Scheduler) -> dict[str, int]:
    """Stored jobs by state."""
    return admin.job_counts(scheduler.store)


def run_counts(scheduler: Scheduler) -> dict[str, int]:
    """Stored runs by status."""
    return admin.run_counts(scheduler.store)


def fire_counts(scheduler: Scheduler) -> dict[str, int]:
    """Recorded fires (first attempts) by reason: schedule, manual, backfill (those pruned
    since included: a total that never goes down)."""
    return admin.fire_counts(scheduler.store)


def run_totals(scheduler: Scheduler) -> dict[str, int]:
    """Runs ever recorded, by status (those pruned since included: never goes down)."""
    return admin.run_totals(scheduler.store)


def jobs_after(
    scheduler: Scheduler,
    after: str,
    *,
    limit: int,
    state: JobState | None = None,
    search: str | None = None,
) -> list[Job]:
    """Jobs with an id greater than ``after``, by id: a cursor page."""
    return admin.jobs_after(scheduler.store, after, limit=limit, state=state, search=search)


def upcoming_jobs(scheduler: Scheduler, until: datetime, limit: int = 30) -> list[Job]:
    """Active jobs whose next fire is before ``until``, soonest first."""
    return admin.upcoming_jobs(scheduler.store, until, limit)


def recent_runs(
    scheduler: Scheduler, job_ids: Sequence[str], per_job: int = 12
) -> dict[str, list[Run]]:
    """The newest ``per_job`` runs of each job, newest first."""
    return admin.recent_runs(scheduler.store, job_ids, per_job)


def get_run(scheduler: Scheduler, run_id: int) -> Run:
    """One run; raises :class:`~gnomon.errors.RunNotFound`."""
    return scheduler.store.get_run(run_id)


# -- backfill -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Backfill:
    """The runs a backfill recorded, and how many fires of the range were already recorded."""

    runs: list[Run]
    already_recorded: int


def backfill_fires(
    scheduler: Scheduler, job_id: str, start: datetime, end: datetime, *, max_fires: int
) -> builtins.list[datetime]:
    """The job's fires in ``[start, end)`` (a past range): what :func:`backfill` records,
    less those already in the history. Records nothing (a dry run); raises
    :class:`InvalidSpec` as :func:`backfill` does."""
    job, now = scheduler.get(job_id), scheduler.clock.now()
    if end > now:
        raise InvalidSpec("end: a backfill range must end in the past")
    if start >= end:
        raise InvalidSpec("start: must be before end")
    fires: builtins.list[datetime] = []
    fire = job.trigger.next_after(start - timedelta(microseconds=1))
    while fire is not None and fire < end:
        if len(fires) == max_fires:
            raise InvalidSpec(
                f"max_fires: the range holds more than {max_fires} fires; "
                f"narrow it or raise max_fires (up to {limits.MAX_BACKFILL_FIRES})"
            )
        fires.append(fire)
        fire = job.trigger.next_after(fire)
    return fires


def backfill(
    scheduler: Scheduler, job_id: str, start: datetime, end: datetime, *, max_fires: int
) -> Backfill:
    """Record the job's fires in ``[start, end)`` (a past range) as runs due now.

    A fire already in the history is left alone. Raises :class:`InvalidSpec` whose message
    starts with the input at fault (``end:``, ``start:``, ``max_fires:``) for a range that
    does not end in the past, is empty, or holds more than ``max_fires`` fires.
    """
    fires = backfill_fires(scheduler, job_id, start, end, max_fires=max_fires)
    now = scheduler.clock.now()
    recorded: builtins.list[Run] = []
    for fire in fires:
        try:
            recorded.append(scheduler.store.add_run(job_id, fire, now, RunReason.BACKFILL))
        except Conflict:  # that fire is already in the history
            continue
    scheduler.changed()
    return Backfill(runs=recorded, already_recorded=len(fires) - len(recorded))


# -- retention ------------------------------------------------------------------------------


def retention_rules(
    scheduler: Scheduler,
    *,
    older_than: timedelta | None = None,
    failed_older_than: timedelta | None = None,
    keep_per_job: int | None = None,
) -> Retention:
    """The scheduler's retention settings, with what a person gave by hand instead (see
    :meth:`Retention.overridden`). Raises :class:`InvalidSpec` naming the option at fault."""
    if keep_per_job is not None and keep_per_job < 0:
        raise InvalidSpec(f"keep_per_job: {keep_per_job} must be 0 (no limit) or more")
    for name, age in (("older_than", older_than), ("failed_older_than", failed_older_than)):
        if age is not None and age <= timedelta(0):
            raise InvalidSpec(f"{name}: must be more than zero")
    return Retention.from_settings(scheduler.settings).overridden(
        older_than=older_than, failed_older_than=failed_older_than, per_job=keep_per_job
    )


def prune(
    scheduler: Scheduler, rules: Retention | None = None, *, dry_run: bool = False
) -> PruneReport:
    """Remove old history now by ``rules`` (default: the settings), in the same small
    batches as the scheduler's own pruning; with ``dry_run``, only count what would go.
    Unfinished runs, each job's newest finished run, undelivered events and the audit log
    are never removed (see :mod:`gnomon.retention`)."""
    rules = rules or Retention.from_settings(scheduler.settings)
    return prune_all(scheduler.store, rules, scheduler.clock.now(), dry_run=dry_run)


# -- device-job sync ------------------------------------------------------------------------


def jobs_under(scheduler: Scheduler, prefix: str) -> list[Job]:
    """Every job whose id starts with ``prefix`` (e.g. ``device:``), however many."""
    found: builtins.list[Job] = []
    offset = 0
    while True:
        page = scheduler.store.list_jobs(search=prefix, limit=PAGE, offset=offset)
        found += [j for j in page if j.id.startswith(prefix)]
        if len(page) < PAGE:
            return found
        offset += PAGE


def replace_job(scheduler: Scheduler, job: Job, *, by: str, at: datetime | None = None) -> None:
    """Store ``job`` over the stored one of that id as it is (its schedule, state and next
    fire already decided by the caller), with a ``job.updated`` event naming ``by`` (at
    ``at``, by default now)."""
    at = at or scheduler.clock.now()
    event = Event(kind="job.updated", at=at, job_id=job.id, data={"by": by})
    scheduler.store.save_job(job, event)


def record_events(scheduler: Scheduler, events: Sequence[Event]) -> None:
    """Append events that no job change carries (e.g. a device's discovery result)."""
    scheduler.store.append_events(events)


def newest_events(scheduler: Scheduler, limit: int) -> list[Event]:
    """The newest ``limit`` events, newest first."""
    return scheduler.store.list_events(newest=True, limit=limit)


# -- named destinations ---------------------------------------------------------------------


def list_destinations(scheduler: Scheduler) -> builtins.list[Destination]:
    """Every named destination by name: the settings' and the database's (settings win).

    Show them with :meth:`Destination.to_json` (URL passwords masked)."""
    settings = settings_destinations()
    stored = {d.name: d for d in store_destinations.stored(scheduler.store)}
    return sorted({**stored, **settings}.values(), key=lambda d: d.name)


def put_destination(
    scheduler: Scheduler,
    name: str,
    url: str,
    *,
    exchange: str | None = None,
    queue: str | None = None,
    routing_key: str | None = None,
) -> tuple[Destination, bool]:
    """Store a destination (created or replaced); ``(destination, created)``. Raises
    :class:`InvalidSpec` for a bad field or a name defined in the settings (they win)."""
    destination = check_destination(
        name, url, exchange=exchange, queue=queue, routing_key=routing_key
    )
    created = store_destinations.put(
        scheduler.store, destination, scheduler.clock.now(), settings_destinations()
    )
    return destination, created


def remove_destination(scheduler: Scheduler, name: str) -> None:
    """Remove a stored destination. Jobs that name it fail their runs from then on, clearly.
    Raises :class:`~gnomon.errors.NotFound`, or :class:`InvalidSpec` for a settings one."""
    store_destinations.remove(scheduler.store, name, settings_destinations())


# -- runs across jobs (the dashboard) -------------------------------------------------------


def find_runs(scheduler: Scheduler, **filters: Any) -> activity.RunPage:
    """Runs of every job, filtered and paged (see :func:`gnomon.store.activity.find_runs`)."""
    return activity.find_runs(scheduler.store, **filters)


def runs_in_flight(scheduler: Scheduler) -> builtins.list[Run]:
    """Runs executing or waiting in a broker's queue, oldest first."""
    return activity.runs_in_flight(scheduler.store)


def retry_run(scheduler: Scheduler, run_id: int) -> Run:
    """A new attempt, due now, of the fire of a finished unsuccessful run (reason
    ``manual``); raises :class:`Conflict` for a run that cannot be retried."""
    new = activity.retry_run(scheduler.store, run_id, scheduler.clock.now())
    scheduler.changed()
    return new


def cancel_run(scheduler: Scheduler, run_id: int) -> RunStatus:
    """Cancel a run that has not finished (a running one stops at its worker's next
    heartbeat); returns its status after the call. Raises :class:`Conflict` if it ended."""
    return activity.cancel_run(scheduler.store, run_id, scheduler.clock.now())


# -- what a systemd user expects of the CLI: last runs, removed jobs, re-runs, the event log --

RemovedJob = activity.RemovedJob


def jobs_with_last_runs(
    scheduler: Scheduler,
    *,
    state: JobState | None = None,
    search: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> builtins.list[tuple[Job, Run | None]]:
    """Jobs by id (as :meth:`Scheduler.list` pages them), each with its last run that
    started or ended (None: none yet), in one query."""
    return activity.jobs_with_last_runs(
        scheduler.store, state=state, search=search, limit=limit, offset=offset
    )


def removed_jobs(
    scheduler: Scheduler,
    *,
    job_ids: Sequence[str] | None = None,
    search: str | None = None,
    limit: int = 100,
) -> builtins.list[RemovedJob]:
    """Removed jobs (of ``job_ids``) whose id no stored job uses now, most recently removed
    first, each with its last run (see :func:`gnomon.store.activity.removed_jobs`)."""
    return activity.removed_jobs(scheduler.store, job_ids=job_ids, search=search, limit=limit)


def removed_job(scheduler: Scheduler, job_id: str) -> RemovedJob | None:
    """The removed job of this id, or None (never removed, or its id is used again)."""
    found = activity.removed_jobs(scheduler.store, job_ids=[job_id], limit=1)
    return found[0] if found else None


def loss_counts(scheduler: Scheduler, runs: Sequence[Run]) -> dict[int, int]:
    """How often each of these runs was lost (its worker vanished) and put back to run
    again, or dead-lettered, by run id (see :func:`gnomon.store.activity.loss_counts`)."""
    return activity.loss_counts(scheduler.store, runs)


def jobs_by_id(scheduler: Scheduler, job_ids: Sequence[str]) -> dict[str, Job]:
    """The stored jobs among ``job_ids``, by id, in one query."""
    return activity.jobs_by_id(scheduler.store, job_ids)


def latest_events(
    scheduler: Scheduler, *, job_id: str | None = None, limit: int = 50
) -> builtins.list[Event]:
    """The newest ``limit`` events (of ``job_id``), oldest first: the end of the log."""
    return scheduler.store.list_events(job_id=job_id, limit=limit, newest=True)[::-1]


def this_process(scheduler: Scheduler) -> tuple[str, str] | None:
    """``(worker id, dispatcher)`` of ``scheduler`` when its loop runs in this process
    (``gnomon up``, an embedded scheduler), e.g. ``("host:12:ab", "8 worker(s)")``; None
    for a face that only reads the database."""
    dispatcher = scheduler._dispatcher
    if scheduler._thread is None or dispatcher is None:
        return None
    return scheduler.worker_id, dispatcher.describe()


__all__ = [
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
    "cancel_run",
    "count_jobs",
    "create_token",
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
