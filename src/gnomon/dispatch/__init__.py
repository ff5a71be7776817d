"""Dispatchers hand claimed runs to execution: ``local`` threads (here) or Celery."""

from gnomon.dispatch.local import LocalDispatcher

__all__ = ["LocalDispatcher"]
