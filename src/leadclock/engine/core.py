"""The SLA clock engine: `apply(state, event, rules)` and `advance(state, now, rules)`.

Pure functions of (state, event or time, policy): no clock reads, no I/O. Each event type has a
small handler; clocks start, stop and are cancelled only here, so "where is the first-contact
rule?" has one answer: `_on_activity` stops it and `_on_assigned` starts it.

Time rule (DESIGN principle 3): a clock is met when stopped at or before `due_at`; it is
breached at the first instant after `due_at`. `apply` first advances the lead to the event's
time (firing only what was due strictly before it), then handles the event.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from leadclock.engine.events import DECISIONS, INBOUND, REACHED, Event
from leadclock.engine.rules import CadenceRule, Rules, StageRule
from leadclock.engine.scoring_step import (
    engage,
    stage_after_engagement,
    stage_for_decision,
    stage_for_new_lead,
    start_card,
)
from leadclock.engine.state import Clock, Effect, LeadState, Timer
from leadclock.policy import Duration

# Same-instant events are applied in the order a CRM would have produced them; the event id
# breaks remaining ties, so the result never depends on arrival order.
TYPE_RANK = {
    "lead.created": 0, "lead.updated": 1, "engagement": 1, "rep.availability": 1,
    "lead.assigned": 2, "activity": 3, "lead.status": 4, "handoff.requested": 5,
    "handoff.accepted": 6, "handoff.rejected": 6, "opportunity.created": 7, "deal.closed": 8,
}
CLOSED_STATUSES = frozenset({"disqualified", "recycled", "garbage", "unreachable", "won", "lost"})


def event_order(event: Event) -> tuple[datetime, int, str]:
    return (event.at, TYPE_RANK.get(event.type, 9), event.id)


# --------------------------------------------------------------------------- clocks


def _start_clock(
    state: LeadState, rules: Rules, stage: str, at: datetime, owner: str | None,
    rule: StageRule, effects: list[Effect],
) -> Clock:
    due = rules.deadline(rule.calendar, at, rule.target)
    max_at = rules.deadline(rule.calendar, at, rule.max) if rule.max is not None else None
    warn_at = None
    cal = rules.calendars[rule.calendar]
    if rule.target.kind in ("seconds", "business_days"):
        target_seconds = rule.target.seconds(cal.business_day_seconds) or 0.0
        if rule.warn_fraction is not None:
            warn_at = cal.add(at, target_seconds * rule.warn_fraction)
        elif rule.warn_before is not None:
            before = rule.warn_before.seconds(cal.business_day_seconds) or 0.0
            if before < target_seconds:
                warn_at = cal.add(at, target_seconds - before)
    seq = sum(1 for c in state.clocks if c.stage == stage)
    clock = Clock(
        state.lead, stage, seq, owner, at, due, max_at, warn_at, rule.calendar, str(rule.target),
        rules.version,
    )
    state.clocks.append(clock)
    effects.append(Effect("clock_started", at, state.lead, stage, owner=owner,
                          detail={"due_at": due, "target": rule.target}))
    _watch_breach(state, rules, clock)
    return clock


def _start_cadence(state: LeadState, rules: Rules, at: datetime, owner: str | None,
                   rule: CadenceRule, effects: list[Effect]) -> None:
    due = rules.deadline(rule.calendar, at, rule.window)
    seq = sum(1 for c in state.clocks if c.stage == "cadence")
    clock = Clock(state.lead, "cadence", seq, owner, at, due, None, None, rule.calendar,
                  f"{rule.min_attempts} in {rule.window}", rules.version, required=rule.min_attempts)
    state.clocks.append(clock)
    effects.append(Effect("clock_started", at, state.lead, "cadence", owner=owner,
                          detail={"due_at": due, "required": rule.min_attempts}))


def _stop(state: LeadState, rules: Rules, clock: Clock, at: datetime, reason: str,
          effects: list[Effect], cancel: bool = False) -> None:
    """End a clock: met if at or before its deadline, breached after, cancelled if asked and not late."""
    clock.stopped_at = at
    clock.reason = reason
    clock.business_seconds = rules.calendars[clock.calendar].elapsed(clock.started_at, at)
    late = clock.due_at is not None and at > clock.due_at
    if clock.outcome == "open":
        if cancel and not late:
            clock.outcome = "cancelled"
        elif late:
            clock.outcome = "breached"
            clock.breached_at = clock.due_at
            effects.append(_breach_effect(clock))
        else:
            clock.outcome = "met"
    if clock.max_at is not None and at > clock.max_at:
        clock.exceeded_max = True
    effects.append(Effect("clock_stopped", at, clock.lead, clock.stage, owner=clock.owner,
                          detail={"outcome": clock.outcome, "reason": reason}))
    _cancel(state, f"clock:{clock.key}")


def _breach_effect(clock: Clock) -> Effect:
    assert clock.due_at is not None
    return Effect("clock_breached", clock.due_at, clock.lead, clock.stage, owner=clock.owner,
                  detail={"target": clock.target, "started_at": clock.started_at})


def _stop_open(state: LeadState, rules: Rules, stage: str, at: datetime, reason: str,
               effects: list[Effect], cancel: bool = False) -> Clock | None:
    clock = state.open_clock(stage)
    if clock is not None:
        _stop(state, rules, clock, at, reason, effects, cancel)
    return clock


# --------------------------------------------------------------------------- escalation timers


def _matches(rule, state: LeadState) -> bool:  # type: ignore[no-untyped-def]
    trigger = rule.trigger
    if trigger.tiers and state.tier not in trigger.tiers:
        return False
    if trigger.sources and state.source not in trigger.sources:
        return False
    return not (trigger.arrived_after_hours and not state.arrived_after_hours)


def _arm(state: LeadState, rules: Rules, kind: str, anchor: datetime, watch: str,
         effects: list[Effect], calendar: str = "business") -> list[Timer]:
    """Schedule every step of every escalation rule of `kind` that applies to this lead."""
    armed = []
    for rule_id, rule in rules.escalations.get(kind, ()):
        if not _matches(rule, state):
            continue
        base = anchor
        if rule.trigger.after is not None:
            base = rules.deadline(calendar, anchor, rule.trigger.after)
        for index, step in enumerate(rule.steps):
            due = base if step.after.kind == "immediate" else rules.deadline(calendar, base, step.after)
            timer = Timer(state.lead, rule_id, index, due, watch, tuple(step.notify), step.action)
            state.timers.append(timer)
            armed.append(timer)
    return armed


def _cancel(state: LeadState, watch: str) -> None:
    for timer in state.timers:
        if timer.watch == watch and not timer.fired:
            timer.cancelled = True


def _watch_breach(state: LeadState, rules: Rules, clock: Clock) -> None:
    """Escalations triggered by this clock's breach fire at its deadline unless it stops first."""
    for rule_id, rule in rules.escalations.get("breach", ()):
        if rule.trigger.clock != clock.stage or not _matches(rule, state):
            continue
        anchor = clock.max_at if rule.trigger.on == "max" else clock.due_at
        if anchor is None:
            continue
        for index, step in enumerate(rule.steps):
            due = anchor if step.after.kind == "immediate" else rules.deadline(clock.calendar, anchor, step.after)
            timer = Timer(state.lead, rule_id, index, due, f"clock:{clock.key}", tuple(step.notify), step.action)
            state.timers.append(timer)


def _fire(state: LeadState, timer: Timer, effects: list[Effect]) -> None:
    timer.fired = True
    detail = {"action": timer.action, "owner": state.owner}
    effects.append(Effect("escalation", timer.due_at, state.lead, rule=timer.rule, step=timer.step,
                          recipients=timer.recipients, owner=state.owner, detail=detail))
    if timer.action == "reassign":
        effects.append(Effect("reassignment_requested", timer.due_at, state.lead, rule=timer.rule,
                              step=timer.step, owner=state.owner,
                              detail={"exclude": list(dict.fromkeys(state.owners))}))
    elif timer.action == "manager_queue":
        effects.append(Effect("manager_queue", timer.due_at, state.lead, rule=timer.rule,
                              step=timer.step, recipients=timer.recipients, owner=state.owner))


# --------------------------------------------------------------------------- advance


def advance(state: LeadState, now: datetime, rules: Rules, inclusive: bool = True) -> list[Effect]:
    """Fire what time alone decides: warnings, breaches, maximums passed, escalation steps.

    With `inclusive`, a deadline equal to `now` counts as not yet passed (a breach is the first
    instant *after* the deadline); `apply` calls this with the event's own time.
    """
    effects: list[Effect] = []
    for clock in state.clocks:
        if clock.stopped_at is not None:
            continue
        if clock.warn_at is not None and clock.warn_at <= now and not clock.warned:
            clock.warned = True
            effects.append(Effect("clock_warning", clock.warn_at, clock.lead, clock.stage,
                                  owner=clock.owner, detail={"due_at": clock.due_at}))
        if clock.outcome == "open" and clock.due_at is not None and now > clock.due_at:
            clock.outcome = "breached"
            clock.breached_at = clock.due_at
            effects.append(_breach_effect(clock))
            if clock.stage == "cadence" and clock.attempts < clock.required:
                effects.append(Effect("alert", clock.due_at, clock.lead, "cadence", owner=clock.owner,
                                      detail={"reason": "cadence_unfinished", "attempts": clock.attempts,
                                              "required": clock.required}))
        if clock.max_at is not None and now > clock.max_at and not clock.exceeded_max:
            clock.exceeded_max = True
            effects.append(Effect("clock_max_exceeded", clock.max_at, clock.lead, clock.stage, owner=clock.owner))
    for timer in state.timers:
        if not timer.fired and not timer.cancelled and now > timer.due_at:
            _fire(state, timer, effects)
    effects.sort(key=lambda e: e.at)
    return effects


_TICK = timedelta(microseconds=1)  # a breach is the first instant after its deadline
DEFERRED_ACTIONS = frozenset({"reassign", "manager_queue"})  # carried out by the service


def next_wakeup(state: LeadState) -> datetime | None:
    """The earliest instant at which `advance` would fire something for this lead, or None.

    The live worker sleeps until then (DESIGN principle 2: timers are data): a warning at its
    `warn_at`, a deadline, maximum or escalation step at the first instant after it.
    """
    times: list[datetime] = []
    for clock in state.clocks:
        if clock.stopped_at is not None:
            continue
        if clock.warn_at is not None and not clock.warned:
            times.append(clock.warn_at)
        if clock.outcome == "open" and clock.due_at is not None:
            times.append(clock.due_at + _TICK)
        if clock.max_at is not None and not clock.exceeded_max:
            times.append(clock.max_at + _TICK)
    for timer in state.timers:
        if not timer.fired and not timer.cancelled:
            times.append(timer.due_at + _TICK)
    return min(times, default=None)


def pending_actions(state: LeadState, last_assigned_at: datetime | None) -> list[Timer]:
    """Escalation steps that fired with an action for the service (reassign, hand to the
    manager's queue) and that no assignment has followed yet: what is still to be carried out.

    Derived from the event log alone, so a crash between the step firing and the reassignment
    being stored cannot lose it: the next pass finds it still pending.
    """
    if state.status in CLOSED_STATUSES or state.status == "nurture":
        return []
    pending = [
        timer for timer in state.timers
        if timer.fired and timer.action in DEFERRED_ACTIONS
        and (last_assigned_at is None or timer.due_at >= last_assigned_at)
    ]
    return sorted(pending, key=lambda t: (t.due_at, t.rule, t.step))[-1:]  # the latest decides


# --------------------------------------------------------------------------- apply


def apply(state: LeadState | None, event: Event, rules: Rules) -> tuple[LeadState, list[Effect]]:
    """Apply one event (in time order) to a lead; return the new state and what it caused."""
    if state is None:
        state = LeadState(event.lead)
    effects = advance(state, event.at, rules) if state.created_at is not None else []
    handler = _HANDLERS.get(event.type)
    if handler is not None:
        handler(state, event, rules, effects)
    for timer in state.timers:  # steps with no delay fire with the event that armed them
        if not timer.fired and not timer.cancelled and timer.due_at <= event.at:
            _fire(state, timer, effects)
    state.last_event_at = event.at
    state.event_ids.append(event.id)
    return state, effects


def _on_created(state: LeadState, event: Event, rules: Rules, effects: list[Effect]) -> None:
    if state.created_at is not None:
        effects.append(Effect("alert", event.at, state.lead, detail={"reason": "duplicate_lead_created", "event": event.id}))
        return
    state.created_at = event.at
    state.source = event.data["source"]
    state.attributes = {k: v for k, v in event.data.items() if k != "source"}
    policy = rules.policy
    # F5/F6: the score from the lead's attributes (or the CRM's), then the tier: the stricter of
    # the score's tier, a high-intent signal and the source's priority (scoring.priority_rule).
    state.tier = rules.tiering.tier(event.data, state.source)
    card = start_card(event.data, event.at, policy)
    state.attributes["score_card"] = card
    state.attributes["score"] = card["score"]
    state.attributes["stage"] = "lead"
    state.attributes["transitions"] = []
    move = stage_for_new_lead(card, [], state.source, event.at, policy)
    if move is not None:
        _record_move(state, move)
    state.arrived_after_hours = not rules.business.is_open(event.at)
    if state.source not in policy.sources:
        effects.append(Effect("alert", event.at, state.lead, detail={"reason": "unknown_source", "source": state.source}))
    rule = rules.stage("assignment", state.source, state.tier)
    if isinstance(rule, StageRule):
        _start_clock(state, rules, "assignment", event.at, None, rule, effects)
    _arm(state, rules, "unassigned", event.at, "assignment", effects)


def _record_move(state: LeadState, move: dict) -> None:  # type: ignore[type-arg]
    state.attributes["stage"] = move["to"]
    state.attributes.setdefault("transitions", []).append(move)


def _move_stage(state: LeadState, rules: Rules, status: str, at: datetime, who: str, why: str,
                effects: list[Effect], fields: dict | None = None, revisit: str | None = None) -> None:  # type: ignore[type-arg]
    """Move the lifecycle stage as a status asks; an illegal move is refused and reported (F7).

    The SLA clocks still follow what the CRM recorded: a refused move is a data problem to fix,
    not a reason to stop measuring.
    """
    stage = state.attributes.get("stage")
    if stage is None:
        return
    move, refused = stage_for_decision(
        stage, status, at=at, who=who, why=why, revisit=revisit,
        contacted=state.first_contact_at is not None, fields=fields, policy=rules.policy,
    )
    if move is not None:
        _record_move(state, move)
    elif refused is not None:
        effects.append(Effect("alert", at, state.lead, owner=state.owner,
                              detail={"reason": "transition_refused", "status": status, "why": refused}))


def _on_assigned(state: LeadState, event: Event, rules: Rules, effects: list[Effect]) -> None:
    rep = event.data["rep"]
    at = event.at
    previous = state.owner
    if previous == rep:
        return
    if state.attributes.get("stage") == "lead":
        # Routed to sales = the marketing → inside-sales handoff: the lead is marketing-qualified.
        _record_move(state, {"from": "lead", "to": "mql", "at": at.isoformat(), "who": event.get("by") or "routing",
                             "why": f"assigned to {rep} (marketing → inside sales)", "revisit": None})
    _stop_open(state, rules, "assignment", at, f"assigned to {rep}", effects)
    _cancel(state, "assignment")
    state.owner = rep
    state.owners.append(rep)
    if state.status == "new":
        state.status = "assigned"
    if previous is not None:
        # Reassignment: the old owner's first-contact clock ends (breached if it was already
        # late), the new owner gets a fresh one (F17).
        _stop_open(state, rules, "first_contact", at, f"reassigned from {previous} to {rep}", effects, cancel=True)
        _cancel(state, "contact")
        effects.append(Effect("reassigned", at, state.lead, owner=rep, detail={"from": previous, "by": event.get("by")}))
    if state.first_contact_at is None and state.status in ("assigned", "new"):
        rule = rules.stage("first_contact", state.source, state.tier)
        if isinstance(rule, StageRule):
            _start_clock(state, rules, "first_contact", at, rep, rule, effects)
        _arm(state, rules, "not_contacted", at, "contact", effects)
    cadence = state.open_clock("cadence")
    if cadence is None and not any(c.stage == "cadence" for c in state.clocks) and state.reached_at is None:
        rule = rules.stage("cadence", state.source, state.tier)
        if isinstance(rule, CadenceRule):
            _start_cadence(state, rules, at, rep, rule, effects)
    elif cadence is not None:
        cadence.owner = rep


def _on_activity(state: LeadState, event: Event, rules: Rules, effects: list[Effect]) -> None:
    at, rep = event.at, event.data["rep"]
    outcome, channel = event.data["outcome"], event.data["channel"]
    is_attempt = outcome not in INBOUND
    reached = outcome in REACHED
    state.last_activity_at = at
    if is_attempt and state.first_contact_at is None:
        # "Not in the CRM = did not happen": only a logged outbound attempt stops first contact.
        state.first_contact_at = at
        _stop_open(state, rules, "first_contact", at, f"{channel} by {rep} ({outcome})", effects)
        _cancel(state, "contact")
        if state.status in ("assigned", "new"):
            state.status = "working"
        rule = rules.stage("qualification", state.source, state.tier)
        if isinstance(rule, StageRule) and not any(c.stage == "qualification" for c in state.clocks):
            _start_clock(state, rules, "qualification", at, state.owner or rep, rule, effects)
    cadence = state.open_clock("cadence")
    if is_attempt:
        state.attempts += 1
        if cadence is not None:
            cadence.attempts += 1
    if reached and state.reached_at is None:
        state.reached_at = at
    if cadence is not None and cadence.stopped_at is None:
        if reached:
            _stop(state, rules, cadence, at, f"lead reached ({channel}, {outcome})", effects)
        elif cadence.attempts >= cadence.required:
            _stop(state, rules, cadence, at, f"{cadence.attempts} attempts made", effects)
            effects.append(Effect("cadence_exhausted", at, state.lead, "cadence", owner=state.owner,
                                  detail={"attempts": cadence.attempts}))
            _arm(state, rules, "cadence_exhausted", at, "none", effects)
    if state.handoff_to is not None and rep == state.handoff_to and state.status == "handed_off":
        _accept(state, rules, at, rep, f"first AE contact by {rep}", effects)
    follow = state.open_clock("follow_up")
    if follow is not None and is_attempt:
        _stop(state, rules, follow, at, f"{channel} by {rep}", effects)
        if channel == "meeting" and outcome in ("held", "booked"):
            state.attributes["meeting_booked"] = True
        else:
            _start_follow_up(state, rules, at, effects)
    if state.status in ("qualified", "handed_off", "accepted"):
        _cancel(state, "activity")
        _arm(state, rules, "idle", at, "activity", effects)


def _start_follow_up(state: LeadState, rules: Rules, at: datetime, effects: list[Effect]) -> None:
    kind = "nurture" if state.status == "nurture" else "qualified"
    if kind == "qualified" and state.attributes.get("meeting_booked"):
        return
    rule = rules.follow_up(kind, state.source, state.tier)
    if rule is None:
        return
    target = rule.every_max or rule.every
    stage_rule = StageRule("follow_up", target, rule.max_idle, rule.calendar, None, None)
    _start_clock(state, rules, "follow_up", at, state.owner, stage_rule, effects)


def _on_status(state: LeadState, event: Event, rules: Rules, effects: list[Effect]) -> None:
    status, at = event.data["status"], event.at
    reason = event.get("reason") or ""
    if status == "in_progress":
        state.status = "working"
        return
    why = f"{status}" + (f": {reason}" if reason else "")
    if status in DECISIONS:
        _stop_open(state, rules, "qualification", at, f"decision {why}", effects)
        _stop_open(state, rules, "cadence", at, f"decided ({status})", effects, cancel=True)
        # Decided without ever being contacted (spam, duplicate): the contact clocks no longer apply.
        _stop_open(state, rules, "first_contact", at, f"decided before contact ({status})", effects, cancel=True)
        _stop_open(state, rules, "assignment", at, f"decided before assignment ({status})", effects, cancel=True)
        _stop_open(state, rules, "follow_up", at, f"status {status}", effects, cancel=True)
        _cancel(state, "contact")
        _cancel(state, "assignment")
    state.status = status
    state.attributes["status_reason"] = reason
    _move_stage(state, rules, status, at, event.get("rep") or state.owner or "crm", reason or status, effects,
                fields=event.get("fields") or state.attributes.get("handoff_fields"), revisit=event.get("revisit"))
    if status == "qualified":
        rule = rules.stage("handoff", state.source, state.tier)
        if isinstance(rule, StageRule) and state.open_clock("handoff") is None:
            _start_clock(state, rules, "handoff", at, state.owner, rule, effects)
        _arm(state, rules, "not_handed_off", at, "handoff", effects)
        _arm(state, rules, "idle", at, "activity", effects)
        _start_follow_up(state, rules, at, effects)
    elif status == "nurture":
        for stage in ("handoff", "acceptance"):
            _stop_open(state, rules, stage, at, "moved to nurture", effects, cancel=True)
        _cancel_all(state)
        _start_follow_up(state, rules, at, effects)
    else:
        for stage in ("handoff", "acceptance", "follow_up"):
            _stop_open(state, rules, stage, at, f"closed ({why})", effects, cancel=True)
        _cancel_all(state)


def _cancel_all(state: LeadState) -> None:
    for timer in state.timers:
        if not timer.fired:
            timer.cancelled = True


def _on_handoff_requested(state: LeadState, event: Event, rules: Rules, effects: list[Effect]) -> None:
    at = event.at
    fields = event.get("fields") or {}
    missing = [f for f in rules.required_fields if fields.get(f) in (None, "", [], {})]
    if missing:
        # F14: no handoff without the required fields; the SDR's clock keeps running.
        state.refused_handoffs.append({"at": at.isoformat(), "event": event.id, "missing": missing})
        effects.append(Effect("handoff_refused", at, state.lead, "handoff", owner=state.owner,
                              detail={"missing": missing, "event": event.id}))
        return
    if state.status not in ("qualified",):
        # A complete handoff implies the qualification decision.
        _stop_open(state, rules, "qualification", at, "handed off (qualified)", effects)
    _stop_open(state, rules, "cadence", at, "handed off", effects, cancel=True)
    _stop_open(state, rules, "handoff", at, f"handed off to {event.get('to') or 'routing'}", effects)
    _cancel(state, "handoff")
    if state.attributes.get("stage") not in ("sql", "opportunity"):
        _move_stage(state, rules, "sql", at, event.data["from"], "handed off with the required fields", effects, fields=fields)
    state.status = "handed_off"
    state.handoff_from = event.data["from"]
    state.handoff_to = event.get("to")
    state.attributes["handoff_fields"] = fields
    # A second complete handoff replaces the first: its acceptance clock ends here.
    _stop_open(state, rules, "acceptance", at, f"superseded by a handoff to {state.handoff_to or 'routing'}", effects, cancel=True)
    rule = rules.stage("acceptance", state.source, state.tier)
    if isinstance(rule, StageRule):
        _start_clock(state, rules, "acceptance", at, state.handoff_to, rule, effects)
    _arm(state, rules, "not_accepted", at, "acceptance", effects)
    _arm(state, rules, "handoff_requested", at, "none", effects)


def _accept(state: LeadState, rules: Rules, at: datetime, rep: str, reason: str, effects: list[Effect]) -> None:
    _stop_open(state, rules, "acceptance", at, reason, effects)
    _cancel(state, "acceptance")
    state.status = "accepted"
    if rep and state.owner != rep:  # an opportunity without any known rep keeps the owner
        state.owner = rep
        state.owners.append(rep)


def _on_handoff_accepted(state: LeadState, event: Event, rules: Rules, effects: list[Effect]) -> None:
    if state.status != "handed_off":
        effects.append(Effect("alert", event.at, state.lead, detail={"reason": "accept_without_handoff", "event": event.id}))
        return
    _accept(state, rules, event.at, event.data["rep"], f"accepted by {event.data['rep']}", effects)


def _on_handoff_rejected(state: LeadState, event: Event, rules: Rules, effects: list[Effect]) -> None:
    at, rep, reason = event.at, event.data["rep"], event.data["reason"]
    if state.status != "handed_off":
        effects.append(Effect("alert", at, state.lead, detail={"reason": "reject_without_handoff", "event": event.id}))
        return
    _stop_open(state, rules, "acceptance", at, f"rejected by {rep}: {reason}", effects)
    _cancel(state, "acceptance")
    state.rejections.append({"at": at.isoformat(), "rep": rep, "reason": reason})
    effects.append(Effect("handoff_rejected", at, state.lead, "acceptance", owner=rep,
                          detail={"reason": reason, "returned_to": state.handoff_from}))
    # The lead goes back to the SDR, who owes a corrected handoff on a fresh handoff clock.
    state.status = "qualified"
    state.handoff_to = None
    rule = rules.stage("handoff", state.source, state.tier)
    if isinstance(rule, StageRule) and state.open_clock("handoff") is None:
        _start_clock(state, rules, "handoff", at, state.handoff_from or state.owner, rule, effects)


def _on_opportunity(state: LeadState, event: Event, rules: Rules, effects: list[Effect]) -> None:
    _stop_open(state, rules, "follow_up", event.at, "opportunity created", effects)
    if state.status == "handed_off":
        who = event.get("rep") or state.handoff_to or state.owner or ""
        _accept(state, rules, event.at, who, "opportunity created", effects)
    state.status = "opportunity"
    state.attributes["opportunity_amount"] = event.data["amount"]
    _move_stage(state, rules, "opportunity", event.at, event.get("rep") or state.owner or "crm", "opportunity created", effects)
    _cancel(state, "activity")


def _on_deal(state: LeadState, event: Event, rules: Rules, effects: list[Effect]) -> None:
    won = event.data["won"]
    for clock in state.clocks:
        if clock.stopped_at is None:
            _stop(state, rules, clock, event.at, "deal closed", effects, cancel=True)
    _cancel_all(state)
    state.status = "won" if won else "lost"
    state.attributes["deal_amount"] = event.data["amount"]
    _move_stage(state, rules, state.status, event.at, event.get("rep") or state.owner or "crm", "deal closed", effects)


def _on_updated(state: LeadState, event: Event, rules: Rules, effects: list[Effect]) -> None:
    state.attributes.update(event.data)
    tier = event.get("tier")
    if tier in rules.policy.tiers:
        state.tier = tier  # applies to clocks started from now on; running clocks keep theirs


def _on_engagement(state: LeadState, event: Event, rules: Rules, effects: list[Effect]) -> None:
    action = event.data["action"]
    counts = state.attributes.setdefault("engagements", {})
    earlier = list(counts)
    counts[action] = counts.get(action, 0) + 1
    card = state.attributes.get("score_card")
    if card is None:
        return
    card, _reasons = engage(card, action, event.at, rules.policy)
    state.attributes["score_card"] = card
    state.attributes["score"] = card["score"]
    move = stage_after_engagement(state.attributes.get("stage", "lead"), action, card, earlier, event.at, rules.policy)
    if move is not None:
        _record_move(state, move)
        if move["from"] in ("nurture", "recycled", "unreachable"):
            # F7: a parked lead that engages again is re-evaluated; sales should hear of it.
            effects.append(Effect("alert", event.at, state.lead, owner=state.owner,
                                  detail={"reason": "re_evaluated", "action": action, "stage": move["to"]}))


_HANDLERS = {
    "lead.created": _on_created,
    "lead.updated": _on_updated,
    "engagement": _on_engagement,
    "lead.assigned": _on_assigned,
    "activity": _on_activity,
    "lead.status": _on_status,
    "handoff.requested": _on_handoff_requested,
    "handoff.accepted": _on_handoff_accepted,
    "handoff.rejected": _on_handoff_rejected,
    "opportunity.created": _on_opportunity,
    "deal.closed": _on_deal,
}

__all__ = ["Duration", "advance", "apply", "event_order", "next_wakeup", "pending_actions"]
