"""Leads (scoped to the caller), manual escalation and reassignment requests (F16, F27)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from leadclock.api import queries, serialize
from leadclock.api.auth import Principal
from leadclock.api.context import AppContext, body_of, get_context, json_body_doc, require
from leadclock.api.errors import ApiError, not_found
from leadclock.engine.state import Effect
from leadclock.store import AuditEntry, LeadRecord

router = APIRouter(tags=["leads"])

MANUAL = "manual"  # the rule name of escalations and reassignments people ask for


class EscalationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000, description="why: shown to the people notified")
    # Roles, as in the policy's escalation steps; the notification planner resolves them.
    notify: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=lambda: ["rep", "manager"], min_length=1, max_length=10)
    # Strict: `false` or "3" is not a deal value (lax mode took them for 0.0 and 3.0).
    value: float | None = Field(default=None, ge=0, strict=True, description="deal value, for high-value escalations")


class ReassignmentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)


def visible_lead(context: AppContext, principal: Principal, lead_id: str) -> LeadRecord:
    """The lead, if the caller may see it; otherwise 404 whether or not it exists."""
    record = context.store.lead(lead_id)
    if record is None or not queries.sees_lead(context.store, queries.scope_of(principal), record):
        raise not_found("lead", lead_id, field="lead")
    return record


@router.get("/leads", summary="Leads the caller may see, oldest first")
def list_leads(
    principal: Annotated[Principal, Depends(require("leads:read"))],
    context: Annotated[AppContext, Depends(get_context)],
    status: Annotated[str | None, Query(max_length=100)] = None,
    owner: Annotated[str | None, Query(max_length=500)] = None,
    breached: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    found = queries.leads(context.store, queries.scope_of(principal), status=status, owner=owner,
                          breached=breached, limit=limit, offset=offset)
    return {"items": [serialize.lead_summary(lead) for lead in found], "limit": limit, "offset": offset,
            "next_offset": offset + limit if len(found) == limit else None}


@router.get("/leads/{lead_id}", summary="One lead with its clocks, events, effects, breaches and audit")
def get_lead(
    lead_id: str,
    principal: Annotated[Principal, Depends(require("leads:read"))],
    context: Annotated[AppContext, Depends(get_context)],
) -> dict[str, Any]:
    return serialize.lead_record(visible_lead(context, principal, lead_id))


def _next_step(context: AppContext, lead: str) -> int:
    # Steps number the manual escalations of a lead (0, 1, ...), as the engine numbers a rule's
    # steps; it also keeps two escalations in the same second apart in the dedupe key.
    return queries.count_effects(context.store, lead, "escalation", MANUAL)


@router.post("/leads/{lead_id}/escalate", status_code=201, openapi_extra=json_body_doc(EscalationRequest),
             summary="Escalate a lead by hand (e.g. a high-value or named account)")
def escalate(
    lead_id: str,
    principal: Annotated[Principal, Depends(require("leads:escalate"))],
    body: Annotated[EscalationRequest, Depends(body_of(EscalationRequest))],
    context: Annotated[AppContext, Depends(get_context)],
) -> JSONResponse:
    record = visible_lead(context, principal, lead_id)
    now = context.now()
    detail: dict[str, Any] = {"action": "notify", "owner": record.owner, "reason": body.reason, "by": principal.actor}
    if body.value is not None:
        detail["value"] = body.value
    effect = Effect("escalation", now, record.id, rule=MANUAL, step=_next_step(context, record.id),
                    recipients=tuple(dict.fromkeys(body.notify)), owner=record.owner, detail=detail)
    entry = AuditEntry(now, principal.actor, "lead.escalated", lead=record.id, reason=body.reason,
                       detail={"notify": list(effect.recipients), "step": effect.step, "value": body.value})
    # Stored, notified (the live path plans the messages) and audited in one transaction.
    context.live.act(record.id, [effect], [entry], now, principal.actor)
    return JSONResponse({"effects": [serialize.effect(effect)], "audit": serialize.audit_entry(entry)},
                        status_code=201)


@router.post("/leads/{lead_id}/reassign-request", status_code=201,
             openapi_extra=json_body_doc(ReassignmentRequest),
             summary="Ask for a lead to go to another rep (the rep or their manager)")
def reassign_request(
    lead_id: str,
    principal: Annotated[Principal, Depends(require("leads:reassign"))],
    body: Annotated[ReassignmentRequest, Depends(body_of(ReassignmentRequest))],
    context: Annotated[AppContext, Depends(get_context)],
) -> JSONResponse:
    record = visible_lead(context, principal, lead_id)
    if principal.role == "rep" and record.owner != principal.rep:
        # A rep sees the leads they once owned, but only the current owner can hand one back.
        raise ApiError(403, "forbidden", f"lead {record.id!r} is not yours now (owner: {record.owner})",
                       field="lead")
    if record.owner is None:
        raise ApiError(409, "conflict", f"lead {record.id!r} has no owner to reassign from", field="lead")
    now = context.now()
    step = _next_step(context, record.id)
    common = {"owner": record.owner, "reason": body.reason, "by": principal.actor}
    # The policy's `reassign_requested` rule says who hears of it and what happens (base preset:
    # the manager, who takes the lead: manager_queue); without one, the manager is told and the
    # router picks the next rep.
    policy = context.live.policies.active()
    rule = next((r for r in (policy.escalations.values() if policy else ())
                 if r.trigger.kind == "reassign_requested"), None)
    first = rule.steps[0] if rule is not None else None
    action = first.action if first is not None and first.action != "notify" else "reassign"
    notify = tuple(first.notify) if first is not None and first.notify else ("manager",)
    effects = [
        Effect("reassignment_requested", now, record.id, rule=MANUAL, step=step, owner=record.owner,
               detail={**common, "exclude": list(dict.fromkeys(record.owners))}),
        Effect("escalation", now, record.id, rule=MANUAL, step=step, recipients=notify,
               owner=record.owner, detail={**common, "action": action}),
    ]
    entry = AuditEntry(now, principal.actor, "lead.reassignment_requested", lead=record.id, reason=body.reason,
                       detail={"owner": record.owner, "step": step, "action": action})
    settled = context.live.act(record.id, effects, [entry], now, principal.actor, action=action)
    moved = settled.leads.get(record.id)
    return JSONResponse({"effects": [serialize.effect(e) for e in effects], "audit": serialize.audit_entry(entry),
                         "owner": moved.owner if moved is not None else record.owner},
                        status_code=201)
