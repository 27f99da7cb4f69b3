"""Scheduled reports (F18) in the worker: which runs are due, their messages into the outbox.

The schedule is data like every other timer: the `~reports` wake-up holds the next run's time
and `service_state["reports"].through` how far the schedule has been handled. A run's messages
carry a key made of (report, period, recipient, channel), so a run handled twice — two workers,
a crash after enqueueing — still sends each digest once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from leadclock.notify.directory import Directory, people_of
from leadclock.notify.outbox import enqueue
from leadclock.policy import Policy
from leadclock.reports.scheduled import ReportData, build_messages, due_runs, next_due_at
from leadclock.store import Store
from leadclock.store.worker_store import REPORTS, get_state, put_state, set_wakeups, wakeup

STATE_KEY = "reports"


def run_reports(store: Store, policy: Policy, since: datetime, now: datetime) -> int:
    """Enqueue the runs due in (since, now]; move the schedule on. Returns messages enqueued."""
    runs = due_runs(policy, since, now)
    count = 0
    if runs:
        data = ReportData(store.leads(), store.clocks(), store.breaches())
        directory = Directory(people_of(store.reps()), policy)
        messages = [m for run in runs for m in build_messages(run, data, policy, directory)]
        count = enqueue(store, messages, now=now) if messages else 0
    put_state(store, STATE_KEY, {"through": now.isoformat(), "policy": policy.version}, now)
    set_wakeups(store, {REPORTS: next_due_at(policy, now)}, now)
    return count


def ensure_schedule(store: Store, policy: Policy | None, now: datetime) -> None:
    """Keep the `~reports` wake-up in step with the active policy. The first time, the schedule
    starts now: a new installation does not send the digests of the days before it existed."""
    if policy is None:
        return
    with store.transaction():
        state = get_state(store, STATE_KEY)
        if state is None:
            put_state(store, STATE_KEY, {"through": now.isoformat(), "policy": policy.version}, now)
            through = now
        else:
            through = datetime.fromisoformat(state["through"])
        wanted = next_due_at(policy, through)
        current = wakeup(store, REPORTS)
        if current != wanted:
            set_wakeups(store, {REPORTS: wanted}, now)


def since_of(store: Store, now: datetime) -> datetime:
    state = get_state(store, STATE_KEY)
    return datetime.fromisoformat(state["through"]) if state else now - timedelta(minutes=1)


__all__ = ["ensure_schedule", "run_reports", "since_of"]
