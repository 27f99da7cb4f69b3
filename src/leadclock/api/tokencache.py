"""Verified bearer tokens, kept a few seconds in process so a request does not read its token row.

Without it every authenticated request spends a pooled connection and a round trip on
`SELECT ... FROM api_tokens` (about half a millisecond of CPU, more than all the rest of the
request's framing). With it, a token is read from the database at most once per `ttl` seconds
per process (and whenever its `last_used_at` is due for its once-a-minute write).

What a revocation costs in time (DESIGN: API auth):
- revoked through this process (DELETE /tokens/{id}): refused from the next request on, since the
  route calls `forget`;
- revoked anywhere else (another API process, `revoke_token` from a script, SQL): refused within
  `ttl` seconds (`ApiSettings.token_cache_seconds`, default 5; 0 turns the cache off and every
  request reads the row again).

Only successful verifications are kept: a wrong, unknown or revoked token is looked up every time,
so a token made a moment ago works at once and the cache cannot be filled by guessing. An entry
holds sha256(secret), never the secret, and a hit compares it in constant time as the database
path does. Expiry runs on a monotonic clock of its own, not the app's injectable one: tests freeze
that one, and a frozen clock would keep an entry forever.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from leadclock.api.auth import Principal

# Entries beyond this are dropped oldest first (there are as many as valid tokens in use, so
# this is a guard, not a working limit).
MAX_ENTRIES = 10_000


@dataclass(frozen=True, slots=True)
class Verified:
    principal: Principal
    token_hash: str
    last_used_at: datetime | None  # as stored, so the once-a-minute write still happens
    expires: float  # on the cache's monotonic clock


class TokenCache:
    def __init__(self, ttl: float, *, now: Callable[[], float] = time.monotonic) -> None:
        if ttl < 0:
            raise ValueError("ttl must not be negative")
        self.ttl = ttl
        self._now = now
        self._entries: dict[int, Verified] = {}
        # Bumped by `forget`: a verification that read its row before a revocation in this
        # process must not store what it read after it (the token would live another ttl).
        self._generation = 0
        self._lock = threading.Lock()  # sync routes verify from the thread pool

    @property
    def generation(self) -> int:
        return self._generation

    def get(self, token_id: int, token_hash: str) -> Verified | None:
        """The entry for this token if it is fresh and the secret matches, else None."""
        entry = self._entries.get(token_id)
        if entry is None:
            return None
        if entry.expires <= self._now():
            with self._lock:
                if self._entries.get(token_id) is entry:
                    del self._entries[token_id]
            return None
        if not hmac.compare_digest(entry.token_hash, token_hash):
            return None
        return entry

    def put(self, principal: Principal, token_hash: str, last_used_at: datetime | None,
            generation: int) -> None:
        """Keep a verification made from a row read when `generation` was current."""
        if self.ttl <= 0:
            return
        entry = Verified(principal, token_hash, last_used_at, self._now() + self.ttl)
        with self._lock:
            if generation != self._generation:
                return
            self._entries.pop(principal.token_id, None)  # re-insert: dict order is age order
            self._entries[principal.token_id] = entry
            while len(self._entries) > MAX_ENTRIES:
                del self._entries[next(iter(self._entries))]

    def forget(self, token_id: int) -> None:
        with self._lock:
            self._generation += 1
            self._entries.pop(token_id, None)

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()


__all__ = ["MAX_ENTRIES", "TokenCache", "Verified"]
