"""Names people give for zones and DST policies, checked once at the edge."""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gnomon.errors import InvalidTrigger
from gnomon.triggers.wallclock import DstPolicy


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; raises ``InvalidTrigger`` for an unknown name."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidTrigger(
            f"unknown time zone {name!r} (use an IANA name such as 'Europe/Berlin')"
        ) from None


def dst_policy(value: DstPolicy | str) -> DstPolicy:
    """The policy named ``value``; raises ``InvalidTrigger`` listing the known names."""
    try:
        return DstPolicy(value)
    except ValueError:
        known = ", ".join(p.value for p in DstPolicy)
        raise InvalidTrigger(f"unknown DST policy {value!r}; use one of: {known}") from None
