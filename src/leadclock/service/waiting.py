"""Sleeping until something happens: a deadline, a PostgreSQL NOTIFY, or an in-process event.

The worker waits on `leadclock_wakeup` (a wake-up moved), the sender on `leadclock_outbox` (a
message was enqueued). Both are sent inside the writing transaction, so PostgreSQL delivers them
at commit, never for work that rolled back. In one process (SQLite, `leadclock serve`) the writer
sets a `threading.Event` instead. `seconds` bounds every sleep, so a lost notification costs at
most that long.

A notification may carry a payload: the earliest instant its writer made due, as POSIX seconds.
A sleeper that will wake by then anyway (`until`) keeps sleeping, so the stream of new leads with
far deadlines does not wake the worker for nothing on every ingest. A notification without a
readable payload always wakes.
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

    def wait(self, seconds: float, stop: threading.Event, until: float | None = None) -> None:
        """Sleep up to `seconds`; `until` is the instant (POSIX seconds, in the writers' clock)
        this sleeper wakes at anyway, so notifications due no earlier are let pass."""
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
                    notes = listener.notifies(timeout=min(left, 0.1), stop_after=1)
                    if any(wakes(note.payload, until) for note in notes):
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


def wakes(payload: str, until: float | None) -> bool:
    """Whether a notification with `payload` is news to a sleeper that wakes at `until`."""
    if until is None:
        return True
    try:
        due = float(payload)
    except ValueError:
        return True  # no instant given (or not ours to read): wake and look
    return due < until


__all__ = ["Waiter", "wakes"]
