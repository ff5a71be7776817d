"""The scheduler's step: record the fires that are due, claim the runs, say when to wake.

One transaction per step (:meth:`StepStore.step`): the due jobs' fires are recorded as run
rows and their jobs advanced (:meth:`StepStore.advance_jobs`), the runs due are claimed for
the stepping worker as they are inserted, and the next wake-up is read in the same
transaction (:meth:`StepStore.next_wakeup` says what it means).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select, update

from gnomon import gil
from gnomon.events import Event
from gnomon.instants import from_micros, to_micros
from gnomon.limits import MAX_ID, MAX_NOTE_CHARS
from gnomon.models import Job, JobState, Overlap, RunReason, RunStatus
from gnomon.planning import FIRE_NOTES, FirePlan
from gnomon.store import rows
from gnomon.store.runs import RunStore, claimed_event, within
from gnomon.store.statements import (
    CLAIMED_SINCE,
    LEASE_EXPIRED,
    MAX_RUN_ID,
    NEW_RUN,
    NEXT_EXACT_JOB,
    NEXT_JOB,
    NEXT_RUN,
    NTH_JOB,
    SPARSE,
)
from gnomon.store.tables import runs

log = logging.getLogger(__name__)
BEFORE_ANY = -MAX_ID  # a moment (µs since the epoch) before any stored one
UNFINISHED = (RunStatus.PENDING.value, RunStatus.QUEUED.value, RunStatus.RUNNING.value)
PENDING, SCHEDULE = RunStatus.PENDING.value, RunReason.SCHEDULE.value  # (``.value`` is slow)
FIRST_ATTEMPT = rows.attempt_data(1)  # the data of a first attempt's claim event
Planner = Callable[[Job, int], FirePlan]
"""Decides the fires of one due job, given how many of its runs are unfinished."""


@dataclass(slots=True)
class Claimer:
    """Who claims the runs a step records, how many it may take, and what it took."""

    worker: str
    capacity: int  # runs due now
    lease: float
    ahead: int = 0  # runs due later, by the step's ``until`` (claimed ahead)
    status: RunStatus = RunStatus.RUNNING  # QUEUED: claimed to be sent to a broker
    claimed: list[rows.ClaimedRun] = field(default_factory=list)
    left_pending: bool = False  # pending runs were recorded and not claimed
    before: int | None = None  # the newest run id before the step's inserts, if known


@dataclass(frozen=True, slots=True)
class AdvanceResult:
    jobs: int  # due jobs processed
    runs: int  # run rows recorded (any status)
    full: bool  # the batch was full: more due jobs may be waiting
    seen_run: int = 0  # a step's: the newest run id when it began (what it could see)
    lapsed: bool = False  # a step's, asked with ``leases``: a running run's lease expired


class StepStore(RunStore):
    """The scheduler's step (see the module docstring)."""

    def advance_jobs(self, now: datetime, planner: Planner, limit: int = 500) -> AdvanceResult:
        """Claim up to ``limit`` due jobs, record their fires and advance them, atomically."""
        with self._write() as conn:
            return self._advance_jobs(conn, now, planner, limit)

    def step(  # noqa: PLR0913, PLR0917 - one step's inputs, on the hot path
        self,
        now: datetime,
        planner: Planner,
        limit: int,
        worker: str,
        capacity: int,
        lease: float,
        until: datetime | None = None,
        ahead: int = 0,
        queue: bool = False,
        leases: bool = False,
    ) -> tuple[AdvanceResult, list[rows.ClaimedRun], datetime | None]:
        """The scheduler's step in ONE transaction: :meth:`advance_jobs`, then
        :meth:`claim_runs` (up to ``capacity``), then the next wake-up as :meth:`next_wakeup`
        would give it. Same statements, one commit instead of three.

        With ``until`` (the look-ahead), the step also records the fires that fall due by
        ``until`` (for jobs whose overlap policy allows planning ahead) and claims the runs
        due by then: the caller starts each one at its due time. The wake-up returned is then
        the moment the *next* such step is needed (see :meth:`next_wakeup`).

        ``capacity`` bounds the runs due by ``now`` that are claimed (free workers); ``ahead``
        bounds those claimed ahead, due after ``now`` and by ``until`` — they wait in
        memory, not for a worker, so a step may take many at once.

        With ``queue``, the runs are claimed ``queued`` instead of ``running``: the caller
        sends them to a broker's workers, each of which starts its run by id
        (:meth:`start_queued`); ``lease`` is then the time the caller has to send them.

        The result also says what the step could see (``seen_run``, as :meth:`last_run_id`
        before it) and, with ``leases``, whether a running run's lease has expired
        (``lapsed``: :meth:`recover_lost_runs` has work), read in the same transaction
        instead of one each: an idle scheduler spent a third of its steps' time on them.
        """
        until = max(now, until or now)
        status = RunStatus.QUEUED if queue else RunStatus.RUNNING
        now_us = to_micros(now)
        with self._write() as conn:
            [(seen,)] = MAX_RUN_ID.rows(conn)
            lapsed = leases and bool(LEASE_EXPIRED.rows(conn, {"now": now_us}))
            # Runs recorded earlier (retries, manual runs, a backlog) are older: they go
            # first. The fires recorded now are claimed as they are inserted, with what
            # capacity is left (see _claim_new).
            claimed = self._claim_runs(conn, now, worker, capacity, lease, until, ahead, status)
            later = sum(1 for c in claimed if _due_us(c) > now_us)
            room = capacity - (len(claimed) - later)
            claim = Claimer(worker, room, lease, ahead - later, status)
            if self.dialect.ids_in_commit_order:  # one writer: nothing inserted since
                claim.before = int(seen or 0)
            result = self._advance_jobs(conn, now, planner, limit, until, claim)
            claimed += claim.claimed
            if claim.left_pending:  # e.g. overlap=skip fires
                later = sum(1 for c in claimed if _due_us(c) > now_us)
                room, room_ahead = capacity - (len(claimed) - later), ahead - later
                if room > 0 or room_ahead > 0:
                    claimed += self._claim_runs(
                        conn, now, worker, room, lease, until, room_ahead, status
                    )
            wake = self._next_wakeup(conn, now, until, sparse=result.runs < SPARSE)
        result = AdvanceResult(result.jobs, result.runs, result.full, int(seen or 0), lapsed)
        return result, claimed, wake

    def _advance_jobs(
        self,
        conn: Connection,
        now: datetime,
        planner: Planner,
        limit: int,
        until: datetime | None = None,
        claim: Claimer | None = None,
    ) -> AdvanceResult:
        bounds = {"now": to_micros(now), "until": to_micros(max(now, until or now))}
        found = self._due_jobs.mappings(conn, {**bounds, "limit": limit})
        if not found:
            return AdvanceResult(0, 0, False)
        due: list[Job] = []
        broken: list[tuple[str, Exception]] = []  # jobs that cannot be read or planned
        for row in found:
            gil.courtesy()  # a run due meanwhile starts on time (gnomon.gil)
            try:
                due.append(rows.job_from_row(row))
            except Exception as exc:  # e.g. a trigger kind this version does not know
                broken.append((row["id"], exc))
        unfinished = self._unfinished_counts(conn, [j for j in due if j.policy.overlap != "allow"])
        new_runs: list[dict[str, Any]] = []
        new_events: list[dict[str, Any]] = []
        advanced: list[dict[str, Any]] = []
        for job in due:
            gil.courtesy()  # a run due meanwhile starts on time (gnomon.gil)
            try:
                plan = planner(job, unfinished.get(job.id, 0))
            except Exception as exc:
                broken.append((job.id, exc))
                continue
            self._record_plan(conn, job, plan, now, new_runs, new_events)
            state = JobState.DONE if plan.next_fire_at is None else job.state
            advanced.append(
                {"k": job.id, "nf": rows.micros(plan.next_fire_at), "st": state._value_}
            )
        for job_id, error in broken:
            # One bad job must not stop every other: it is paused, with the reason, and the
            # loop goes on (it used to raise out of every tick, for ever).
            log.error("job %s paused: its schedule cannot be planned (%s)", job_id, error)
            advanced.append({"k": job_id, "nf": None, "st": JobState.PAUSED.value})
            note = f"schedule cannot be planned: {error}"[:MAX_NOTE_CHARS]
            event = Event(kind="job.paused", at=now, job_id=job_id, data={"error": note})
            new_events.append(rows.event_values(event))
        if claim is not None and (claim.capacity > 0 or claim.ahead > 0):
            self._claim_new(conn, now, bounds["until"], due, new_runs, new_events, claim)
            claim.left_pending = any(v["status"] == PENDING for v in new_runs)
        else:
            self._insert_runs.run(conn, new_runs)
        self._advance.run(conn, advanced)
        self._insert_events.run(conn, new_events)
        return AdvanceResult(len(found), len(new_runs), len(found) >= limit)

    def _claim_new(  # noqa: PLR0917 - one step's inputs, on the hot path
        self,
        conn: Connection,
        now: datetime,
        until_us: int,
        due: list[Job],
        new_runs: list[dict[str, Any]],
        new_events: list[dict[str, Any]],
        claim: Claimer,
    ) -> None:
        """Insert ``new_runs``, those due by ``until_us`` of ``overlap=allow`` jobs already
        claimed for ``claim.worker`` (earliest due first, up to its capacity).

        The same rows a later claim would write, without reading them back through the
        pending index and updating each one: claiming the fire a step has just planned is
        most of a step's work. (``overlap=queue`` runs wait for the claim that serialises
        them.) Rows the insert ignores (the fire was recorded already) are not claimed.
        """
        jobs_by_id = {job.id: job for job in due}
        pending = [
            v
            for v in new_runs
            if v["status"] == PENDING
            and v["due_at"] <= until_us
            and jobs_by_id[v["job_id"]].policy.overlap is Overlap.ALLOW
        ]
        take = within(
            sorted(pending, key=lambda v: v["due_at"]), to_micros(now), claim.capacity, claim.ahead
        )
        if not take:
            self._insert_runs.run(conn, new_runs)
            return
        now_us, lease_us = to_micros(now), round(claim.lease * 1_000_000)
        running, status = claim.status is RunStatus.RUNNING, claim.status.value
        for values in take:
            gil.courtesy()  # a run due meanwhile starts on time (gnomon.gil)
            start = max(now_us, values["due_at"])
            started = start if running else None
            values.update(
                status=status,
                worker=claim.worker,
                started_at=started,
                lease_until=start + lease_us,
            )
        before = claim.before
        if before is None:
            [(before,)] = MAX_RUN_ID.rows(conn)
        self._insert_runs.run(conn, new_runs)
        # Rows of this worker's inserted after ``before`` are these: on SQLite nobody else
        # writes meanwhile; on PostgreSQL other writers' rows carry their own worker id.
        inserted = {
            (job_id, scheduled_for): run_id
            for run_id, job_id, scheduled_for in CLAIMED_SINCE[claim.status].rows(
                conn, {"before": before or 0, "worker": claim.worker}
            )
        }
        # Each claim's event row, built directly: this loop runs once per fire of a burst.
        kind = claimed_event(claim.status)
        for values in take:
            gil.courtesy()  # a run due meanwhile starts on time (gnomon.gil)
            run_id = inserted.get((values["job_id"], values["scheduled_for"]))
            if run_id is None:
                continue
            job = jobs_by_id[values["job_id"]]
            values["id"] = run_id  # (the row is written already)
            run = rows.run_from_row(values)
            claim.claimed.append(rows.ClaimedRun(run=run, action=job.action, policy=job.policy))
            at = values["started_at"]
            new_events.append(
                rows.event_row(now_us if at is None else at, kind, job.id, run_id, FIRST_ATTEMPT)
            )

    def _unfinished_counts(self, conn: Connection, due: list[Job]) -> dict[str, int]:
        if not due:
            return {}
        query = (
            select(runs.c.job_id, func.count())
            .where(runs.c.job_id.in_([j.id for j in due]), runs.c.status.in_(UNFINISHED))
            .group_by(runs.c.job_id)
        )
        return {job_id: int(n) for job_id, n in conn.execute(query).all()}

    def _record_plan(
        self,
        conn: Connection,
        job: Job,
        plan: FirePlan,
        now: datetime,
        new_runs: list[dict[str, Any]],
        new_events: list[dict[str, Any]],
    ) -> None:
        now_us = to_micros(now)
        for fire in plan.fires:
            finished = fire.status is not RunStatus.PENDING
            summary = None if fire.count == 1 else fire.summary()
            scheduled_us = to_micros(fire.scheduled_for)
            new_runs.append(
                {
                    "job_id": job.id,
                    "scheduled_for": scheduled_us,
                    "attempt": 1,
                    # (one instant, one conversion: a fire without jitter is due as planned)
                    "due_at": scheduled_us
                    if fire.due_at is fire.scheduled_for
                    else to_micros(fire.due_at),
                    "reason": SCHEDULE,
                    "status": fire.status._value_,
                    "created_at": now_us,
                    "finished_at": now_us if finished else None,
                    "started_at": None,
                    "worker": None,
                    "lease_until": None,
                    "cancel_requested": False,
                    "result": None if summary is None else rows.dumps(summary),
                    "error": fire.note or FIRE_NOTES.get(fire.status),
                    "output": None,
                }
            )
            if finished:
                event = Event(
                    kind=f"run.{fire.status.value}",
                    at=now,
                    job_id=job.id,
                    data={"scheduled_for": fire.scheduled_for.isoformat(), **(summary or {})},
                )
                new_events.append(rows.event_values(event))
        if plan.missed_uncounted:
            event = Event(
                kind="run.missed", at=now, job_id=job.id, data={"uncounted": plan.missed_uncounted}
            )
            new_events.append(rows.event_values(event))
        if plan.cancel_running:
            conn.execute(
                update(runs)
                .where(runs.c.job_id == job.id, runs.c.status == RunStatus.RUNNING.value)
                .values(cancel_requested=True)
            )
            self._cancel_pending(conn, job.id, now)

    def next_wakeup(
        self,
        after: datetime | None = None,
        until: datetime | None = None,
        seen_run: int | None = None,
    ) -> datetime | None:
        """The earliest moment the scheduler has work: a job's next fire or a run due.

        Pending runs due at or before ``after`` (the last tick's ``now``) are left out: that
        tick saw them and could not take them (no free worker, ``overlap=queue``), and their
        old due time would otherwise hide the next fire and make the scheduler oversleep.
        With ``seen_run`` (:meth:`last_run_id` before that tick), runs recorded since are
        not left out: the tick cannot have seen them (a retry committed while it ran).

        With ``until`` (the last tick looked ahead to it), the answer is when the next tick
        is needed: half the look-ahead (``until - after``) before the next fire or run beyond
        ``until``; at the fire itself for a job that is not planned ahead (its fire may lie
        before ``until``); or ``after`` itself — look again now — for a job due by ``until``
        that the last tick did not take (another replica holds it, or it is new).
        """
        with self._read() as conn:
            wake = self._next_wakeup(conn, after, until)
            if seen_run is None or after is None:
                return wake
            [(new,)] = NEW_RUN.rows(conn, {"seen": seen_run, "after": to_micros(after)})
        if new is None:
            return wake
        fresh = from_micros(new)
        return fresh if wake is None else min(wake, fresh)

    def last_run_id(self) -> int:
        """The newest run id (0 with none): what a tick that starts now can see."""
        with self._read() as conn:
            [(newest,)] = MAX_RUN_ID.rows(conn)
        return int(newest or 0)

    def _next_wakeup(
        self,
        conn: Connection,
        after: datetime | None,
        until: datetime | None = None,
        *,
        sparse: bool = False,
    ) -> datetime | None:
        since = BEFORE_ANY if after is None else to_micros(after)
        horizon = since if until is None else max(since, to_micros(until))
        [(job_due,)] = NEXT_JOB.rows(conn, {"after": BEFORE_ANY})
        [(run_due,)] = NEXT_RUN.rows(conn, {"after": horizon})
        beyond = [run_due] if run_due is not None else []  # work beyond the window
        times = []
        if job_due is not None and job_due > horizon:
            beyond.append(job_due)
        elif job_due is not None:  # a job due within the window the last tick looked at
            [(later,)] = NEXT_JOB.rows(conn, {"after": horizon})
            beyond += [later] if later is not None else []
            # One the tick should have taken but did not — another replica holds it, or it
            # was added since — is worth a look again soon: ``after`` itself says so.
            bounds = {"now": since, "until": horizon}
            if self._missed_due.rows(conn, bounds)[0][0] is not None:
                times.append(since)
            # One that is not planned ahead is due at its own fire.
            [(exact,)] = NEXT_EXACT_JOB.rows(conn, {"after": since, "until": horizon})
            times += [exact] if exact is not None else []
        if beyond:
            first = min(beyond)
            times.append(first - self._lead(conn, horizon - since, first, sparse))
        return rows.instant(min(times)) if times else None

    def _lead(self, conn: Connection, window: int, first: int, sparse: bool) -> int:
        """How long (µs) before ``first``, the next fire beyond the last look-ahead window,
        the next look-ahead tick comes.

        Half the look-ahead ``window``: a tick at the full look-ahead would come as soon as
        the next fire crossed the horizon, one tick per fire; at half, each tick records
        half a look-ahead's worth of fires, and has that long to record them before the
        first is due (a burst of thousands due at one instant is mostly claimed by then).
        With little work ahead — the step that asks (``sparse``) recorded fewer than
        :data:`SPARSE` fires, and fewer jobs than that are due within a window of ``first``
        — a tenth: ticks come about once per look-ahead instead of twice (an idle
        scheduler's steps were half of its CPU), with ample time for so few fires."""
        if window <= 0:
            return 0
        if sparse:
            nth = NTH_JOB.rows(conn, {"after": first - 1})
            if not nth or nth[0][0] > first + window:
                return window // 10
        return window // 2

    # -- history ------------------------------------------------------------------------


def _due_us(claimed: rows.ClaimedRun) -> int:
    """When a claimed run starts (its due time, or the claim's moment if that was later)."""
    started = claimed.run.started_at
    return to_micros(started) if started is not None else 0
