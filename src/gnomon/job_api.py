"""Defining and reading jobs: the part of the Scheduler's Python API that runs no loop.

:class:`JobApi` validates what it is given (:mod:`gnomon.definitions`), stores it in one
transaction, and wakes the scheduler's loop after every change that may move its next fire
(``_wake``), so a job added in this process is seen at once, not at the next poll.
"""

from __future__ import annotations

import builtins
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

from gnomon import definitions
from gnomon.clock import Clock
from gnomon.destinations import names_in
from gnomon.events import Event
from gnomon.models import Job, JobState, Policy, Run, RunReason, RunStatus
from gnomon.planning import paused_fires
from gnomon.references import SCRIPT
from gnomon.store import SqlStore
from gnomon.store.destinations import require_known
from gnomon.triggers import Location, Trigger

F = TypeVar("F", bound=Callable[..., Any])


class JobApi:
    """Jobs and their history over ``store`` (the base of :class:`gnomon.Scheduler`)."""

    store: SqlStore
    clock: Clock
    _wake: threading.Event  # set after a change: the loop looks again at once

    def add(
        self,
        when: definitions.When,
        action: definitions.ActionLike,
        *,
        id: str | None = None,
        name: str | None = None,
        tz: str = "UTC",
        policy: Policy | dict[str, Any] | None = None,
        paused: bool = False,
        replace_existing: bool = False,
        **options: Any,
    ) -> Job:
        """Validate and store a job; ``options`` are :class:`Policy` fields."""
        job = definitions.define_job(
            when,
            action,
            now=self.clock.now(),
            id=id,
            name=name,
            tz=tz,
            policy=policy,
            paused=paused,
            **options,
        )
        require_known(self.store, names_in(job.action))
        if replace_existing and id is not None and self._exists(id):
            return self.update(
                id, when=job.trigger, action=job.action, name=job.name, policy=job.policy
            )
        self.store.add_jobs([job])
        self._wake.set()
        return job

    def add_many(self, jobs: list[Job]) -> None:
        """Store jobs built with :func:`gnomon.definitions.define_job` in one transaction."""
        require_known(self.store, {n for job in jobs for n in names_in(job.action)})
        self.store.add_jobs(jobs)
        self._wake.set()

    def job(self, when: definitions.When, **kwargs: Any) -> Callable[[F], F]:
        """Decorator: schedule a module-level function; its id defaults to its reference
        (``package.module:function``), or to its name for a function of the running script
        (which only this script's scheduler can run: see :mod:`gnomon.references`)."""

        def decorate(func: F) -> F:
            action = definitions.python(func)
            kwargs.setdefault("id", action.config["ref"].removeprefix(f"{SCRIPT}:"))
            self.add(when, action, replace_existing=True, **kwargs)
            return func

        return decorate

    def _exists(self, job_id: str) -> bool:
        try:
            self.store.get_job(job_id)
        except LookupError:
            return False
        return True

    def get(self, job_id: str) -> Job:
        return self.store.get_job(job_id)

    def list(
        self,
        *,
        state: JobState | None = None,
        search: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Job]:
        return self.store.list_jobs(state=state, search=search, limit=limit, offset=offset)

    def update(
        self,
        job_id: str,
        *,
        when: definitions.When | None = None,
        action: definitions.ActionLike | None = None,
        name: str | None = None,
        tz: str | None = None,
        policy: Policy | dict[str, Any] | None = None,
        location: Location | None = None,
        **options: Any,
    ) -> Job:
        """Change a job; a new schedule takes effect from now (pending runs are kept).
        ``location`` (latitude, longitude) places a new solar schedule (``sunset``)."""
        job = self.get(job_id)
        now = self.clock.now()
        changes: dict[str, Any] = {"updated_at": now}
        if when is not None:
            zone = tz or str(getattr(job.trigger, "tz", "UTC"))
            trigger: Trigger = definitions.to_trigger(when, tz=zone, now=now, location=location)
            changes["trigger"] = trigger
            if job.state is not JobState.PAUSED:
                changes["next_fire_at"] = definitions.first_fire(trigger, now)
                changes["state"] = JobState.ACTIVE
        if action is not None:
            changes["action"] = definitions.to_action(action)
            require_known(self.store, names_in(changes["action"]))
        if name is not None:
            changes["name"] = definitions.check_name(name)
        if policy is not None or options:
            changes["policy"] = definitions.to_policy(policy or job.policy, options)
        updated = replace(job, **changes)
        self.store.save_job(
            updated,
            Event(kind="job.updated", at=now, job_id=job_id, data={"fields": sorted(changes)}),
        )
        self._wake.set()
        return updated

    def pause(self, job_id: str) -> Job:
        job, now = self.get(job_id), self.clock.now()
        if job.state is JobState.PAUSED:
            return job
        paused = replace(job, state=JobState.PAUSED, next_fire_at=None, updated_at=now)
        self.store.save_job(paused, Event(kind="job.paused", at=now, job_id=job_id))
        return paused

    def resume(self, job_id: str) -> Job:
        """Resume from now: the fires that fell in the pause are not run; one ``missed`` run
        records them all (their count, first and last: see :func:`paused_fires`)."""
        job, now = self.get(job_id), self.clock.now()
        if job.state is not JobState.PAUSED:
            return job
        swallowed = paused_fires(job.trigger, job.updated_at, now)
        next_fire = swallowed.next_fire_at
        state = JobState.ACTIVE if next_fire is not None else JobState.DONE
        resumed = replace(job, state=state, next_fire_at=next_fire, updated_at=now)
        missed = swallowed.fire_count
        event = Event(kind="job.resumed", at=now, job_id=job_id, data={"missed": missed})
        self.store.save_job(resumed, event, fires=swallowed)
        self._wake.set()
        return resumed

    def remove(self, job_id: str) -> None:
        self.store.remove_job(job_id, self.clock.now())

    def trigger(self, job_id: str) -> Run:
        """Run a job now, outside its schedule (recorded with reason ``manual``)."""
        now = self.clock.now()
        run = self.store.add_run(job_id, now, now, RunReason.MANUAL)
        self._wake.set()
        return run

    def changed(self) -> None:
        """Tell the loop that runs or jobs were written outside its methods (a retry or a
        backfill by a face): it looks at once instead of at its next wake-up or poll."""
        self._wake.set()

    def runs(
        self, job_id: str | None = None, *, limit: int = 50, status: RunStatus | None = None
    ) -> builtins.list[Run]:
        """Runs newest first; a removed job's history is still there."""
        found = self.store.list_runs(job_id, limit=limit, status=status)
        if not found and job_id is not None:
            self.get(job_id)  # no history and no job: a clear error for an unknown id
        return found

    def events(
        self, *, after_id: int = 0, job_id: str | None = None, limit: int = 100
    ) -> builtins.list[Event]:
        return self.store.list_events(after_id=after_id, job_id=job_id, limit=limit)
