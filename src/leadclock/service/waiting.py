"""Sleeping until something happens: a deadline, a PostgreSQL NOTIFY, or an in-process event.

The worker waits on `leadclock_wakeup` (a wake-up moved), the sender on `leadclock_outbox` (a
message was enqueued). Both are sent inside the writing transaction, so PostgreSQL delivers them
at commit, never for work that rolled back. In one process (SQLite, `leadclock serve`) the writer
sets a `threading.Event` instead. `seconds` bounds every sleep, so a lost notification costs at
most that long.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import Any

from leadclock.store import Store

log = logging.getLogger("leadclock.service")


class Waiter:
    def __init__(self, store: Store, channel: str, event: threading.Event | None = None) -> None:
        self.store = store
        self.channel = channel
        self.event = event or threading.Event()
        self._listener: Any = None

    def wait(self, seconds: float, stop: threading.Event) -> None:
        if seconds <= 0 or stop.is_set():
            return
        if self.store.dialect == "postgresql" and not self.event.is_set():
            try:
                listener = self._listen()
                deadline = time.monotonic() + seconds
                # Short slices, so `stop` and the in-process event are seen within 0.1 s.
                while not stop.is_set() and not self.event.is_set():
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    if any(True for _ in listener.notifies(timeout=min(left, 0.1), stop_after=1)):
                        break
                self.event.clear()
                return
            except Exception:
                log.warning("LISTEN %s failed; sleeping instead", self.channel, exc_info=True)
                self.close()
        if self.event.wait(seconds):
            self.event.clear()

    def _listen(self) -> Any:
        if self._listener is None:
            import psycopg

            url = self.store.engine.url.set(drivername="postgresql")
            self._listener = psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)
            self._listener.execute(f"LISTEN {self.channel}")
        return self._listener

    def close(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(Exception):  # closing a broken connection: nothing to do
                self._listener.close()
            self._listener = None


__all__ = ["Waiter"]
