"""A running scheduler's tenure: the identity it holds and the outcome journal that goes with it.

Taking the identity (:mod:`gnomon.store.identity`) proves its previous holder dead, so the
tenure begins by recording what that holder journaled (:mod:`gnomon.dispatch.journal`) and
taking back the runs it still held — they were in flight. While the scheduler runs, the
tenure checks that the lock is still held (a restarted PostgreSQL drops it) and says so once
when that changes; it ends by closing the journal and releasing the lock.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import datetime

from gnomon.dispatch.journal import OutcomeJournal, record_journaled
from gnomon.store import SqlStore
from gnomon.store.identity import IdentityHold, hold_identity, journal_folder, worker_prefix

log = logging.getLogger(__name__)


class Tenure:
    """The identity lock and journal of one scheduler (or none, for a fixed worker id)."""

    def __init__(
        self, store: SqlStore, identity: str | None, *, state_dir: str | None, fixed_worker: bool
    ) -> None:
        self.store, self.state_dir = store, state_dir
        self.wanted = identity  # None: the first free default name
        self.fixed_worker = fixed_worker  # a test's fixed worker id: no identity unless asked
        self.hold: IdentityHold | None = None
        self.journal: OutcomeJournal | None = None
        self._held = True  # as last seen by check()

    @property
    def identity(self) -> str | None:
        return None if self.hold is None else self.hold.identity

    def begin(self, now: Callable[[], datetime], worker_id: Callable[[str], str]) -> str | None:
        """Hold the identity; record what a dead predecessor journaled; take back the runs
        it still held. Returns the identity (None without one); ``worker_id(identity)`` names
        this process's worker. Safe to call again after a database error."""
        if self.fixed_worker and self.wanted is None:
            return None
        if self.hold is None:
            self.hold = hold_identity(self.store.engine, self.wanted)
        identity = self.hold.identity
        if self.journal is not None:
            return identity
        me = worker_id(identity)
        journal = OutcomeJournal(journal_folder(self.store.engine, self.state_dir), identity)
        replayed = record_journaled(self.store, journal.replay())
        taken = self.store.take_back(now(), worker_prefix(identity), me)
        if replayed or taken:
            log.warning(
                "identity %s: recorded %d journaled outcome(s) of its previous "
                "process; took back %d run(s) it left in flight",
                identity,
                replayed,
                taken,
            )
        journal.start()
        self.journal = journal
        return identity

    def check(self, worker_id: str) -> None:
        """Keep the identity lock; say so once when it is lost or held again."""
        if self.hold is None:
            return
        held = self.hold.alive()
        if held != self._held:
            self._held = held
            if held:
                log.warning("scheduler %s holds its identity again", worker_id)
            else:
                log.error(
                    "scheduler %s lost its identity lock: a scheduler started now with "
                    "the same identity would take its runs back",
                    worker_id,
                )

    def close_journal(self, *, clean: bool) -> None:
        """Stop journaling; ``clean`` (every outcome recorded) removes the journal."""
        if self.journal is not None:
            self.journal.close(clean=clean)
            self.journal = None

    def end(self) -> None:
        """Release the identity (after :meth:`close_journal`)."""
        if self.hold is not None:
            self.hold.release()
            self.hold = None


def process_worker_id(identity: str, owner: object) -> str:
    """The worker id of ``owner`` (a scheduler) in this process, under ``identity``."""
    return f"{identity}:{os.getpid()}:{id(owner):x}"
