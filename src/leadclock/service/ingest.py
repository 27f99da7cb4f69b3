"""Append events to the store and bring every lead's clocks up to date (`leadclock ingest`).

The store's event log is the truth; lead rows, clocks and effects are derived by running the same
replay the CLI runs (one semantics, DESIGN principle 1). Effects are de-duplicated by key, so
ingesting the same file twice changes nothing; a clock whose result changed because of a late
event gets an audit entry saying what changed and why.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from leadclock.engine.core import next_wakeup
from leadclock.engine.events import Event, EventError, parse_event
from leadclock.engine.replay import LineError, run
from leadclock.engine.rules import compile_rules
from leadclock.engine.state import LeadState
from leadclock.policy import Policy
from leadclock.reports.compliance import summarize
from leadclock.store import Store, database_url
from leadclock.store.records import AuditEntry
from leadclock.store.worker_store import set_wakeups


@dataclass
class IngestReport:
    accepted: int = 0
    duplicates: int = 0
    errors: list[LineError] = field(default_factory=list)
    leads: int = 0
    summary: dict[str, Any] = field(default_factory=dict)
    example_lead: str | None = None
    recomputed: dict[str, LeadState] = field(default_factory=dict)  # leads this ingest touched


def _parse_lines(lines: Iterable[str]) -> tuple[list[Event], list[LineError]]:
    events, errors = [], []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            events.append(parse_event(json.loads(line)))
        except json.JSONDecodeError as exc:
            errors.append(LineError(number, "(json)", f"not valid JSON: {exc.msg} at column {exc.colno}"))
        except EventError as exc:
            errors.append(LineError(number, exc.field, exc.reason))
    return events, errors


def policy_for(store: Store, policy: Policy | None) -> Policy:
    if policy is not None:
        return policy
    versions = store.policy_versions()
    if not versions:
        raise ValueError("the store has no policy yet: give --policy FILE or --preset NAME")
    latest = max(versions, key=lambda v: v.created_at)
    loaded = store.load_policy(latest.version)
    assert loaded is not None
    return loaded


def ingest_file(path: Path, db: str | None, policy: Policy | None, route: bool = False) -> IngestReport:
    with open(path, encoding="utf-8") as handle:
        events, errors = _parse_lines(handle)
    return _ingest(events, errors, db, policy, route=route)


def ingest_events(raw: Sequence[dict[str, Any]], db: str | None, policy: Policy | None,
                  roster: Sequence[Any] = ()) -> IngestReport:
    events, errors = [], []
    for number, obj in enumerate(raw, start=1):
        try:
            events.append(parse_event(obj))
        except EventError as exc:
            errors.append(LineError(number, exc.field, exc.reason))
    return _ingest(events, errors, db, policy, roster)


def _ingest(events: list[Event], errors: list[LineError], db: str | None, policy: Policy | None,
            roster: Sequence[Any] = (), route: bool = False) -> IngestReport:
    store = Store(database_url(db))
    try:
        store.upgrade()
        for rep in roster:
            store.upsert_rep(rep.id, name=rep.name, team=rep.team, role=rep.role, manager=rep.manager)
        chosen = policy_for(store, policy)
        store.save_policy(chosen, chosen.model_dump_json())
        if route and not chosen.routing.rules:
            raise ValueError("--route needs a policy with routing rules (routing.rules)")
        report = ingest_into(store, events, errors, chosen, as_of=None, route=route)
        leads = store.leads()
        report.leads = len(leads)
        states = report.recomputed
        if len(states) != len(leads):  # some leads were untouched: evaluate them all together
            states = run(store.events(), compile_rules(chosen), as_of=store.latest_event_at()).leads
        report.summary = summarize(states.values())
        breached = sorted(lead.id for lead in leads if not lead.within_sla)
        report.example_lead = breached[0] if breached else next(iter(sorted(lead.id for lead in leads)), None)
        return report
    finally:
        store.close()


def known_leads_only(store: Store, events: Sequence[Event], errors: list[LineError]) -> list[Event]:
    """The events about leads that exist (created in `events` or stored before); each other one
    becomes an error naming its position (1-based) in `events`."""
    created = {e.lead for e in events if e.type == "lead.created"}
    unknown = {e.lead for e in events if e.type != "rep.availability" and e.lead not in created}
    if unknown:
        created |= store.known_leads(unknown)
    valid = []
    for index, event in enumerate(events, start=1):
        if event.type != "rep.availability" and event.lead not in created:
            errors.append(LineError(index, "lead", f"unknown lead {event.lead!r} (no lead.created)", event.id))
        else:
            valid.append(event)
    return valid


def ingest_into(store: Store, events: list[Event], errors: list[LineError], policy: Policy,
                as_of: datetime | None, actor: str = "ingest", now: datetime | None = None,
                route: bool = False) -> IngestReport:
    """Store new events and recompute the leads they touch, evaluated at `as_of`.

    `as_of` None means "the latest event stored" (an imported history); the live service passes
    the current time. Only the leads that received a new event are recomputed; their effects are
    stored with unique keys, so a repeated delivery adds nothing.
    """
    new, duplicate_ids = store.append_events(known_leads_only(store, events, errors))
    report = IngestReport(accepted=len(new), duplicates=len(duplicate_ids), errors=errors)
    affected = {e.lead for e in new if e.lead}
    if not affected:
        return report
    when = as_of or store.latest_event_at()
    decisions = []
    if route:
        # The router's state spans every lead (rotations, caps), so a routed ingest replays all.
        from leadclock.engine.routed import run_routed

        result, decisions = run_routed(store.events(), compile_rules(policy), as_of=when)
        affected = set(result.leads)
        before = {c.key: c for c in store.clocks()}
    else:
        before = {c.key: c for c in store.clocks(leads=affected)}
        roster_ids = {r.id for r in store.reps(known=True)} or None
        result = run(store.events(leads=affected), compile_rules(policy), as_of=when, roster=roster_ids)
    store.save_leads(result.leads.values(), policy.version)
    store.save_effects(result.effects)
    # Timers are data: the worker (`leadclock serve` / `worker`) picks each lead up at its next
    # deadline, replaying it as of its own "now".
    set_wakeups(store, {lead: next_wakeup(state) for lead, state in result.leads.items()},
                now or datetime.now(UTC))
    for rep in result.unknown_reps:
        store.upsert_rep(rep, known=False)
    now = now or datetime.now(UTC)  # edge code: the audit trail records when the ingest ran
    audit = [AuditEntry(now, actor, "events.ingested",
                        reason=f"{report.accepted} accepted, {report.duplicates} duplicate, {len(errors)} rejected")]
    if decisions:
        # F27: why each lead went where it did, once per decision however often we re-ingest.
        seen = {(e.lead, e.action, e.detail.get("at")) for e in store.audit() if e.actor == "router"}
        for decision in decisions:
            key = (decision.lead, f"lead.{decision.kind}", decision.at.isoformat())
            if key not in seen:
                seen.add(key)
                audit.append(AuditEntry(decision.at, "router", key[1], lead=decision.lead,
                                        reason=decision.explain(policy.org.locale),
                                        detail={"at": key[2], **decision.to_dict()}))
    for lead in result.leads.values():
        for clock in lead.clocks:
            old = before.get(clock.key)
            if old is not None and (old.outcome, old.stopped_at) != (clock.outcome, clock.stopped_at):
                audit.append(AuditEntry(now, actor, "clock.changed", lead=lead.lead,
                                        reason=f"{clock.stage} {old.outcome} -> {clock.outcome}: {clock.reason or 'deadline passed'}",
                                        detail={"clock": clock.key}))
    store.add_audit(audit)
    report.recomputed = result.leads
    return report
