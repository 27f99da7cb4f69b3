"""Records -> JSON. Explicit per type so the API's shape is a decision, not whatever a dataclass
happens to hold today (a new engine field appears here only when someone adds it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from leadclock.engine.events import Event, event_to_json
from leadclock.engine.state import Clock, Effect, LeadState
from leadclock.store import AuditEntry, Breach, LeadRecord, LeadSummary, PolicyVersion


def instant(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def clock(c: Clock) -> dict[str, Any]:
    return {
        "key": c.key, "lead": c.lead, "stage": c.stage, "seq": c.seq, "owner": c.owner,
        "started_at": instant(c.started_at), "due_at": instant(c.due_at), "max_at": instant(c.max_at),
        "warn_at": instant(c.warn_at), "stopped_at": instant(c.stopped_at), "outcome": c.outcome,
        "reason": c.reason, "breached_at": instant(c.breached_at), "exceeded_max": c.exceeded_max,
        "business_seconds": c.business_seconds, "calendar": c.calendar, "target": c.target,
        "policy_version": c.policy_version, "attempts": c.attempts, "required": c.required,
    }


def effect(e: Effect) -> dict[str, Any]:
    return {
        "kind": e.kind, "at": instant(e.at), "lead": e.lead, "stage": e.stage, "rule": e.rule,
        "step": e.step, "recipients": list(e.recipients), "owner": e.owner, "detail": e.detail,
    }


def lead_summary(lead: LeadSummary) -> dict[str, Any]:
    return {
        "id": lead.id, "source": lead.source, "tier": lead.tier, "status": lead.status,
        "owner": lead.owner, "owners": lead.owners, "created_at": instant(lead.created_at),
        "within_sla": lead.within_sla, "arrived_after_hours": lead.arrived_after_hours,
        "first_contact_at": instant(lead.first_contact_at), "reached_at": instant(lead.reached_at),
        "attempts": lead.attempts, "last_event_at": instant(lead.last_event_at),
        "handoff_to": lead.handoff_to, "attributes": lead.attributes,
        "updated_at": instant(lead.updated_at), "policy_version": lead.policy_version,
    }


def lead_record(record: LeadRecord) -> dict[str, Any]:
    return {
        **lead_summary(record),
        "clocks": [clock(c) for c in record.clocks],
        "events": [event(e) for e in record.events],
        "effects": [effect(e) for e in record.effects],
        "breaches": [breach(b) for b in record.breaches],
        "audit": [audit_entry(a) for a in record.audit],
    }


def lead_state(state: LeadState) -> dict[str, Any]:
    """A lead as the engine just computed it (the answer to an ingest)."""
    return {
        "id": state.lead, "source": state.source, "tier": state.tier, "status": state.status,
        "owner": state.owner, "within_sla": state.within_sla(),
        "open_clocks": [clock(c) for c in state.clocks if c.outcome == "open"],
        "breached_clocks": [clock(c) for c in state.clocks if c.outcome == "breached"],
    }


def event(e: Event) -> dict[str, Any]:
    return event_to_json(e)


def breach(b: Breach, suggestion: Any = None) -> dict[str, Any]:
    """`suggestion`: the F24 automatic root cause (`reports.root_causes.Suggestion`), if any; a
    manager confirms it (or picks another category) through the review endpoint."""
    return {
        "lead": b.lead, "stage": b.stage, "seq": b.seq, "at": instant(b.at), "owner": b.owner,
        "category": b.category, "note": b.note, "reviewed_by": b.reviewed_by,
        "reviewed_at": instant(b.reviewed_at),
        "suggested_category": None if suggestion is None else suggestion.category,
        "suggested_reason": None if suggestion is None else dict(suggestion.reason),
    }


def audit_entry(a: AuditEntry) -> dict[str, Any]:
    return {
        "id": a.id, "at": instant(a.at), "lead": a.lead, "actor": a.actor, "action": a.action,
        "reason": a.reason, "detail": a.detail,
    }


def policy_version(p: PolicyVersion, *, active: str | None, text: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "version": p.version, "name": p.name, "created_at": instant(p.created_at), "active": p.version == active,
    }
    if text:
        out["yaml"] = p.source_text
    return out


__all__ = [
    "audit_entry", "breach", "clock", "effect", "event", "instant", "lead_record", "lead_state",
    "lead_summary", "policy_version",
]
