"""One lead: what happened (timeline), its clocks and why each ended as it did, the escalations
and alerts, its breaches and the audit trail (F27) — the facts `leadclock explain` prints, as a
page. Outside the user's scope the lead "does not exist" (404), as in the API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from leadclock.web.deps import SignedPage, WebState, principal_of, web_state
from leadclock.web.errors import bad_input, not_found
from leadclock.web.explain import explain_clock
from leadclock.web.render import render
from leadclock.web.scope import sees_lead

router = APIRouter(include_in_schema=False)

STAGE_ORDER = {stage: i for i, stage in enumerate(
    ("assignment", "first_contact", "cadence", "qualification", "handoff", "acceptance", "follow_up"))}
SHOWN_EFFECTS = ("escalation", "reassignment_requested", "manager_queue", "handoff_refused", "handoff_rejected",
                 "cadence_exhausted", "clock_warning", "alert", "unknown_rep", "clock_breached")


@router.get("/ui/leads/{lead_id}")
def lead_page(lead_id: str, current: SignedPage, state: Annotated[WebState, Depends(web_state)]) -> Response:
    if not lead_id or len(lead_id) > 500 or "\x00" in lead_id:
        raise bad_input("lead_id", "is not a lead id")
    store = state.context.store
    record = store.lead(lead_id)
    if record is None or not sees_lead(store, principal_of(current), record, {c.owner for c in record.clocks if c.owner}):
        raise not_found(f"no lead {lead_id!r}")
    current.active = "reps"
    clocks = sorted(record.clocks, key=lambda c: (c.started_at, STAGE_ORDER.get(c.stage, 9), c.seq))
    explained = [(clock, explain_clock(clock, current)) for clock in clocks]
    effects = [e for e in record.effects if e.kind in SHOWN_EFFECTS]
    return render(current, "lead.html", lead=record, clocks=explained, effects=effects)
