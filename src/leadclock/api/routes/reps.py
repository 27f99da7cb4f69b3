"""The roster (F8): who the reps are, their team, manager and role (stored), their working hours,
time off and capacity (from the active policy's routing section) and their online status (the
latest rep.availability event)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from leadclock.api import queries
from leadclock.api.auth import Principal
from leadclock.api.context import (
    AppContext,
    check_model,
    get_context,
    json_body_doc,
    read_json,
    require,
)
from leadclock.api.errors import ApiError, not_found
from leadclock.engine.events import Event
from leadclock.policy import Policy
from leadclock.policy.routing_models import Rep as PolicyRep

router = APIRouter(tags=["reps"])

# Roster facts that belong to the policy: they change routing, so they change through a new,
# validated, versioned policy, not a side door.
POLICY_FIELDS = ("hours", "time_off", "capacity", "timezone", "weight", "accounts")
RepId = Annotated[str, Path(min_length=1, max_length=200)]


class Contact(BaseModel):
    """How notifications reach the rep (see notify/directory.py)."""

    model_config = ConfigDict(extra="forbid")

    email: str | None = Field(default=None, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    slack: str | None = Field(default=None, min_length=1, max_length=100)  # member id, e.g. U024BE7LH
    channels: list[Annotated[str, Field(min_length=1, max_length=100)]] | None = Field(default=None, max_length=20)
    hubspot_owner_id: str | None = Field(default=None, pattern=r"^[0-9]{1,20}$")


class RepUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=500)
    team: str | None = Field(default=None, max_length=200)
    role: str | None = Field(default=None, max_length=200)
    manager: str | None = Field(default=None, max_length=200)
    status: Literal["online", "offline", "away"] | None = None
    locale: Literal["ja", "en"] | None = None  # notifications' language; none = the org's
    contact: Contact | None = None


async def _rep_update(request: Request) -> RepUpdate:
    data = await read_json(request)
    if isinstance(data, dict):
        for key in POLICY_FIELDS:
            if key in data:
                raise ApiError(422, "invalid_request",
                               f"{key}: is set in the policy (routing.reps.<id>.{key}); upload a new policy version",
                               field=key)
    return check_model(RepUpdate, data)


def _policy_rep(policy: Policy | None, rep: str) -> PolicyRep | None:
    return None if policy is None else policy.routing.reps.get(rep)


def _rep_json(rep_id: str, row: Any, in_policy: PolicyRep | None,
              status: tuple[str, Any] | None) -> dict[str, Any]:
    def pick(name: str) -> Any:
        stored = getattr(row, name, None) if row is not None else None
        return stored if stored is not None else (getattr(in_policy, name, None) if in_policy else None)

    name = pick("name")
    return {
        "id": rep_id,
        "name": name if name is None or isinstance(name, str) else str(name),
        "team": pick("team"), "role": pick("role"), "manager": pick("manager"),
        "known": bool(row.known) if row is not None else False,
        "on_roster": row is not None, "in_policy": in_policy is not None,
        "hours": in_policy.hours if in_policy else None,
        "timezone": in_policy.timezone if in_policy else None,
        "time_off": list(in_policy.time_off) if in_policy else [],
        "capacity": in_policy.capacity.model_dump() if in_policy else None,
        "weight": in_policy.weight if in_policy else None,
        # Reps count as online until the CRM says otherwise (routing's own default).
        "status": status[0] if status else "online",
        "status_since": status[1].isoformat() if status else None,
        "locale": getattr(row, "locale", None) if row is not None else None,
        "contact": (dict(row.contact) if getattr(row, "contact", None) else {}) if row is not None else {},
    }


def _active(context: AppContext) -> Policy | None:
    active = queries.active_policy(context.store)
    return None if active is None else context.policy(active.version)


def _visible(principal: Principal, rep_id: str, team: str | None) -> bool:
    if principal.sees_everything:
        return True
    if principal.role == "manager":
        return team is not None and team == principal.team
    return principal.role == "rep" and rep_id == principal.rep


@router.get("/reps", summary="The roster the caller may see (managers: their team; reps: themselves)")
def list_reps(
    principal: Annotated[Principal, Depends(require("reps:read"))],
    context: Annotated[AppContext, Depends(get_context)],
) -> dict[str, Any]:
    policy = _active(context)
    rows = {row.id: row for row in queries.rep_rows(context.store)}
    ids = sorted(set(rows) | set(policy.routing.reps if policy else ()))
    statuses = queries.rep_statuses(context.store, context.now())
    items = [_rep_json(i, rows.get(i), _policy_rep(policy, i), statuses.get(i)) for i in ids]
    return {"items": [item for item in items if _visible(principal, item["id"], item["team"])]}


@router.get("/reps/{rep_id}", summary="One rep")
def get_rep(
    rep_id: RepId,
    principal: Annotated[Principal, Depends(require("reps:read"))],
    context: Annotated[AppContext, Depends(get_context)],
) -> dict[str, Any]:
    policy = _active(context)
    rows = queries.rep_rows(context.store, rep=rep_id)
    in_policy = _policy_rep(policy, rep_id)
    if not rows and in_policy is None:
        raise not_found("rep", rep_id, field="rep")
    status = queries.rep_statuses(context.store, context.now(), rep=rep_id).get(rep_id)
    item = _rep_json(rep_id, rows[0] if rows else None, in_policy, status)
    if not _visible(principal, rep_id, item["team"]):
        raise not_found("rep", rep_id, field="rep")
    return item


@router.put("/reps/{rep_id}", openapi_extra=json_body_doc(RepUpdate),
            summary="Put a rep on the roster or change them (fields not sent keep their value)")
def put_rep(
    rep_id: RepId,
    principal: Annotated[Principal, Depends(require("reps:write"))],
    body: Annotated[RepUpdate, Depends(_rep_update)],
    context: Annotated[AppContext, Depends(get_context)],
) -> dict[str, Any]:
    if rep_id != rep_id.strip():
        raise ApiError(422, "invalid_request", "rep: must not start or end with spaces", field="rep")
    sent = body.model_fields_set
    fields: dict[str, Any] = {
        name: getattr(body, name) for name in ("name", "team", "role", "manager", "locale") if name in sent
    }
    if "contact" in sent:
        fields["contact"] = body.contact.model_dump(exclude_none=True) if body.contact is not None else None
    now = context.now()
    current = queries.rep_statuses(context.store, now, rep=rep_id).get(rep_id)
    # Only a change of status is an event: a PUT repeated by a retrying client adds nothing.
    status = body.status if body.status is not None and (current is None or current[0] != body.status) else None
    queries.put_rep(context.store, rep_id, fields, None, now, principal.actor, status_change=status)
    if status is not None:
        # The same fact a CRM would send, through the live path so the router hears it too.
        event = Event(f"api:availability:{rep_id}:{now.isoformat()}:{uuid.uuid4().hex[:8]}",
                      "rep.availability", now, "", {"rep": rep_id, "status": status})
        context.live.ingest([event], now, principal.actor)
    return get_rep(rep_id, principal, context)
