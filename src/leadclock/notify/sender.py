"""The sender: claim due outbox rows, deliver each through its channel, record the outcome.

`run_once(now)` is one round and takes the time as an argument (tests drive it with a frozen
clock); `run(stop_event)` loops on the injected clock, sleeping until the next row is due (a new
row, a retry, or a lease running out), at most `max_sleep` seconds so that rows enqueued by other
processes are picked up promptly. Several senders (threads or processes) may run against one
database: claims are exclusive (see `outbox.claim`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from leadclock.notify import outbox
from leadclock.notify.channels import Channel
from leadclock.notify.errors import PermanentError, TransientError
from leadclock.notify.outbox import DEFAULT_RETRY, OutboxRow, RetryPolicy
from leadclock.store import Store

log = logging.getLogger(__name__)


@dataclass(slots=True)
class SendReport:
    """What one round did. `errors` holds (row id, error) for every failed attempt."""

    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    dead: int = 0
    lost_lease: int = 0  # failures not recorded because another sender had taken the row over
    skipped: int = 0  # left unsent because their lease was running out (claimed again later)
    errors: list[tuple[int, str]] = field(default_factory=list)


class Sender:
    def __init__(
        self,
        store: Store,
        channels: Mapping[str, Channel],
        worker_id: str,
        clock: Callable[[], datetime] | None = None,
        *,
        batch: int = 50,
        lease_seconds: float = 60.0,
        retry: RetryPolicy = DEFAULT_RETRY,
        max_sleep: float = 2.0,
        min_sleep: float = 0.05,
        lease_margin: float = 15.0,
    ) -> None:
        self.store = store
        self.channels = dict(channels)
        self.worker_id = worker_id
        self.clock = clock or (lambda: datetime.now(UTC))
        self.batch = batch
        # A batch is delivered one row after another under one lease. A row whose lease is about
        # to run out (less than `lease_margin` left: about one channel timeout) is left alone, to
        # be claimed again, rather than sent while another sender may be claiming it.
        self.lease_seconds = lease_seconds
        self.lease_margin = min(lease_margin, lease_seconds / 2)
        self.retry = retry
        self.max_sleep = max_sleep
        self.min_sleep = min_sleep

    def run_once(self, now: datetime) -> SendReport:
        """Claim up to `batch` due rows and deliver them, one by one."""
        report = SendReport()
        rows = outbox.claim(self.store, self.worker_id, now, self.batch, self.lease_seconds, retry=self.retry)
        report.claimed = len(rows)
        for row in rows:
            if row.lease_until is not None and (row.lease_until - self.clock()).total_seconds() < self.lease_margin:
                report.skipped += 1
                continue
            self._deliver(row, report)
        return report

    def _deliver(self, row: OutboxRow, report: SendReport) -> None:
        channel = self.channels.get(row.channel)
        try:
            if channel is None:
                raise PermanentError(
                    f"no channel named {row.channel!r} is configured (known: {', '.join(sorted(self.channels)) or 'none'})"
                )
            channel.send(row)
        except PermanentError as error:
            self._failed(row, str(error), report, permanent=True)
        except TransientError as error:
            self._failed(row, str(error), report, retry_after=error.retry_after)
        except Exception as error:
            # A bug in a channel must not lose the message nor stop the loop: retried with
            # back-off like a transient failure, dead after the last attempt, logged in full.
            log.exception("channel %s failed on outbox row %s", row.channel, row.id)
            self._failed(row, f"{type(error).__name__}: {error}", report)
        else:
            # The time of the delivery, not of the claim: a batch takes a while.
            outbox.mark_sent(self.store, row, self.clock())
            report.sent += 1

    def _failed(
        self, row: OutboxRow, error: str, report: SendReport, *, permanent: bool = False,
        retry_after: float | None = None,
    ) -> None:
        report.errors.append((row.id, error))
        status = outbox.mark_failed(
            self.store, row, error, self.clock(), permanent=permanent, retry_after=retry_after,
            retry=self.retry,
        )
        if status == "dead":
            report.dead += 1
            log.warning("outbox row %s (%s to %s) is dead: %s", row.id, row.channel, row.recipient, error)
        elif status == "failed":
            report.retrying += 1
        else:
            report.lost_lease += 1

    def sleep_for(self, now: datetime) -> float:
        """Seconds until the next row is due, within [min_sleep, max_sleep]."""
        due = outbox.next_due(self.store)
        if due is None:
            return self.max_sleep
        return min(max((due - now).total_seconds(), self.min_sleep), self.max_sleep)

    def run(self, stop_event: threading.Event) -> None:
        """Deliver until `stop_event` is set. A full batch is followed at once by the next."""
        while not stop_event.is_set():
            try:
                report = self.run_once(self.clock())
                if report.claimed >= self.batch:
                    continue
                delay = self.sleep_for(self.clock())
            except Exception:
                # The database may be restarting: keep the loop alive, try again shortly.
                log.exception("sender %s: round failed", self.worker_id)
                delay = self.max_sleep
            stop_event.wait(delay)


__all__ = ["SendReport", "Sender"]
