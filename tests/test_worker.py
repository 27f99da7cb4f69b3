"""The live path and the worker (issue 5): timers as data, routing, escalations, exactly-once
notifications at the outbox, crash atomicity. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from leadclock.engine import parse_event
from leadclock.engine.events import Event
from leadclock.notify import outbox
from leadclock.policy import load_policy_text
from leadclock.service.live import Live
from leadclock.service.worker import Worker, audit
from leadclock.store import Store
from leadclock.store.worker_store import ROUTER, set_wakeups, wakeups

T0 = datetime(2026, 7, 8, 1, 0, tzinfo=UTC)  # Wed 10:00 JST, inside business hours
POLICY_TEXT = """\
extends: b2b-saas
routing:
  reps:
    sato: {name: 佐藤, team: east, manager: kato}
    yamada: {name: 山田, team: east, manager: kato}
    suzuki: {name: 鈴木, team: east, manager: kato}
    kato: {name: 加藤, team: east, role: manager}
  pools:
    sdrs: [sato, yamada, suzuki]
  rules:
    - {name: everyone, when: {}, strategy: round_robin, pool: sdrs}
  fallback: {queue: manual}
  after_hours: {queue: true, order: arrival}
  reassignment: {exclude_recent: 1, fallback: manager_queue}
channels:
  inapp: {type: inapp}
  crm-hook: {type: webhook, settings: {url: "http://127.0.0.1:9/hook", secret: s3cret, assignments: "true"}}
"""
_serial = iter(range(10**6))


def ev(kind: str, at: datetime, lead: str = "", **fields: Any) -> Event:
    return parse_event({"id": f"e{next(_serial)}", "type": kind, "at": at.isoformat(), "lead": lead, **fields})


def live_store(store: Store, text: str = POLICY_TEXT) -> Live:
    policy = load_policy_text(text)
    store.save_policy(policy, text)
    store.upsert_rep("kato", name="加藤", team="east", role="manager")
    return Live(store)


def kinds(effects: list[Any]) -> list[str]:
    return [e.kind for e in effects]


def test_new_lead_is_routed_stored_pushed_and_scheduled(store: Store) -> None:
    live = live_store(store)
    done = live.ingest([ev("lead.created", T0, "L-1", source="demo_request")], T0 + timedelta(seconds=2), "api")
    assert [e.lead for e in done.stored] == ["L-1"]
    lead = store.lead("L-1")
    assert lead is not None and lead.owner == "sato"  # round robin starts at the first member
    assigned = [e for e in store.events("L-1") if e.type == "lead.assigned"]
    assert len(assigned) == 1 and assigned[0].data["by"] == "router:everyone"
    # The assignment clock (30 s) is met; first contact (5 min) runs from the assignment.
    clocks = {c.stage: c for c in store.clocks(lead="L-1")}
    assert clocks["assignment"].outcome == "met"
    assert clocks["first_contact"].due_at == T0 + timedelta(seconds=2, minutes=5)
    # The wake-up is the earliest thing due: the first-contact deadline (strictly after it).
    assert wakeups(store)["L-1"] == clocks["first_contact"].due_at + timedelta(microseconds=1)
    # The decision is explained in the audit trail and pushed to the CRM webhook once.
    assert any(a.action == "lead.assign" and a.actor == "router" for a in store.audit("L-1"))
    pushes = [r for r in outbox.list_rows(store) if r.payload.get("type") == "assignment"]
    assert [(r.channel, r.payload["rep"]) for r in pushes] == [("crm-hook", "sato")]
    # The same delivery again changes nothing.
    again = live.ingest([done.stored[0]], T0 + timedelta(seconds=3), "api")
    assert again.stored == [] and len(outbox.list_rows(store)) == len(outbox.list_rows(store))
    assert len([e for e in store.events("L-1") if e.type == "lead.assigned"]) == 1


def test_worker_fires_the_breach_once_at_the_deadline(store: Store) -> None:
    live = live_store(store)
    live.ingest([ev("lead.created", T0, "L-1", source="demo_request")], T0, "api")
    due = T0 + timedelta(minutes=5)
    worker = Worker(store, live=live, name="w1")
    assert worker.run_once(due).claimed == 0  # at the deadline itself: not yet breached
    tick = worker.run_once(due + timedelta(microseconds=1))
    assert tick.claimed == 1 and tick.lag_seconds == 0.0
    breaches = store.effects("L-1", kind="clock_breached")
    assert [(b.stage, b.at) for b in breaches] == [("first_contact", due)]
    rows = [r for r in outbox.list_rows(store) if "clock_breached" in r.dedupe_key]
    assert [(r.recipient, r.channel) for r in rows] == [("sato", "inapp")]
    # Nothing fires twice: running again (or later) adds no effect and no message.
    count = len(outbox.list_rows(store))
    worker.run_once(due + timedelta(seconds=1))
    assert len(store.effects("L-1", kind="clock_breached")) == 1
    assert len(outbox.list_rows(store)) >= count
    assert len([r for r in outbox.list_rows(store) if "clock_breached" in r.dedupe_key]) == 1


def test_escalation_reassigns_through_the_router_and_restarts_the_clock(store: Store) -> None:
    live = live_store(store)
    live.ingest([ev("lead.created", T0, "L-1", source="demo_request")], T0, "api")
    worker = Worker(store, live=live)
    # base preset: hot lead not contacted 15 minutes after assignment → the next rep.
    worker.run_once(T0 + timedelta(minutes=15, seconds=1))
    lead = store.lead("L-1")
    assert lead is not None and lead.owner == "suzuki"  # rotation order is by rep id: sato, suzuki, yamada
    firsts = [c for c in store.clocks(lead="L-1") if c.stage == "first_contact"]
    assert [(c.owner, c.outcome) for c in firsts] == [("sato", "breached"), ("suzuki", "open")]
    assert firsts[1].started_at >= T0 + timedelta(minutes=15)
    reassigned = [a for a in store.audit("L-1") if a.action == "lead.reassign"]
    assert len(reassigned) == 1 and "sato" in reassigned[0].reason
    # Reprocessing the lead later does not reassign it again for the same step.
    worker.run_once(T0 + timedelta(minutes=16))
    assert store.lead("L-1").owner == "suzuki"  # type: ignore[union-attr]
    assert len([e for e in store.events("L-1") if e.type == "lead.assigned"]) == 2


def test_after_hours_lead_waits_for_the_opening(store: Store) -> None:
    live = live_store(store)
    night = datetime(2026, 7, 8, 13, 0, tzinfo=UTC)  # 22:00 JST
    live.ingest([ev("lead.created", night, "L-9", source="demo_request")], night, "api")
    assert store.lead("L-9").owner is None  # type: ignore[union-attr]
    opening = datetime(2026, 7, 9, 0, 0, tzinfo=UTC)  # 09:00 JST next day
    assert wakeups(store)[ROUTER] == opening
    Worker(store, live=live).run_once(opening + timedelta(milliseconds=5))
    assert store.lead("L-9").owner == "sato"  # type: ignore[union-attr]
    assert ROUTER not in wakeups(store)


def test_a_queued_lead_claimed_with_the_queue_gets_its_assignment(store: Store) -> None:
    # The worker wakes late: the after-hours queue and the queued lead's own wake-up are both
    # due in one round. The queue's assignment is stored during the settle, after the lead's
    # log was read; the lead must still be replayed with it.
    live = live_store(store)
    night = datetime(2026, 7, 8, 13, 0, tzinfo=UTC)  # 22:00 JST
    live.ingest([ev("lead.created", night, "L-9", source="demo_request")], night, "api")
    opening = datetime(2026, 7, 9, 0, 0, tzinfo=UTC)  # 09:00 JST next day
    assert wakeups(store)[ROUTER] == opening and wakeups(store)["L-9"] <= opening + timedelta(hours=2)
    Worker(store, live=live).run_once(opening + timedelta(hours=2))
    lead = store.lead("L-9")
    assert lead is not None and lead.owner == "sato" and lead.status == "assigned"
    assert sorted(c.stage for c in lead.clocks if c.outcome == "open") == ["cadence", "first_contact"]


def test_a_failure_mid_transaction_leaves_nothing_half_written(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    live = live_store(store)
    live.ingest([ev("lead.created", T0, "L-1", source="demo_request")], T0, "api")
    before = (len(store.effects("L-1")), len(outbox.list_rows(store)), wakeups(store))
    import leadclock.service.live as live_module

    def broken(*_args: Any, **_kwargs: Any) -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr(live_module, "enqueue", broken)
    with pytest.raises(RuntimeError):
        Worker(store, live=live).run_once(T0 + timedelta(minutes=6))
    assert (len(store.effects("L-1")), len(outbox.list_rows(store)), wakeups(store)) == before
    monkeypatch.undo()
    Worker(store, live=live).run_once(T0 + timedelta(minutes=6))
    assert len(store.effects("L-1", kind="clock_breached")) == 1
    assert len([r for r in outbox.list_rows(store) if "clock_breached" in r.dedupe_key]) == 1


def test_late_event_is_applied_at_its_time(store: Store) -> None:
    live = live_store(store)
    live.ingest([ev("lead.created", T0, "L-1", source="demo_request")], T0, "api")
    # The call happened at +3 min but reaches us at +7 min, after the worker fired the breach.
    Worker(store, live=live).run_once(T0 + timedelta(minutes=6))
    assert store.lead("L-1").within_sla is False  # type: ignore[union-attr]
    live.ingest([ev("activity", T0 + timedelta(minutes=3), "L-1", rep="sato", channel="call", outcome="connected")],
                T0 + timedelta(minutes=7), "api")
    first = next(c for c in store.clocks(lead="L-1") if c.stage == "first_contact")
    assert first.outcome == "met"
    assert any(a.action == "clock.changed" for a in store.audit("L-1"))


def test_auditor_schedules_overdue_clocks_that_lost_their_wakeup(store: Store) -> None:
    live = live_store(store)
    live.ingest([ev("lead.created", T0, "L-1", source="demo_request")], T0, "api")
    with store.transaction():
        set_wakeups(store, {"L-1": None}, T0)
    late = T0 + timedelta(minutes=10)
    report = audit(store, late)
    assert report.repaired == 1
    assert wakeups(store)["L-1"] == late
    Worker(store, live=live).run_once(late)
    assert len(store.effects("L-1", kind="clock_breached")) == 1


def test_the_worker_loop_fires_within_a_second_of_the_deadline(store: Store) -> None:
    """Real time: a 2-second first-contact SLA on a 24/7 calendar; the sleeping worker must wake
    for it (not poll) and record the breach well within a second."""
    text = POLICY_TEXT + """\
sources:
  demo_request:
    sla:
      first_contact: {target: 2s, calendar: always}
"""
    live = live_store(store, text)
    wake = threading.Event()
    live.wake = wake
    worker = Worker(store, live=live, wake=wake, max_sleep=30.0, name="loop")
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    try:
        start = datetime.now(UTC)
        live.ingest([ev("lead.created", start, "L-RT", source="demo_request"),
                     ev("lead.assigned", start, "L-RT", rep="sato")], start, "api")
        due = next(c for c in store.clocks(lead="L-RT") if c.stage == "first_contact").due_at
        assert due is not None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not store.effects("L-RT", kind="clock_breached"):
            time.sleep(0.02)
        fired = store.effects("L-RT", kind="clock_breached")
        assert fired, "the worker did not fire the breach"
        rows = [r for r in outbox.list_rows(store) if "clock_breached" in r.dedupe_key]
        assert rows and (rows[0].created_at - due).total_seconds() < 1.0
    finally:
        stop.set()
        thread.join(timeout=5)


def test_scheduled_digest_goes_out_once_at_its_local_time(store: Store) -> None:
    live = live_store(store)
    worker = Worker(store, live=live)
    worker.run_once(T0)  # the first round starts the report schedule from now
    digest_at = datetime(2026, 7, 8, 9, 0, tzinfo=UTC)  # 18:00 JST the same day (rep_daily_digest)
    from leadclock.store.worker_store import REPORTS

    assert wakeups(store)[REPORTS] == digest_at
    live.ingest([ev("lead.created", T0, "L-1", source="demo_request")], T0, "api")
    worker.run_once(digest_at - timedelta(seconds=1))
    assert not [r for r in outbox.list_rows(store) if r.dedupe_key.startswith("report|")]
    worker.run_once(digest_at)
    digests = [r for r in outbox.list_rows(store) if r.dedupe_key.startswith("report|")]
    # sato had the lead until the no-contact escalation gave it to suzuki: both hear of their day.
    assert sorted(r.dedupe_key for r in digests) == [
        "report|rep_daily_digest|2026-07-08|sato|inapp", "report|rep_daily_digest|2026-07-08|suzuki|inapp"]
    # The schedule moved on to the next business day; running again sends nothing new.
    assert wakeups(store)[REPORTS] == digest_at + timedelta(days=1)
    worker.run_once(digest_at + timedelta(minutes=1))
    assert len([r for r in outbox.list_rows(store) if r.dedupe_key.startswith("report|")]) == 2


def test_a_rep_under_the_compliance_threshold_is_escalated_once_a_day(store: Store) -> None:
    # base preset: rep_compliance_low — under 70% over two weeks → the manager.
    live = live_store(store)
    events = []
    for n in range(6):
        lead = f"L-{n}"
        events += [ev("lead.created", T0, lead, source="demo_request"),
                   ev("lead.assigned", T0, lead, rep="yamada")]
    live.ingest(events, T0, "api")
    worker = Worker(store, live=live)
    later = T0 + timedelta(minutes=6)  # every first contact (5 min) breached, none met
    worker.run_once(later)
    found = store.effects("rep:yamada", kind="compliance_below")
    assert len(found) == 1 and found[0].detail["compliance"] == 0.0 and found[0].detail["measured"] >= 6
    told = [r for r in outbox.list_rows(store) if "compliance_below" in r.dedupe_key]
    assert [(r.recipient, r.locale) for r in told] == [("kato", "ja")]
    assert "yamada" in told[0].subject and "70" in told[0].body_text
    # Checked again the same day: nothing new. sato (no clocks of his own here) is never judged.
    worker._last_watch = None
    worker.run_once(later + timedelta(hours=2))
    assert len(store.effects("rep:yamada", kind="compliance_below")) == 1
    assert store.effects("rep:sato", kind="compliance_below") == []


def test_imported_history_is_picked_up_by_the_worker(store: Store) -> None:
    """`leadclock ingest` / `import` store history without notifying; they leave each lead's
    wake-up, so a worker started afterwards fires what is still open."""
    from leadclock.service.ingest import ingest_into

    policy = load_policy_text(POLICY_TEXT)
    store.save_policy(policy, POLICY_TEXT)
    events = [ev("lead.created", T0, "L-H", source="demo_request"), ev("lead.assigned", T0, "L-H", rep="sato")]
    ingest_into(store, events, [], policy, as_of=None, now=T0)
    assert outbox.list_rows(store) == []
    due = wakeups(store)["L-H"]
    assert due == T0 + timedelta(minutes=5, microseconds=1)
    Worker(store).run_once(due)
    assert len(store.effects("L-H", kind="clock_breached")) == 1
    assert [r.recipient for r in outbox.list_rows(store) if "clock_breached" in r.dedupe_key] == ["sato"]


def test_a_lead_stamped_ahead_of_our_clock_is_routed_when_its_time_comes(store: Store) -> None:
    live = live_store(store)
    ahead = T0 + timedelta(seconds=2)  # the CRM's clock runs two seconds fast
    done = live.ingest([ev("lead.created", ahead, "L-F", source="demo_request")], T0, "api")
    assert [e.lead for e in done.stored] == ["L-F"] and store.lead("L-F") is None
    assert wakeups(store)["L-F"] == ahead
    Worker(store, live=live).run_once(ahead)
    lead = store.lead("L-F")
    assert lead is not None and lead.owner == "sato"
    assert next(c for c in lead.clocks if c.stage == "assignment").outcome == "met"


def test_a_lead_whose_log_began_before_this_delivery_is_replayed_from_the_log(store: Store) -> None:
    # A lead with no row yet can still have a log: here its lead.created was stamped ahead of
    # our clock and the next event arrives before the worker applied it. The settle must replay
    # both (Live takes a new lead's history from the delivery only when the log holds nothing
    # else for it).
    live = live_store(store)
    ahead = T0 + timedelta(seconds=2)
    live.ingest([ev("lead.created", ahead, "L-G", source="demo_request")], T0, "api")
    assert store.lead("L-G") is None
    done = live.ingest([ev("lead.assigned", ahead + timedelta(seconds=1), "L-G", rep="suzuki")],
                       ahead + timedelta(seconds=2), "api")
    state = done.settled.leads["L-G"]
    assert state.created_at == ahead and state.owner == "suzuki" and state.source == "demo_request"
    lead = store.lead("L-G")
    assert lead is not None and lead.owner == "suzuki"
    assert {c.stage: c.outcome for c in lead.clocks}["assignment"] == "met"


# --------------------------------------------------------------------------- waking the worker


def test_a_notification_wakes_only_a_sleeper_it_is_news_to() -> None:
    from leadclock.service.waiting import wakes

    assert wakes("100.0", None) and wakes("", 100.0) and wakes("not a time", 100.0)
    assert wakes("99.5", 100.0)  # due before the sleeper's own wake-up: news
    assert not wakes("100.0", 100.0) and not wakes("3000.25", 100.0)


def test_a_far_wakeup_lets_the_worker_sleep_a_near_one_wakes_it(postgres_schema_url: str) -> None:
    """PostgreSQL: set_wakeups notifies with the soonest instant it stored; the waiter sleeping
    until `until` ignores a notification due later and returns on one due sooner."""
    from leadclock.service.waiting import Waiter
    from leadclock.store.worker_store import WAKE_CHANNEL

    store = Store(postgres_schema_url)
    store.upgrade()
    waiter = Waiter(store, WAKE_CHANNEL)
    stop = threading.Event()
    now = datetime.now(UTC)
    until = (now + timedelta(seconds=60)).timestamp()
    try:
        waiter._listen()  # listening before anything is sent, as the worker is while it sleeps

        def notify_later(key: str, due: datetime) -> None:
            time.sleep(0.3)
            with store.transaction():
                set_wakeups(store, {key: due}, now)

        def slept(due: datetime) -> float:
            sender = threading.Thread(target=notify_later, args=(f"L-{due.timestamp()}", due))
            began = time.monotonic()
            sender.start()
            waiter.wait(2.0, stop, until)
            sender.join()
            return time.monotonic() - began

        assert slept(now + timedelta(days=30)) >= 1.9  # not news: slept the whole 2 s
        assert slept(now + timedelta(seconds=5)) < 1.5  # sooner than its own wake-up: woke
    finally:
        waiter.close()
        store.close()
