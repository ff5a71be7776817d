"""Pure decisions: which fires of a job run, which are missed or skipped, when retries start.

Every decision about a run is taken here, and only applied elsewhere: the fires of a due job
(:func:`plan_fires`), a recorded fire found too late when it is claimed
(:func:`missed_at_claim`), whether and when a failed attempt is retried (:func:`retry_due`),
and what becomes of a run whose worker vanished (:func:`lost_run_fate`).

Nothing here reads a clock or a database: the scheduler passes ``now`` and what it knows,
and records what comes back. That keeps the loop thin and every rule testable with plain
values.
"""

from __future__ import annotations

import hashlib
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from gnomon.instants import iso
from gnomon.models import Job, Misfire, Overlap, Policy, RunReason, RunStatus
from gnomon.triggers.base import Trigger

MAX_LISTED_FIRES = 1000
"""Fires enumerated one by one for a single job in one plan. Beyond this (a long outage of a
frequent job) the rest are counted as missed in one summary instead of one row each."""


FIRE_NOTES = {
    RunStatus.MISSED: "missed: later than the grace period (misfire policy)",
    RunStatus.SKIPPED: "skipped: an earlier run was unfinished (overlap policy)",
    RunStatus.CANCELLED: "cancelled: replaced by a newer fire (overlap policy)",
}
"""Why a fire does not run, by its status: the note recorded with it."""


@dataclass(frozen=True, slots=True)
class Fire:
    """One fire to record: PENDING (to run at ``due_at``), MISSED, SKIPPED or CANCELLED.

    A summary stands for ``count`` fires, from ``scheduled_for`` to ``last``: one row for
    all the fires a pause swallowed (:func:`paused_fires`)."""

    scheduled_for: datetime
    due_at: datetime
    status: RunStatus
    note: str | None = None  # why it does not run, when the status alone does not say
    count: int = 1
    last: datetime | None = None  # the last fire a summary stands for

    def summary(self) -> dict[str, object] | None:
        """What a summary row records as its result: how many fires, first and last."""
        if self.count == 1:
            return None
        last = self.last or self.scheduled_for
        return {"fires": self.count, "first": iso(self.scheduled_for), "last": iso(last)}


@dataclass(frozen=True, slots=True)
class FirePlan:
    fires: list[Fire] = field(default_factory=list)
    next_fire_at: datetime | None = None
    missed_uncounted: int = 0  # missed fires beyond MAX_LISTED_FIRES, summarised
    cancel_running: bool = False  # overlap=replace: stop the unfinished run

    @property
    def fire_count(self) -> int:
        """How many fires the plan decides on, summaries and uncounted ones included."""
        return sum(f.count for f in self.fires) + self.missed_uncounted


def due_fires(
    trigger: Trigger, first: datetime, now: datetime, limit: int = MAX_LISTED_FIRES
) -> tuple[list[datetime], int, datetime | None]:
    """Fires from ``first`` up to ``now`` (inclusive): (listed, not listed, next after now).

    ``first`` is the job's stored ``next_fire_at``, a fire itself. At most ``limit`` fires
    are listed: the oldest half and the newest half (the newest are the ones a ``latest`` or
    ``all`` policy runs, and those within the grace period). The ones in between are only
    counted. A backlog of more than ``limit * 100`` fires is not stepped through: the newest
    fires are found near ``now`` and the ones skipped are estimated from the mean gap.
    """
    keep = max(1, limit // 2)
    newest: deque[datetime] = deque(maxlen=keep)
    oldest: list[datetime] = []
    between = stepped = 0
    fire: datetime | None = first
    while fire is not None and fire <= now:
        if len(oldest) < limit - keep:
            oldest.append(fire)
        else:
            if len(newest) == keep:
                between += 1  # the oldest of the newest falls between the listed ones
            newest.append(fire)
        fire = trigger.next_after(fire)
        stepped += 1
        if fire is not None and fire <= now and stepped > limit * 100:
            gap = (fire - first) / stepped
            jumped, near = _fires_near(trigger, fire, now, keep, gap)
            between += len(newest) + jumped
            newest = deque(near, maxlen=keep)
            fire = trigger.next_after(now)
    return oldest + list(newest), between, fire


def _fires_near(
    trigger: Trigger, start: datetime, now: datetime, count: int, gap: timedelta
) -> tuple[int, list[datetime]]:
    """The newest ``count`` fires in ``[start, now]`` and how many fires precede them there
    (estimated from the mean ``gap``), found by probing back from ``now``."""
    span = gap * (count + 1)
    while True:
        probe = now - span
        fire = start if probe < start else trigger.next_after(probe)
        found: list[datetime] = []
        while fire is not None and fire <= now:
            found.append(fire)
            fire = trigger.next_after(fire)
        if len(found) >= count or probe < start:
            before = 0 if probe < start or not found else round((found[0] - start) / gap)
            return before + len(found[:-count]), found[-count:]
        span *= 2


PAUSED_NOTE = "missed: the job was paused"


def paused_fires(trigger: Trigger, paused_at: datetime, now: datetime) -> FirePlan:
    """The fires that fell while a job was paused, as one ``missed`` summary, and the next
    fire after now.

    Resuming never catches up, but what the pause swallowed is recorded: one row at the
    first swallowed fire standing for all of them (their count, first and last), not one
    row per fire — a week's pause of an every-minute job would otherwise bury the job's
    history under ten thousand rows. (A pause of more than a hundred thousand fires is
    counted from the fires' mean gap, as :func:`due_fires` does.)
    """
    first = trigger.next_after(paused_at)
    if first is None or first > now:
        return FirePlan([], trigger.next_after(now), 0, False)
    listed, more, upcoming = due_fires(trigger, first, now)
    count, last = len(listed) + more, listed[-1]
    note = PAUSED_NOTE
    if count > 1:
        note = f"{PAUSED_NOTE}: {count} fires, {iso(first)} to {iso(last)}, none run"
    summary = Fire(first, first, RunStatus.MISSED, note, count=count, last=last)
    return FirePlan([summary], upcoming, 0, False)


def jitter_delay(policy: Policy, job_id: str, fire: datetime, gap: timedelta | None) -> timedelta:
    """A stable pseudo-random delay in ``[0, policy.jitter)`` for one fire.

    Stable (hashed from job and fire) so that every replica computes the same due time.
    Jitter must never push a fire past the next one: it is capped at half the gap.
    """
    if policy.jitter <= 0:
        return timedelta(0)
    digest = hashlib.blake2b(f"{job_id}|{fire.isoformat()}".encode(), digest_size=8).digest()
    fraction = int.from_bytes(digest, "big") / 2**64
    cap = policy.jitter if gap is None else min(policy.jitter, gap.total_seconds() / 2)
    return timedelta(seconds=fraction * cap)


def _apply_misfire(
    fires: list[datetime], now: datetime, policy: Policy
) -> tuple[list[datetime], list[datetime]]:
    """Split fires into (to run, missed) by lateness and the misfire policy."""
    grace = timedelta(seconds=policy.grace)
    late = [f for f in fires if now - f > grace]
    on_time = [f for f in fires if now - f <= grace]
    if not late:
        return on_time, []
    if policy.misfire is Misfire.SKIP:
        return on_time, late
    if policy.misfire is Misfire.LATEST:
        if on_time:
            return on_time, late
        return late[-1:], late[:-1]
    keep = late[-policy.catchup_cap :]
    return keep + on_time, late[: len(late) - len(keep)]


def _quick_plan(
    trigger: Trigger, policy: Policy, first: datetime, now: datetime, horizon: datetime
) -> FirePlan | None:
    """:func:`plan_fires` in the common case, on every fire of a busy scheduler, or None: no
    fire can be late (the first is within the grace period), there is no jitter, and each
    fire runs as it falls due (an overlap policy planned ahead). The same plan as the general
    path, without its lists and splits (a third of a step's planning)."""
    if policy.jitter or policy.overlap not in AHEAD:
        return None
    if now - first > timedelta(seconds=policy.grace):
        return None
    fires: list[Fire] = []
    fire: datetime | None = first
    while fire is not None and fire <= horizon:
        if len(fires) >= MAX_LISTED_FIRES:
            return None  # a backlog: the general path lists its ends and counts the rest
        fires.append(Fire(fire, fire, RunStatus.PENDING))
        fire = trigger.next_after(fire)
    return FirePlan(fires, fire, 0, False)


def plan_fires(
    *,
    job_id: str,
    trigger: Trigger,
    policy: Policy,
    next_fire_at: datetime,
    now: datetime,
    unfinished_runs: int,
    until: datetime | None = None,
) -> FirePlan:
    """Decide what happens to every fire of one job that is due at ``now``.

    ``unfinished_runs`` counts the job's runs that are pending or running, for the overlap
    policy. Every fire comes back in the plan (run, missed, skipped or cancelled): none is
    silently dropped. With ``until`` (later than ``now``), the fires up to ``until`` are
    planned ahead of time, as pending runs due when they fall due; lateness is still judged
    at ``now``, so a fire planned ahead is never late.
    """
    horizon = max(now, until or now)
    quick = _quick_plan(trigger, policy, next_fire_at, now, horizon)
    if quick is not None:
        return quick
    listed, more, upcoming = due_fires(trigger, next_fire_at, horizon)
    to_run, missed = _apply_misfire(listed, now, policy)
    out = [Fire(f, f, RunStatus.MISSED) for f in missed]
    statuses = _overlap_statuses(len(to_run), unfinished_runs, policy.overlap)
    for i, (fire, status) in enumerate(zip(to_run, statuses, strict=True)):
        following = to_run[i + 1] if i + 1 < len(to_run) else upcoming
        gap = None if following is None else following - fire
        delay = jitter_delay(policy, job_id, fire, gap) if status is RunStatus.PENDING else None
        out.append(Fire(fire, fire + (delay or timedelta(0)), status))
    cancel = policy.overlap is Overlap.REPLACE and bool(to_run) and unfinished_runs > 0
    out.sort(key=lambda f: f.scheduled_for)
    return FirePlan(out, upcoming, more, cancel)


def _overlap_statuses(count: int, unfinished: int, overlap: Overlap) -> list[RunStatus]:
    if count == 0:
        return []
    if overlap in (Overlap.ALLOW, Overlap.QUEUE):
        return [RunStatus.PENDING] * count
    if overlap is Overlap.SKIP:
        first = RunStatus.PENDING if unfinished == 0 else RunStatus.SKIPPED
        return [first] + [RunStatus.SKIPPED] * (count - 1)
    return [RunStatus.CANCELLED] * (count - 1) + [RunStatus.PENDING]  # REPLACE: newest wins


AHEAD = frozenset({Overlap.ALLOW, Overlap.QUEUE})
"""Overlap policies whose fires may be planned ahead of time: their decision does not depend
on whether an earlier run is still running at the fire (``skip`` and ``replace`` do)."""


def planner_at(now: datetime, until: datetime | None = None) -> Callable[[Job, int], FirePlan]:
    """The store's planner for one step at ``now``: :func:`plan_fires` for each due job.

    With ``until``, the fires of jobs whose overlap policy allows it (:data:`AHEAD`) are
    planned up to ``until``; the others only up to ``now``.
    """

    def plan(job: Job, unfinished: int) -> FirePlan:
        assert job.next_fire_at is not None  # the store only hands out due jobs
        ahead = until if job.policy.overlap in AHEAD else None
        return plan_fires(
            job_id=job.id,
            trigger=job.trigger,
            policy=job.policy,
            next_fire_at=job.next_fire_at,
            now=now,
            unfinished_runs=unfinished,
            until=ahead,
        )

    return plan


def backoff_delay(policy: Policy, attempt: int, rng: random.Random | None = None) -> float:
    """Seconds to wait before attempt ``attempt + 1`` after attempt ``attempt`` failed.

    ``backoff * 2**(attempt-1)``, capped at ``max_backoff``, plus up to 10 % jitter so that
    many failing jobs do not retry in lock-step.
    """
    # 2**1024 does not fit a float; past 2**64 every delay is the cap anyway.
    base = min(policy.backoff * (2 ** min(attempt - 1, 64)), policy.max_backoff)
    spread = (rng or random).random() * 0.1 * base
    return float(min(base + spread, policy.max_backoff))


# -- a recorded fire, claimed late ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WaitingRun:
    """A pending run about to be claimed, as the misfire rule sees it."""

    run_id: int
    job_id: str
    scheduled_for: datetime
    reason: RunReason
    attempt: int
    put_back: bool  # it had started once (its worker vanished or stopped): at least once
    policy: Policy


def missed_at_claim(waiting: list[WaitingRun], now: datetime) -> set[int]:
    """The ids of the runs in ``waiting`` that the misfire policy drops at claim time.

    A fire recorded before an outage (a crash after it was recorded, all workers busy) is as
    late as one found after it: with ``misfire=skip`` it is missed instead of run once it is
    later than ``grace``; with ``latest`` too, when a newer fire of the same job is among
    ``waiting``. Retries, manual runs and runs put back after they started (at least once)
    are never dropped. (``all`` runs every fire; its catch-up cap applies when fires are
    planned, by :func:`plan_fires`.)
    """
    newest: dict[str, datetime] = {}
    for w in waiting:
        if w.reason is RunReason.SCHEDULE:
            newest[w.job_id] = max(newest.get(w.job_id, w.scheduled_for), w.scheduled_for)
    missed = set()
    for w in waiting:
        if w.reason is not RunReason.SCHEDULE or w.attempt != 1 or w.put_back:
            continue
        if now - w.scheduled_for <= timedelta(seconds=w.policy.grace):
            continue
        superseded = newest[w.job_id] > w.scheduled_for
        misfire = w.policy.misfire
        if misfire is Misfire.SKIP or (misfire is Misfire.LATEST and superseded):
            missed.add(w.run_id)
    return missed


# -- retries and dead letters -----------------------------------------------------------------

RETRYABLE = frozenset({RunStatus.FAILED, RunStatus.TIMED_OUT})
"""Outcomes of an attempt that the job's retry policy applies to."""
MAX_LOSSES = 3
"""How many times a run whose worker vanished is put back to pending before it is dead-lettered."""


def next_attempt_due(
    policy: Policy, attempt: int, ended: datetime, rng: random.Random | None = None
) -> datetime | None:
    """When attempt ``attempt + 1`` is due after attempt ``attempt`` ended unsuccessfully at
    ``ended`` (with the backoff of :func:`backoff_delay`); None once ``max_attempts`` are
    used up."""
    if attempt >= policy.max_attempts:
        return None
    return ended + timedelta(seconds=backoff_delay(policy, attempt, rng))


def retry_due(
    policy: Policy,
    attempt: int,
    status: RunStatus,
    ended: datetime,
    rng: random.Random | None = None,
) -> datetime | None:
    """When an attempt that ended with ``status`` is retried: None if it succeeded (or was
    cancelled, skipped...: only :data:`RETRYABLE` outcomes are), or its attempts are used up."""
    if status not in RETRYABLE:
        return None
    return next_attempt_due(policy, attempt, ended, rng)


class LostRunFate(StrEnum):
    """What becomes of a running run whose worker vanished (its lease expired)."""

    REQUEUE = "requeue"  # back to pending, same run id and attempt: it runs again
    DEAD_LETTER = "dead_letter"  # lost for good; the retry policy may add the next attempt
    ORPHANED = "orphaned"  # its job was removed: lost, nothing can claim it again


def lost_run_fate(losses_before: int, *, job_exists: bool) -> LostRunFate:
    """The fate of a run lost once more, after ``losses_before`` earlier losses: put back up
    to :data:`MAX_LOSSES` times (a poison run that kills its worker every time is then
    dead-lettered); a run of a removed job cannot be claimed again, so it ends at once."""
    if not job_exists:
        return LostRunFate.ORPHANED
    if losses_before < MAX_LOSSES:
        return LostRunFate.REQUEUE
    return LostRunFate.DEAD_LETTER
