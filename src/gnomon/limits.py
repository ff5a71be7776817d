"""Bounds on what people give gnomon, defined once for every face.

The Python API (:mod:`gnomon.definitions`, which every face builds jobs with), the CLI and
the REST API (its pydantic schemas, :mod:`gnomon.api.schemas`) check against these same
numbers, so a value one face refuses is refused by all. ``docs/api.md`` lists them.

Why bounds at all: a schedule or policy that cannot be computed (``every 99999999999 days``
overflows a ``datetime``) must be refused when the job is defined, with one clear line, not
crash a command or pause the job at its first fire. Sizes keep one request or one job from
filling memory or the database.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

KIB = 1024
MAX_BODY_BYTES = 1024 * KIB
"""Default limit of a REST API request body; ``GNOMON_MAX_BODY_BYTES`` changes it."""
MAX_CONFIG_BYTES = 256 * KIB
"""An action's config, measured as compact UTF-8 JSON."""
MAX_ARGS_BYTES = 64 * KIB
"""An action's arguments (the config keys in :data:`ARG_KEYS`) as compact UTF-8 JSON."""
ARG_KEYS = ("args", "kwargs", "argv", "arguments")
MAX_OUTPUT_CHARS = 64 * KIB
"""Captured output kept per attempt (the head, and a note of what was cut)."""
MAX_ERROR_CHARS = 4 * KIB
"""An attempt's error message kept per attempt."""
MAX_RESULT_BYTES = 64 * KIB
"""An attempt's JSON result kept per attempt; a larger one is replaced by a note."""

MAX_ATTEMPTS = 1000
MAX_CATCHUP_CAP = 100_000
MAX_POLICY_SECONDS = 366 * 86400
"""``backoff``, ``max_backoff``, ``timeout``, ``jitter`` and ``grace``: at most 366 days."""
MAX_AMOUNT = timedelta(days=36_525)
"""An interval (``every 15m``) or a delay (``in 2 hours``): at most 36525 days (100 years)."""
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
"""Dates people give (one-shots, ``--after``, backfill ranges) and first fires lie in
``[EARLIEST, LATEST)``: far enough from ``datetime``'s year 9999 that adding the largest
amount or policy duration to any of them can still be computed."""
RANGE = f"from {EARLIEST.date().isoformat()} up to (not including) {LATEST.date().isoformat()}"
MAX_ID = 2**62
"""The largest run or event id a request may name (ids are 64-bit integers; a larger
number is refused as out of range, never sent to the database)."""
MAX_NAME_CHARS = 500
"""A job's name (the column's size)."""
MAX_NOTE_CHARS = 500
"""An error kept in a lifecycle event's data (the run keeps up to :data:`MAX_ERROR_CHARS`)."""
MAX_SPEC_CHARS = 500
MAX_TZ_CHARS = 64
MAX_PAGE = 500
"""The most rows one page of a list asks for (API ``limit``)."""
MAX_BACKFILL_FIRES = 1000
"""The most fires one backfill may record (its ``max_fires``)."""
MAX_OFFSET = 10_000_000
"""The largest offset one page of the API's job list may start at."""
MAX_PREVIEW_FIRES = 1000
"""The most fires ``gnomon next --count`` lists."""


def check_instant(value: datetime, what: str) -> datetime:
    """``value`` (aware) in UTC if it lies in ``[EARLIEST, LATEST)``; else ``ValueError``.

    Callers turn the ``ValueError`` into their face's error (``InvalidTrigger``, a 422).
    """
    try:
        utc = value.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:00-05:00 is in year 10000 in UTC
        utc = None
    if utc is None or not EARLIEST <= utc < LATEST:
        raise ValueError(f"{what} {value.isoformat()} is out of range: give a time {RANGE}")
    return utc


_compact = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode  # built once


def json_size(value: Any) -> int:
    """Bytes of ``value`` as compact UTF-8 JSON (what the store keeps)."""
    return len(_compact(value).encode())


def cap_result(value: Any) -> Any:
    """A JSON result as kept in the history: itself, or a note when it is too large."""
    if value is None or isinstance(value, bool):  # most results: nothing to measure
        return value
    try:
        size = json_size(value)
    except (TypeError, ValueError, RecursionError):
        return value  # not JSON: the recorder reports that, not this cap
    if size <= MAX_RESULT_BYTES:
        return value
    return f"[result of {size} bytes as JSON not kept: more than {MAX_RESULT_BYTES}]"
