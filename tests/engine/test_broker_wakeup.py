"""A scheduler whose dispatcher publishes to a broker (nothing taken ahead) wakes for a
lone one-shot at its due time: its fire is not recorded ahead, where the wake-up would
count it as seen and no worker would wake the loop for it (the bench's 10,000 one-shots
due at one instant used to wait forever)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta

from celery import Celery

from gnomon import FakeClock, Scheduler, python
from gnomon.dispatch.celery import CeleryDispatcher
from gnomon.store import ClaimedRun
from gnomon.triggers import AtTrigger
from tests.engine.conftest import T0


class Captured(CeleryDispatcher):
    """The Celery dispatcher with its broker replaced by a list (the seam: publishing)."""

    def __init__(self) -> None:
        super().__init__(Celery("test", set_as_current=False))
        self.published: list[int] = []

    def _publish(self, claimed: Sequence[ClaimedRun]) -> None:
        self.published += [c.run.id for c in claimed]

    def shutdown(self, wait: bool = True, timeout: float | None = None) -> None:
        pass


def test_a_one_shot_due_soon_wakes_a_broker_scheduler_when_due(
    make_scheduler: Callable[..., Scheduler], clock: FakeClock
) -> None:
    dispatcher = Captured()
    scheduler = make_scheduler(dispatcher=dispatcher, lookahead=1.0)
    due = T0 + timedelta(seconds=10)
    scheduler.add(AtTrigger(due), python("tests.engine.blocking:record"), id="once")
    clock.set(due - timedelta(seconds=0.5))
    report = scheduler.tick(clock.now())
    assert (report.fires, report.claimed) == (0, 0)  # nothing recorded ahead of its fire
    assert scheduler.store.next_wakeup(after=clock.now(), until=clock.now()) == due
    clock.set(due)
    assert scheduler.tick(clock.now()).claimed == 1
    assert len(dispatcher.published) == 1
