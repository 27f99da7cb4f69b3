"""The worker: fires what time decides, on time (DESIGN principle 2: timers are data).

Each round claims the wake-ups due by now (`service.live.Live.tick`: replay the lead as of now,
record breaches and escalation steps, carry out reassignments, enqueue notifications — one
transaction), then sleeps until the earliest wake-up left or until someone wakes it:
PostgreSQL's LISTEN/NOTIFY (every transaction that moves a wake-up notifies at commit), or, in
the embedded `serve`, an in-process event set by the API. It does not poll on a fixed period;
`max_sleep` only bounds a sleep so a lost notification costs at most that long.

The auditor runs every `audit_every` seconds: a clock still open past its deadline by more than
`grace` whose lead has no earlier wake-up (a bug, a row deleted by hand, a restore from backup)
gets one at once, and the lag is reported in the heartbeat (/healthz, /metrics).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, or_, select

from leadclock.reports.compliance_watch import compliance_escalations
from leadclock.service.live import Live, Tick
from leadclock.service.reports_job import ensure_schedule
from leadclock.service.waiting import Waiter
from leadclock.store import Store
from leadclock.store.models import ClockRow
from leadclock.store.worker_models import Wakeup
from leadclock.store.worker_store import (
    WAKE_CHANNEL,
    beat,
    clocks_ended_since,
    next_due,
    set_wakeups,
)

log = logging.getLogger("leadclock.worker")

_clocks = ClockRow.__table__
_wakeups = Wakeup.__table__


@dataclass
class AuditReport:
    repaired: int = 0
    oldest_due: datetime | None = None


def audit(store: Store, now: datetime, grace: timedelta = timedelta(seconds=5)) -> AuditReport:
    """Find open clocks overdue by more than `grace` with no wake-up at or before their
    deadline, and schedule their lead now. Returns how many leads it repaired."""
    limit = now - grace
    statement = (
        select(_clocks.c.lead, _clocks.c.due_at)
        .select_from(_clocks.outerjoin(_wakeups, _wakeups.c.key == _clocks.c.lead))
        .where(
            _clocks.c.outcome == "open", _clocks.c.stopped_at.is_(None), _clocks.c.due_at < limit,
            or_(_wakeups.c.key.is_(None), and_(_wakeups.c.due_at > _clocks.c.due_at)),
        )
        .order_by(_clocks.c.due_at)
        .limit(10_000)
    )
    with store._read() as connection:
        rows = connection.execute(statement).all()
    report = AuditReport()
    if rows:
        report.repaired = len({row.lead for row in rows})
        report.oldest_due = rows[0].due_at
        log.warning("auditor: %d leads had an overdue clock without a wake-up (oldest due %s); scheduled now",
                    report.repaired, report.oldest_due)
        with store.transaction():
            set_wakeups(store, {row.lead: now for row in rows}, now)
    return report


class Worker:
    def __init__(
        self,
        store: Store,
        *,
        name: str = "worker",
        clock: Callable[[], datetime] | None = None,
        live: Live | None = None,
        batch: int = 500,
        max_sleep: float = 30.0,
        audit_every: float = 30.0,
        wake: threading.Event | None = None,
    ) -> None:
        self.store = store
        self.name = name
        self.clock = clock or (lambda: datetime.now(UTC))
        self.live = live or Live(store)
        self.batch = batch
        self.max_sleep = max_sleep
        self.audit_every = timedelta(seconds=audit_every)
        self.wake = wake or threading.Event()
        self._last_audit: datetime | None = None
        self._last_watch: datetime | None = None
        self._watcher: threading.Thread | None = None
        self.background_watch = False  # `run` (the real loop) sets it; tests call run_once
        self.watch_every = timedelta(minutes=15)
        self.waiter = Waiter(store, WAKE_CHANNEL, self.wake)

    def run_once(self, now: datetime | None = None) -> Tick:
        """One round: everything due by `now`, in batches, then the auditor if it is time."""
        moment = now or self.clock()
        total = Tick()
        while True:
            tick = self.live.tick(moment, self.batch, worker=self.name)
            total.claimed += tick.claimed
            total.fired += tick.fired
            total.messages += tick.messages
            total.decisions += tick.decisions
            total.reports += tick.reports
            total.lag_seconds = max(total.lag_seconds, tick.lag_seconds)
            if tick.claimed < self.batch:
                break
        if self._last_audit is None or moment - self._last_audit >= self.audit_every:
            self._last_audit = moment
            audit(self.store, moment)
            ensure_schedule(self.store, self.live.policies.active(), moment)
        if self._last_watch is None or moment - self._last_watch >= self.watch_every:
            self._last_watch = moment
            if self.background_watch:
                # Seconds of reading on a big store: off the loop that fires deadlines.
                if self._watcher is None or not self._watcher.is_alive():
                    self._watcher = threading.Thread(target=self._watch_safely, args=(moment,),
                                                     name="leadclock-compliance", daemon=True)
                    self._watcher.start()
            else:
                self.watch_compliance(moment)
        if total.claimed:
            beat(self.store, self.name, moment, total.lag_seconds, total.fired)
        return total

    def _watch_safely(self, now: datetime) -> None:
        try:
            self.watch_compliance(now)
        except Exception:
            log.exception("worker %s: compliance watch failed", self.name)

    def watch_compliance(self, now: datetime) -> int:
        """F16 `compliance_below`: escalate reps under the threshold (once per rep and day)."""
        policy = self.live.policies.active()
        if policy is None or not any(r.trigger.kind == "compliance_below" for r in policy.escalations.values()):
            return 0
        longest = max((r.trigger.period.seconds(86400.0) or 0.0 for r in policy.escalations.values()
                       if r.trigger.kind == "compliance_below" and r.trigger.period is not None),
                      default=14 * 86400.0)
        clocks = clocks_ended_since(self.store, now - timedelta(seconds=longest))
        return self.live.emit(compliance_escalations(policy, clocks, now), now)

    def sleep_for(self, now: datetime) -> float:
        due = next_due(self.store)
        if due is None:
            return self.max_sleep
        return min(max((due - now).total_seconds(), 0.0), self.max_sleep)

    # ------------------------------------------------------------------ the loop

    def run(self, stop: threading.Event) -> None:
        """Fire what is due until `stop` is set."""
        self.background_watch = True
        beat(self.store, self.name, self.clock(), 0.0, 0)
        while not stop.is_set():
            until: float | None = None
            try:
                self.run_once()
                now = self.clock()
                delay = self.sleep_for(now)
                # A wake-up moved to no earlier than this need not wake us (waiting.wakes).
                until = now.timestamp() + delay
            except Exception:
                # The database may be restarting: keep going, try again shortly.
                log.exception("worker %s: round failed", self.name)
                self.waiter.close()
                delay = 1.0
            if delay > 0:
                self._wait(delay, stop, until)
        self.waiter.close()

    def _wait(self, seconds: float, stop: threading.Event, until: float | None = None) -> None:
        self.waiter.wait(seconds, stop, until)


__all__ = ["AuditReport", "Worker", "audit"]
