"""In-process token buckets, one per client key (a token id or a client address).

A bucket holds up to ``burst`` requests and refills at ``rate`` per second. Time comes from
the scheduler's clock (``monotonic``), so tests drive it without sleeping.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class RateLimit:
    """``rate`` requests a second on average, bursts of up to ``burst``."""

    rate: float = 50.0
    burst: int = 200


class RateLimiter:
    """Decides whether a request may go ahead; thread-safe; memory bounded by ``max_keys``."""

    def __init__(
        self, limit: RateLimit, monotonic: Callable[[], float], max_keys: int = 10_000
    ) -> None:
        self.limit = limit
        self._monotonic = monotonic
        self._max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Take one request from ``key``'s bucket: 0.0 if allowed, else seconds to wait."""
        now = self._monotonic()
        with self._lock:
            tokens, at = self._buckets.get(key, (float(self.limit.burst), now))
            tokens = min(float(self.limit.burst), tokens + (now - at) * self.limit.rate)
            if tokens >= 1.0:
                if len(self._buckets) >= self._max_keys and key not in self._buckets:
                    self._forget_full(now)
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.limit.rate if self.limit.rate > 0 else math.inf

    def _forget_full(self, now: float) -> None:
        """Drop buckets that have refilled: forgetting them changes nothing."""
        burst, rate = float(self.limit.burst), self.limit.rate
        full = [k for k, (t, at) in self._buckets.items() if t + (now - at) * rate >= burst]
        for key in full or list(self._buckets)[: self._max_keys // 10]:
            del self._buckets[key]
