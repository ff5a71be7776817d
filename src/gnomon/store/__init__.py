"""Durable storage of jobs, runs and events. See :mod:`gnomon.store.sql`."""

from gnomon.store.rows import ClaimedRun, FinishedRun
from gnomon.store.sinks import SinkCursor
from gnomon.store.sql import AdvanceResult, SqlStore

__all__ = ["AdvanceResult", "ClaimedRun", "FinishedRun", "SinkCursor", "SqlStore"]
