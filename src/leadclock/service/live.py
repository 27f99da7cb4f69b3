"""The live service's one write path: events in, or time passing; state, effects, messages out.

`Live.ingest(events, now)` (the API) and `Live.tick(now)` (the worker) both end in `_settle`,
which, in ONE transaction (DESIGN principle 4):

1. replays each touched lead from the event log as of `now` (the same engine as `replay`,
   principle 1), under the policy version the lead started with (principle 7);
2. lets the router decide what the engine asked for: a new lead without an owner is routed
   (F8/F9), an escalation step whose action is `reassign` gets the router's choice excluding the
   recent owners (F17), `manager_queue` hands the lead to the owner's manager. Each decision is
   stored as a `lead.assigned` event — the log stays the truth — and the lead is replayed again;
3. stores the leads, their clocks and breaches, and the effects not stored before;
4. plans notifications for exactly those new effects (recipients from the roster, bundled
   against floods) and assignment push-backs to the CRM, into the outbox with unique keys;
5. moves each lead's wake-up to the next instant something is due (`engine.core.next_wakeup`).

A crash anywhere rolls all of it back; the event log and the wake-ups say what is left to do.
On PostgreSQL, writers take per-lead advisory locks (the API waits for them, the worker skips
leads someone holds) and the router's row lock (the worker never waits for it: a reassignment
that finds it busy is retried a moment later), so any number of API processes and workers can
run against one database without deadlocks.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from leadclock.engine.core import next_wakeup, pending_actions
from leadclock.engine.events import Event
from leadclock.engine.replay import LineError, continues, run
from leadclock.engine.routed import _lead_view
from leadclock.engine.rules import compile_rules
from leadclock.engine.state import Clock, Effect, LeadState
from leadclock.notify.crm import Assignment, assignment_messages
from leadclock.notify.directory import Directory, Person, people_of
from leadclock.notify.outbox import enqueue
from leadclock.notify.plan import DEFAULT_WINDOW, plan_messages
from leadclock.policy import Policy
from leadclock.routing import Decision, RouterState, reassign, release, route, set_status
from leadclock.routing.router import next_queue_flush, open_queue
from leadclock.service.ingest import known_leads_only
from leadclock.store import Store
from leadclock.store.records import AuditEntry, Rep
from leadclock.store.worker_store import (
    REPORTS,
    ROUTER,
    ROUTER_SQL,
    claim_due,
    load_router,
    lock_leads,
    router_from,
    save_router,
    set_wakeups,
)

log = logging.getLogger("leadclock.live")
CLOSED = frozenset({"disqualified", "recycled", "garbage", "unreachable", "won", "lost", "nurture"})
RETRY = timedelta(seconds=1)  # a reassignment that found the router busy tries again after this
EARLY_ROUTER_LOCK = 64  # new leads up to which a delivery locks the router with its first reads
MAX_ROUNDS = 4  # assignment → replay → a step firing at once → reassignment ...: bounded


@dataclass
class PolicyBook:
    """Policies by version (immutable: the version is a content hash) and the active one."""

    store: Store
    cache: dict[str, Policy] = field(default_factory=dict)

    def get(self, version: str) -> Policy | None:
        found = self.cache.get(version)
        if found is None:
            found = self.store.load_policy(version)
            if found is not None:
                self.cache[version] = found
        return found

    def active(self) -> Policy | None:
        from leadclock.api.queries import active_version  # the API owns "which one is active"

        chosen = active_version(self.store)
        return None if chosen is None else self.get(chosen)


@dataclass
class Settled:
    leads: dict[str, LeadState] = field(default_factory=dict)
    effects: list[Effect] = field(default_factory=list)  # new in this transaction
    decisions: list[Decision] = field(default_factory=list)
    messages: int = 0  # outbox rows enqueued


@dataclass
class Ingested:
    stored: list[Event]
    duplicates: list[str]
    errors: list[LineError]
    settled: Settled


@dataclass
class Tick:
    claimed: int = 0
    fired: int = 0  # new effects
    messages: int = 0
    decisions: int = 0
    lag_seconds: float = 0.0  # how late the earliest claimed wake-up was handled
    reports: int = 0


class _History:
    """The touched leads' events, read from the log once per settle: a later round adds the
    assignments this settle stored itself instead of reading the log again. Order is the log's
    (instant, then arrival); what this settle adds arrived last."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.by_lead: dict[str, list[Event]] = {}
        self.rank: dict[str, int] = {}
        self.reported: set[str] = set()  # reps off the roster an earlier round reported

    def events(self, leads: set[str]) -> list[Event]:
        missing = leads - self.by_lead.keys()
        for lead in missing:
            self.by_lead[lead] = []
        if missing:
            for event in self.store.events(leads=missing):
                self.add(event)
        rank = self.rank
        return sorted((e for lead in leads for e in self.by_lead[lead]), key=lambda e: (e.at, rank[e.id]))

    def add(self, event: Event) -> None:
        self.rank.setdefault(event.id, len(self.rank))
        self.by_lead.setdefault(event.lead or "", []).append(event)

    def take(self, lead: str, log: list[Event]) -> None:
        """`lead`'s whole log, read by the caller (in the log's order)."""
        self.by_lead[lead] = []
        for event in log:
            self.add(event)

    def seed(self, delivered: Sequence[Event], leads: set[str], counts: dict[str, int] | None) -> None:
        """Take the log of those `leads` whose every stored event is among `delivered` (events
        this transaction has just stored, in the order it stored them) from `delivered`, instead
        of reading back what was just written: a new lead's whole history is usually its
        lead.created. `counts` is how many events the log holds per lead (`_settle_reads`)."""
        mine: dict[str, list[Event]] = {}
        for event in delivered:
            if event.lead in leads:
                mine.setdefault(event.lead, []).append(event)
        if not mine or counts is None:  # counts: given whenever something was delivered
            return
        for lead, count in counts.items():
            if lead not in mine:
                continue
            if count == len(mine[lead]) and lead not in self.by_lead:
                for event in mine[lead]:
                    self.add(event)


def _lead_rows(store: Store, ids: Iterable[str]) -> dict[str, tuple[str, str | None, str]]:
    """(status, owner, policy version) of the stored leads among `ids`."""
    from sqlalchemy import select

    from leadclock.store.models import LeadRow

    table = LeadRow.__table__
    wanted = sorted(set(ids))
    found: dict[str, tuple[str, str | None, str]] = {}
    with store._read() as connection:
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            for row in connection.execute(
                    select(table.c.id, table.c.status, table.c.owner, table.c.policy_version)
                    .where(table.c.id.in_(chunk))):
                found[row.id] = (row.status, row.owner, row.policy_version)
    return found


@dataclass
class _Reads:
    """What every settle reads first (`_settle_reads`)."""

    version: str | None  # the active policy's
    before: dict[str, tuple[str, str | None, str]]  # stored leads' (status, owner, policy version)
    roster: list[Rep]
    counts: dict[str, int] | None = None  # events per touched lead, for a delivery
    logs: dict[str, list[Event]] | None = None  # the whole log of these leads, read with the rest
    clocks: dict[str, list[Clock]] | None = None  # their stored clocks
    router: RouterState | None = None  # read and locked with the rest (`lock_router`)


def _settle_reads(store: Store, leads: set[str], *, count_events: bool, read_logs: set[str],
                  lock_router: bool = False) -> _Reads:
    """The active policy version, the touched leads' rows, the roster, (for a delivery) how many
    events each touched lead has, the log and clocks of `read_logs` (leads expected to be
    stored: the events of a delivery that does not create them, the worker's) and, with
    `lock_router` (an API delivery that creates leads: it will route them), the router's state,
    locked. On PostgreSQL, for an API-sized set of leads, in one round trip instead of one each."""
    from leadclock.api.queries import ACTIVE_VERSION_SQL, active_version, version_of

    if store.dialect != "postgresql" or len(leads) > 500:
        counts = store.event_counts(leads) if count_events and leads else None
        return _Reads(active_version(store), _lead_rows(store, leads), store.reps(), counts)
    ids = sorted(leads)
    logs = sorted(read_logs & leads)
    queries: list[tuple[str, Any]] = [
        (ACTIVE_VERSION_SQL, None),
        ("SELECT id, status, owner, policy_version FROM leads WHERE id = ANY(%s)", (ids,)),
        (Store.REPS_SQL, None),
        ("SELECT lead, count(*) FROM events WHERE lead = ANY(%s) GROUP BY lead", (ids if count_events else [],)),
        (Store.EVENTS_SQL, (logs,)),
        (Store.CLOCKS_SQL, (logs,)),
    ]
    if lock_router:
        queries.append((ROUTER_SQL, None))
    results = store.read_pipelined(queries)
    reads = _Reads(version_of(*results[0][0]) if results[0] else None,
                   {row[0]: (row[1], row[2], row[3]) for row in results[1]}, store.reps_from(results[2]))
    if count_events:
        reads.counts = {row[0]: int(row[1]) for row in results[3]}
    if logs:
        reads.logs = {lead: [] for lead in logs}
        for event in Store.events_from(results[4]):
            reads.logs[event.lead].append(event)
        reads.clocks = {lead: [] for lead in logs}
        for row in results[5]:
            clock = Store.clock_from(row)
            reads.clocks[clock.lead].append(clock)
    if lock_router and results[6]:  # no row yet: `load_router` creates it when it is needed
        reads.router = router_from(results[6][0][0])
    return reads


class Live:
    def __init__(self, store: Store, *, notify: bool = True, window: timedelta = DEFAULT_WINDOW,
                 wake: threading.Event | None = None) -> None:
        self.store = store
        # Set after each ingest commits: an embedded worker (SQLite, one process) wakes at once
        # instead of sleeping until its next known deadline; PostgreSQL workers get a NOTIFY.
        self.wake = wake
        self.outbox_wake: threading.Event | None = None  # the embedded sender's, likewise
        self.policies = PolicyBook(store)
        self.notify = notify
        self.window = window

    # ------------------------------------------------------------------ entry points

    def ingest(self, events: Sequence[Event], now: datetime, actor: str = "api") -> Ingested:
        """Store `events` (idempotent by id) and settle the leads they touch, as of `now`."""
        store = self.store
        errors: list[LineError] = []
        with store.transaction():
            leads = {e.lead for e in events if e.lead}
            lock_leads(store, leads, wait=True)
            stored, duplicates = store.append_events(known_leads_only(store, events, errors))
            touched = {e.lead for e in stored if e.lead}
            availability = [e for e in stored if e.type == "rep.availability"]
            # A re-delivery (every event already stored) changes nothing: no settle to run.
            settled = self._settle(touched, now, actor, availability=availability, delivered=stored) \
                if touched or availability else Settled()
        if self.wake is not None and stored:
            self.wake.set()
        if self.outbox_wake is not None and settled.messages:
            self.outbox_wake.set()
        return Ingested(stored, duplicates, errors, settled)

    def act(self, lead: str, effects: Sequence[Effect], entries: Sequence[AuditEntry], now: datetime,
            actor: str, action: str | None = None) -> Settled:
        """A person's action on a lead (manual escalation, reassignment request): its effects and
        audit entries stored, notified and — for `action` "reassign" (the router's choice) or
        "manager_queue" (to the owner's manager) — carried out, in one transaction."""
        with self.store.transaction():
            lock_leads(self.store, {lead}, wait=True)
            self.store.add_audit(entries)
            settled = self._settle({lead}, now, actor, extra=effects, direct={lead: action} if action else None)
        if self.outbox_wake is not None and settled.messages:
            self.outbox_wake.set()
        return settled

    def emit(self, effects: Sequence[Effect], now: datetime) -> int:
        """Store effects that are not about one lead's clocks (the compliance watch) and notify
        the new ones; returns the messages enqueued. Repeats add nothing (unique keys)."""
        with self.store.transaction():
            new = self.store.insert_effects(effects)
            if not new or not self.notify:
                return 0
            active = self.policies.active()
            return self._notify(new, [], {}, {}, active, people_of(self.store.reps()), now)

    def tick(self, now: datetime, limit: int = 500, worker: str = "worker") -> Tick:
        """Fire everything due by `now` (at most `limit` wake-ups) in one transaction."""
        store = self.store
        report = Tick()
        with store.transaction():
            due = claim_due(store, now, limit)
            if not due:
                return report
            report.claimed = len(due)
            report.lag_seconds = max(0.0, (now - min(at for _, at in due)).total_seconds())
            keys = {key for key, _ in due}
            leads = lock_leads(store, (k for k in keys if not k.startswith("~")), wait=False)
            settled = self._settle(leads, now, worker, flush_queue=ROUTER in keys)
            if REPORTS in keys:
                report.reports = self._run_reports(now)
        report.fired = len(settled.effects)
        report.messages = settled.messages
        if self.outbox_wake is not None and (report.messages or report.reports):
            self.outbox_wake.set()
        report.decisions = len(settled.decisions)
        return report

    # ------------------------------------------------------------------ the one write path

    def _settle(self, leads: set[str], now: datetime, actor: str, *,
                availability: Sequence[Event] = (), flush_queue: bool = False,
                extra: Sequence[Effect] = (), direct: dict[str, str] | None = None,
                delivered: Sequence[Event] = ()) -> Settled:
        store = self.store
        settled = Settled()
        created_here = {e.lead for e in delivered if e.type == "lead.created"}
        waits = actor != "worker" and not actor.startswith("worker")  # for the router (module doc)
        # The router is then locked from the first reads on: for a few new leads that is sooner
        # by a millisecond of replay; for a large batch, by its whole replay, which concurrent
        # batches would wait out (they route one after another), so those lock it when routing.
        reads = _settle_reads(store, leads, count_events=bool(delivered), read_logs=leads - created_here,
                              lock_router=waits and 0 < len(created_here) <= EARLY_ROUTER_LOCK)
        before, roster = reads.before, reads.roster
        active = None if reads.version is None else self.policies.get(reads.version)
        routing = active is not None and bool(active.routing.rules)
        router: RouterState | None = reads.router
        router_busy = False
        queued_at_load = router is not None and bool(router.queue)  # its after-hours queue held leads

        def router_state() -> RouterState | None:
            nonlocal router, router_busy, queued_at_load
            if router is None and not router_busy:
                # The API waits for the router; the worker must not (see the module doc).
                router = load_router(store, wait=waits)
                router_busy = router is None
                queued_at_load = router is not None and bool(router.queue)
            return router

        if availability and routing:
            state = router_state()
            if state is not None:
                for event in availability:
                    set_status(state, event.data["rep"], event.data["status"], event.at)

        versions = {lead: row[2] for lead, row in before.items()}
        known = {r.id for r in roster if r.known} or None
        people = people_of(roster)
        directory = Directory(people, active) if active is not None else None
        # For the audit of changed outcomes; a lead stored for the first time has none.
        known_leads = [lead for lead in leads if lead in before]
        read_clocks = reads.clocks or {}
        unread = [lead for lead in known_leads if lead not in read_clocks]
        old_clocks = {c.key: c for c in store.clocks(leads=unread)} if unread else {}
        old_clocks.update((c.key, c) for lead in known_leads for c in read_clocks.get(lead, ()))
        states: dict[str, LeadState] = {}
        effects: list[Effect] = list(extra)
        policy_of: dict[str, Policy] = {}
        retry: set[str] = set()
        pending_leads = set(leads)
        fresh: set[str] | None = None
        future: dict[str, datetime] = {}  # leads' earliest events stamped after `now`
        assigned_events: list[Event] = []
        history = _History(store)
        for lead, log_events in (reads.logs or {}).items():
            history.take(lead, log_events)
        history.seed(delivered, leads - before.keys(), reads.counts)
        added: dict[str, list[Event]] = {}  # per lead, the assignments the last round stored

        queued: list[Decision] = []
        if flush_queue and routing and active is not None:
            state = router_state()
            if state is not None:
                queued = open_queue(state, now, active)
            else:
                retry.add(ROUTER)
        for decision in queued:
            if decision.rep is not None:
                assigned_events.append(self._assignment_event(decision, now))
                pending_leads.add(decision.lead)
            settled.decisions.append(decision)
        if assigned_events:
            for event in store.append_events(assigned_events)[0]:
                if event.lead in history.by_lead:  # a log already read: it grows by what was stored
                    history.add(event)
            lock_leads(store, {e.lead for e in assigned_events}, wait=False)

        for _round in range(MAX_ROUNDS):
            if not pending_leads:
                break
            replayed = self._replay(pending_leads, versions, active, now, known, policy_of, history,
                                    states, added)
            states.update(replayed[0])
            effects.extend(replayed[1])
            future.update(replayed[3])
            if fresh is None:
                # A lead is routed once: the first time it has a state (created by this delivery,
                # or by an event stamped ahead of our clock whose time has now come).
                fresh = {lead for lead in replayed[0] if lead not in before}
            pending_leads = set()
            new_assignments: list[Event] = []
            for lead_id, state in sorted(replayed[0].items()):
                decision = self._decide(state, now, active, routing, fresh, router_state, replayed[2].get(lead_id),
                                        directory, (direct or {}).get(lead_id))
                if decision == "busy":
                    retry.add(lead_id)
                    continue
                if decision is None:
                    continue
                settled.decisions.append(decision)
                if decision.rep is not None:
                    new_assignments.append(self._assignment_event(decision, now))
                    pending_leads.add(lead_id)
            fresh = set()
            direct = None
            added = {}
            if new_assignments:
                for event in store.append_events(new_assignments)[0]:
                    history.add(event)
                    added.setdefault(event.lead or "", []).append(event)

        # Leads that closed in this pass free their owner's capacity (max open, load balance).
        for lead_id, state in states.items():
            old = before.get(lead_id)
            if state.status in CLOSED and state.owner and (old is None or old[0] not in CLOSED) and routing:
                router_now = router_state()
                if router_now is not None:
                    release(router_now, state.owner, state.last_event_at or now)

        for version in sorted({p.version for p in policy_of.values()}):
            group = [s for lead, s in states.items() if policy_of[lead].version == version]
            # Only leads whose row was looked up (`leads`) are known to be new; a queued lead
            # added on the way is stored.
            store.save_leads(group, version, fresh={s.lead for s in group if s.lead in leads and s.lead not in before})
        for decision in settled.decisions:
            effects.extend(decision.effects())  # "nobody could take it" alerts
        new_effects = store.insert_effects(effects)
        settled.effects = new_effects
        settled.leads = states

        if self.notify:
            settled.messages = self._notify(new_effects, settled.decisions, states, policy_of, active, people, now)
        self._audit(settled.decisions, states, old_clocks, now, actor, active)

        wake: dict[str, datetime | None] = {}
        for lead_id, state in states.items():
            wake[lead_id] = now + RETRY if lead_id in retry else next_wakeup(state)
        for lead_id in leads - set(states):  # nothing has happened yet (or the lead is gone)
            wake.setdefault(lead_id, now + RETRY if lead_id in retry else None)
        for lead_id, at in future.items():
            # An event stamped ahead of our clock (a CRM clock running fast, a scheduled
            # follow-up) is stored now and applied when its instant comes.
            current = wake.get(lead_id)
            wake[lead_id] = at if current is None else min(current, at)
        if router is not None:
            waiting = min((q.arrived_at for q in router.queue), default=None)
            if waiting is not None or queued_at_load or flush_queue:
                # An empty queue that was empty has no wake-up to move (the common case).
                wake[ROUTER] = next_queue_flush(router, waiting, active) if waiting and active else None
            save_router(store, router, now)
        elif ROUTER in retry:
            wake[ROUTER] = now + RETRY
        elif flush_queue:
            wake[ROUTER] = None
        if wake:
            set_wakeups(store, wake, now)
        return settled

    # ------------------------------------------------------------------ steps

    def _replay(self, leads: set[str], versions: dict[str, str | None], active: Policy | None,
                now: datetime, known: set[str] | None, policy_of: dict[str, Policy],
                history: _History, states_so_far: dict[str, LeadState], added: dict[str, list[Event]],
                ) -> tuple[dict[str, LeadState], list[Effect], dict[str, datetime | None], dict[str, datetime]]:
        """Replay `leads` as of `now`. A lead replayed earlier in this settle, to which the last
        round only added assignments that sort after everything it had, continues from that state
        with just those events (the same result as replaying all of it, `replay.continues`); the
        others are replayed from the log."""
        events = history.events(leads)
        continued: dict[str, LeadState] = {}
        for lead, new in added.items():
            state = states_so_far.get(lead)
            if lead in leads and state is not None and lead in policy_of:
                ids = {e.id for e in new}
                if continues((e for e in history.by_lead[lead] if e.id not in ids), new, now):
                    continued[lead] = state
        added_ids = {e.id for lead in continued for e in added[lead]}
        by_version: dict[str, list[Event]] = {}
        last_assigned: dict[str, datetime | None] = {}
        future: dict[str, datetime] = {}
        for event in events:
            if event.at > now:
                future.setdefault(event.lead, event.at)  # events come sorted by instant
                continue
            if event.type == "lead.assigned":
                previous = last_assigned.get(event.lead)
                last_assigned[event.lead] = event.at if previous is None else max(previous, event.at)
            if event.lead in continued:  # only its new events are applied, to the kept state
                if event.id in added_ids:
                    by_version.setdefault(policy_of[event.lead].version, []).append(event)
                continue
            version = versions.get(event.lead)
            policy = (self.policies.get(version) if version else None) or active
            if policy is None:
                raise LookupError("no policy stored: upload one before sending events")
            policy_of[event.lead] = policy
            by_version.setdefault(policy.version, []).append(event)
        states: dict[str, LeadState] = {}
        effects: list[Effect] = []
        for version, group in by_version.items():
            policy = next(p for p in policy_of.values() if p.version == version)
            result = run(group, compile_rules(policy), as_of=now, roster=known, start=continued,
                         reported=history.reported if continued else ())
            states.update(result.leads)
            effects.extend(result.effects)
            if result.unknown_reps:
                history.reported.update(result.unknown_reps)
                self.store.note_reps(result.unknown_reps)
        return states, effects, last_assigned, future

    def _decide(self, state: LeadState, now: datetime, active: Policy | None, routing: bool,
                fresh: set[str], router_state: Callable[[], RouterState | None],
                last_assigned: datetime | None, directory: Directory | None,
                direct: str | None = None) -> Decision | str | None:
        """The router's part for one replayed lead: route it, reassign it, or nothing.

        `direct` is a person's request carried out now ("reassign" or "manager_queue"); the
        others are escalation steps that fired and that no assignment has followed yet."""
        if active is None or state.status in CLOSED or state.created_at is None:
            return None
        at = max(now, state.created_at)
        if state.lead in fresh and state.owner is None and routing:
            router = router_state()
            if router is None:
                return "busy"
            return route(router, _lead_view(state), at, active)
        actions = [(t.action, t.rule, t.step) for t in pending_actions(state, last_assigned)]
        if direct is not None and state.owner is not None:
            actions.append((direct, "manual", 0))
        for action, rule, step in actions[-1:]:
            if action == "manager_queue" or not routing:
                # The roster's manager, else the policy's (the directory merges both).
                managers = directory.people_with("manager", state.owner) if directory is not None else []
                manager = managers[0] if managers else None
                if manager is None or manager == state.owner:
                    return None
                return Decision(state.lead, at, manager, None, rule, "manager", [],
                                f"escalation {rule} step {step + 1}: to the owner's manager",
                                kind="reassign", previous_owner=state.owner, policy_version=active.version,
                                ja={"tie_break": f"エスカレーション {rule} 第{step + 1}段階: 担当者の上長へ"})
            router = router_state()
            if router is None:
                return "busy"
            return reassign(router, _lead_view(state), state.owner or "", state.owners, at, active)
        return None

    @staticmethod
    def _assignment_event(decision: Decision, now: datetime) -> Event:
        by = f"router:{decision.rule or decision.strategy}" if decision.strategy != "manager" \
            else f"escalation:{decision.rule}"
        at = max(decision.at, now) if decision.kind != "queue" else decision.at
        moment = at.astimezone(UTC).isoformat()
        return Event(f"leadclock:{decision.kind}:{decision.lead}:{moment}", "lead.assigned", at,
                     decision.lead, {"rep": decision.rep, "by": by})

    def _notify(self, effects: list[Effect], decisions: list[Decision], states: dict[str, LeadState],
                policy_of: dict[str, Policy], active: Policy | None, people: Sequence[Person],
                now: datetime) -> int:
        messages = []
        groups: dict[str, list[Effect]] = {}
        for effect in effects:
            policy = policy_of.get(effect.lead) or active
            if policy is not None:
                groups.setdefault(policy.version, []).append(effect)
        for version, group in groups.items():
            policy = self.policies.get(version) or active
            assert policy is not None
            directory = Directory(people, policy)
            messages.extend(plan_messages(
                group, policy, directory.resolve, window=self.window, now=now,
                source_of=lambda lead: states[lead].source if lead in states else None,
            ))
            if directory.unreachable:
                log.warning("no channel reaches %s (roster: contact / policy: channels); their notifications "
                            "were not sent", ", ".join(sorted(directory.unreachable)))
        if active is not None:
            owner_ids = {p.id: str(p.contact["hubspot_owner_id"]) for p in people
                         if p.contact.get("hubspot_owner_id")}
            for decision in decisions:
                if decision.rep is None:
                    continue
                state = states.get(decision.lead)
                assignment = Assignment(decision.lead, decision.rep, decision.previous_owner,
                                        max(decision.at, now), decision.explain(active.org.locale),
                                        dict(state.attributes) if state else {})
                messages.extend(assignment_messages(assignment, active, owner_ids))
        return enqueue(self.store, messages, now=now) if messages else 0

    def _audit(self, decisions: list[Decision], states: dict[str, LeadState], old: dict[str, Clock],
               now: datetime, actor: str, active: Policy | None) -> None:
        entries = []
        locale = active.org.locale if active is not None else "en"
        for decision in decisions:
            # F27: why each lead went where it did.
            entries.append(AuditEntry(decision.at, "router", f"lead.{decision.kind}", lead=decision.lead,
                                      reason=decision.explain(locale),
                                      detail={"at": decision.at.isoformat(), **decision.to_dict()}))
        for state in states.values():
            for clock in state.clocks:
                before = old.get(clock.key)
                if before is not None and (before.outcome, before.stopped_at) != (clock.outcome, clock.stopped_at):
                    entries.append(AuditEntry(now, actor, "clock.changed", lead=state.lead,
                                              reason=f"{clock.stage} {before.outcome} -> {clock.outcome}: "
                                                     f"{clock.reason or 'deadline passed'}",
                                              detail={"clock": clock.key}))
        if entries:
            self.store.add_audit(entries)

    def _run_reports(self, now: datetime) -> int:
        active = self.policies.active()
        if active is None:
            return 0
        from leadclock.service.reports_job import run_reports, since_of  # it uses the outbox too

        return run_reports(self.store, active, since_of(self.store, now), now)


__all__ = ["Ingested", "Live", "PolicyBook", "Settled", "Tick"]
