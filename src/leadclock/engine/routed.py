"""Replay in which leadclock itself routes (F8, F9, F17): the router and the engine composed.

The history's own `lead.assigned` events are set aside; every `lead.created` goes through the
policy's routing rules, after-hours leads wait for the opening, and a breach whose escalation
says "reassign" goes back to the router at the instant it fires — the same composition the live
service runs (engine and router stay pure; this module only orders their calls in time).
What-if questions ("with this routing, would we have met the SLA?") are answered by comparing
this replay with the plain one.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from datetime import datetime, timedelta

from leadclock.engine.core import advance, apply, event_order
from leadclock.engine.events import Event
from leadclock.engine.replay import LineError, ReplayResult
from leadclock.engine.rules import Rules
from leadclock.engine.state import Effect, LeadState
from leadclock.routing import (
    Decision,
    RouterState,
    open_queue,
    reassign,
    release,
    route,
    set_status,
)
from leadclock.routing.router import next_queue_flush

CLOSED = frozenset({"disqualified", "recycled", "garbage", "unreachable", "won", "lost", "nurture"})
_TICK = timedelta(microseconds=1)  # a breach is the first instant after the deadline


def _assignment(decision: Decision, at: datetime, serial: int) -> Event:
    return Event(f"route-{serial}", "lead.assigned", at, decision.lead,
                 {"rep": decision.rep, "by": f"router:{decision.rule or decision.strategy}"})


def run_routed(numbered: Iterable[tuple[int, Event]] | Iterable[Event], rules: Rules,
               as_of: datetime | None = None) -> tuple[ReplayResult, list[Decision]]:
    policy = rules.policy
    items = [item if isinstance(item, tuple) else (0, item) for item in numbered]  # type: ignore[misc]
    seen: set[str] = set()
    unique: list[tuple[int, Event]] = []
    duplicates = ignored = 0
    for number, event in items:
        if event.id in seen:
            duplicates += 1
            continue
        seen.add(event.id)
        if event.type == "lead.assigned":
            ignored += 1  # the router decides instead
            continue
        unique.append((number, event))
    unique.sort(key=lambda item: event_order(item[1]))

    router = RouterState()
    leads: dict[str, LeadState] = {}
    effects: list[Effect] = []
    errors: list[LineError] = []
    decisions: list[Decision] = []
    wakeups: list[tuple[datetime, str]] = []  # pending "reassign" escalations, by due time
    armed: set[tuple[str, datetime]] = set()
    open_leads: set[str] = set()
    serial = 0

    def assign(decision: Decision, at: datetime) -> None:
        nonlocal serial
        decisions.append(decision)
        effects.extend(decision.effects())
        if decision.rep is None or decision.lead not in leads:
            return
        serial += 1
        feed(_assignment(decision, at, serial))

    def feed(event: Event) -> None:
        state, caused = apply(leads.get(event.lead), event, rules)
        leads[event.lead] = state
        effects.extend(caused)
        after(state, caused)

    def after(state: LeadState, caused: list[Effect]) -> None:
        if state.owner and state.status not in CLOSED:
            open_leads.add(state.lead)
        elif state.lead in open_leads and state.status in CLOSED:
            open_leads.discard(state.lead)
            if state.owner:
                release(router, state.owner, state.last_event_at or state.created_at)  # type: ignore[arg-type]
        for timer in state.timers:
            if timer.action == "reassign" and not timer.fired and not timer.cancelled:
                key = (state.lead, timer.due_at)
                if key not in armed:
                    armed.add(key)
                    heapq.heappush(wakeups, (timer.due_at, state.lead))
        for effect in caused:
            if effect.kind == "reassignment_requested":
                lead = _lead_view(state)
                decision = reassign(router, lead, state.owner or "", state.owners, effect.at + _TICK, policy)
                assign(decision, effect.at + _TICK)

    def catch_up(until: datetime) -> None:
        """Fire what is due before `until`: queue flushes at openings, reassignments at breaches."""
        while True:
            waiting_since = min((q.arrived_at for q in router.queue), default=None)
            flush = next_queue_flush(router, waiting_since, policy) if waiting_since else None
            wake = wakeups[0][0] if wakeups else None
            due = min((t for t in (flush, wake) if t is not None and t < until), default=None)
            if due is None:
                return
            if wake is not None and wake == due:
                _, lead_id = heapq.heappop(wakeups)
                state = leads[lead_id]
                caused = advance(state, due + _TICK, rules)
                effects.extend(caused)
                after(state, caused)
            else:
                for decision in open_queue(router, due, policy):
                    assign(decision, decision.at)

    last: datetime | None = None
    for number, event in unique:
        if as_of is not None and event.at > as_of:
            break
        catch_up(event.at)
        last = event.at
        if event.type == "rep.availability":
            set_status(router, event.data["rep"], event.data["status"], event.at)
            continue
        if event.lead not in leads and event.type != "lead.created":
            errors.append(LineError(number, "lead", f"unknown lead {event.lead!r} (no lead.created at or before this event)", event.id))
            continue
        feed(event)
        if event.type == "lead.created" and leads[event.lead].owner is None:
            assign(route(router, _lead_view(leads[event.lead]), event.at, policy), event.at)
    when = as_of or last
    if when is not None:
        catch_up(when)
        for state in leads.values():
            effects.extend(advance(state, when, rules))
    effects.sort(key=lambda e: (e.at, e.lead, e.kind))
    result = ReplayResult(leads, effects, when, rules.version, errors, duplicates)
    result.rep_status = {"ignored_assignments": str(ignored)}
    return result, decisions


def _lead_view(state: LeadState) -> dict[str, object]:
    return {"id": state.lead, "source": state.source, "tier": state.tier, **state.attributes}
