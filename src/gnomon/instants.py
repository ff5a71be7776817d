"""Aware-UTC instants and their storage form.

Inside gnomon every instant is an aware ``datetime`` in UTC. Naive datetimes are refused at
the edge with a clear error, never read as local time. The store keeps instants as integer
microseconds since the Unix epoch, which sort, index and compare the same on every database.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gnomon.errors import InvalidSpec

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


def require_aware(value: datetime, what: str = "datetime") -> datetime:
    """Return ``value`` in UTC, or raise if it carries no time zone."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidSpec(
            f"{what} {value.isoformat()} has no time zone; give an offset (e.g. +00:00 or Z) "
            "or a zone"
        )
    return value.astimezone(UTC)


def to_micros(value: datetime) -> int:
    """Microseconds since the epoch for an aware datetime."""
    return (value - EPOCH) // _MICRO


def from_micros(value: int) -> datetime:
    """The aware UTC datetime for microseconds since the epoch."""
    return EPOCH + timedelta(microseconds=value)


def iso(value: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``, to the second when there are no microseconds."""
    text = value.astimezone(UTC).isoformat()
    return text.replace("+00:00", "Z")
