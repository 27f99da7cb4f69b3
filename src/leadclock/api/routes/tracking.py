"""Clocks, breaches (with the F24 review) and the audit trail (F27), scoped to the caller."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from leadclock.api import queries, serialize
from leadclock.api.auth import Principal
from leadclock.api.context import AppContext, body_of, get_context, json_body_doc, require
from leadclock.api.errors import ApiError, not_found
from leadclock.api.routes.leads import visible_lead
from leadclock.engine.events import EventError, parse_time

router = APIRouter()

# F24's root causes, as the 001 seed names them.
Category = Literal[
    "rep_unavailable", "missed_notification", "deprioritised_low_quality", "system_failure",
    "chose_not_to_comply",
]
MAX_SEQ = 2**31 - 1  # the column is a 32-bit integer on PostgreSQL


class BreachReview(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: Category
    note: str | None = Field(default=None, max_length=4000)


def instant_param(value: str | None, name: str) -> datetime | None:
    """A query-string instant, held to the event contract's rule: ISO 8601 with an offset."""
    if value is None:
        return None
    try:
        return parse_time(value, name)
    except EventError as exc:
        raise ApiError(422, "invalid_request", f"{exc.field}: {exc.reason}", field=exc.field) from None
    except OverflowError:
        raise ApiError(422, "invalid_request", f"{name}: is outside the range of representable instants",
                       field=name) from None


@router.get("/clocks", tags=["clocks"], summary="SLA clocks by deadline (open ones, due before an instant)")
def list_clocks(
    principal: Annotated[Principal, Depends(require("leads:read"))],
    context: Annotated[AppContext, Depends(get_context)],
    open: bool = False,
    due_before: Annotated[str | None, Query(description="ISO 8601 with an offset")] = None,
    lead: Annotated[str | None, Query(max_length=500)] = None,
    stage: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    due = instant_param(due_before, "due_before")
    found = queries.clocks(context.store, queries.scope_of(principal), open_only=open, due_before=due,
                           lead=lead, stage=stage, limit=limit, offset=offset)
    return {"items": [serialize.clock(c) for c in found], "limit": limit, "offset": offset,
            "next_offset": offset + limit if len(found) == limit else None}


@router.get("/breaches", tags=["breaches"], summary="Breached clocks, newest first, with their reviews")
def list_breaches(
    principal: Annotated[Principal, Depends(require("leads:read"))],
    context: Annotated[AppContext, Depends(get_context)],
    lead: Annotated[str | None, Query(max_length=500)] = None,
    reviewed: bool | None = None,
    since: Annotated[str | None, Query(description="ISO 8601 with an offset")] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    found = queries.breaches(context.store, queries.scope_of(principal), lead=lead, reviewed=reviewed,
                             since=instant_param(since, "since"), limit=limit, offset=offset)
    suggested = queries.breach_suggestions(context.store, found)
    return {"items": [serialize.breach(b, suggested.get((b.lead, b.stage, b.seq))) for b in found],
            "limit": limit, "offset": offset,
            "next_offset": offset + limit if len(found) == limit else None}


@router.post("/breaches/{lead}/{stage}/{seq}/review", tags=["breaches"],
             openapi_extra=json_body_doc(BreachReview),
             summary="Confirm a breach's root cause (F24) with a note")
def review_breach(
    lead: str,
    stage: str,
    seq: Annotated[int, Path(ge=0, le=MAX_SEQ)],
    principal: Annotated[Principal, Depends(require("breaches:review"))],
    body: Annotated[BreachReview, Depends(body_of(BreachReview))],
    context: Annotated[AppContext, Depends(get_context)],
) -> dict[str, Any]:
    visible_lead(context, principal, lead)
    now = context.now()
    if not queries.review_breach(context.store, lead, stage, seq, category=body.category, note=body.note,
                                 actor=principal.actor, now=now):
        raise not_found("breach", f"{lead}/{stage}/{seq}")
    found = queries.breach(context.store, lead, stage, seq)
    assert found is not None
    return serialize.breach(found, queries.breach_suggestions(context.store, [found]).get((lead, stage, seq)))


@router.get("/audit", tags=["audit"], summary="The audit trail, newest first (F27)")
def list_audit(
    principal: Annotated[Principal, Depends(require("audit:read"))],
    context: Annotated[AppContext, Depends(get_context)],
    lead: Annotated[str | None, Query(max_length=500)] = None,
    action: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    if lead is not None:
        visible_lead(context, principal, lead)  # 404 outside the caller's scope
    found = queries.audit(context.store, queries.scope_of(principal), lead=lead, action=action,
                          limit=limit, offset=offset)
    return {"items": [serialize.audit_entry(a) for a in found], "limit": limit, "offset": offset,
            "next_offset": offset + limit if len(found) == limit else None}
