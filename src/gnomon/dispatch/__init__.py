"""Dispatchers hand claimed runs to execution: ``local`` threads (here) or Celery.

The seam is :class:`~gnomon.dispatch.base.Dispatcher`; outcomes are recorded by an
:class:`~gnomon.dispatch.recorder.OutcomeRecorder`, whichever dispatcher executed the run.
"""

from gnomon.dispatch.base import DispatchContext, Dispatcher
from gnomon.dispatch.local import LocalDispatcher
from gnomon.dispatch.recorder import OutcomeRecorder

__all__ = ["DispatchContext", "Dispatcher", "LocalDispatcher", "OutcomeRecorder"]
