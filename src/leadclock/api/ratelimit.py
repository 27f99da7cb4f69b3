"""Per-token rate limits: a token bucket each, in memory.

In memory and per process on purpose: a limit is a guard against a runaway client, not an
accounting system, and a shared counter would put a database write on every request. With N API
processes a client gets at most N times the rate, which is still bounded.

The buckets run on a monotonic clock of their own, not the app's injectable clock: tests freeze
that one, and a frozen clock would never refill a bucket.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

# Buckets for keys not seen for a while are dropped beyond this many (client addresses of
# unauthenticated webhook calls could otherwise grow the table without bound).
MAX_KEYS = 10_000


class RateLimiter:
    def __init__(self, rate: float, burst: int, *, now: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0 or burst <= 0:
            raise ValueError("rate and burst must be positive")
        self.rate = rate
        self.burst = float(burst)
        self._now = now
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, at)
        # Sync routes run in a thread pool: two requests of one token may take from one bucket.
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Spend one request of `key`'s bucket. Returns 0 when allowed, else the seconds until
        one request will be (for Retry-After)."""
        with self._lock:
            now = self._now()
            tokens, at = self._buckets.pop(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                wait = 0.0
            else:
                self._buckets[key] = (tokens, now)
                wait = (1.0 - tokens) / self.rate
            while len(self._buckets) > MAX_KEYS:
                self._buckets.popitem(last=False)  # least recently used
            return wait


def retry_after(wait: float) -> str:
    """Retry-After takes whole seconds; round up so a client that obeys it is let in."""
    return str(max(1, math.ceil(wait)))


__all__ = ["RateLimiter", "retry_after"]
