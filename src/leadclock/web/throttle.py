"""Sign-in rate limiting: a run of failures for one login, or from one address, pauses it.

Argon2 already makes each guess cost tens of milliseconds; this stops a patient guesser. It is
in memory and per process (like the API's token buckets): enough to turn thousands of guesses a
minute into a handful, without a table that an attacker could fill. Time is an argument
(a monotonic reading from the caller), so the rules are tested without sleeping.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field

MAX_FAILURES = 5
WINDOW_SECONDS = 15 * 60.0
MAX_KEYS = 10_000  # bounded memory: the oldest keys are forgotten first


@dataclass
class LoginThrottle:
    max_failures: int = MAX_FAILURES
    window: float = WINDOW_SECONDS
    _failures: dict[str, deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and now - times[0] > self.window:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def blocked(self, keys: list[str], now: float) -> bool:
        with self._lock:
            return any(len(self._recent(key, now)) >= self.max_failures for key in keys)

    def failed(self, keys: list[str], now: float) -> None:
        with self._lock:
            for key in keys:
                self._recent(key, now)
                self._failures.setdefault(key, deque(maxlen=self.max_failures * 2)).append(now)
            while len(self._failures) > MAX_KEYS:
                self._failures.pop(next(iter(self._failures)))

    def succeeded(self, keys: list[str]) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)


__all__ = ["LoginThrottle"]
