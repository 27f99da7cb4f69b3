"""POST /events and POST /events:batch: the REST way in for CRM events (F28)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from leadclock.api import serialize
from leadclock.api.auth import Principal
from leadclock.api.context import AppContext, decode_json, get_context, require
from leadclock.api.errors import ApiError
from leadclock.api.ingesting import batch_answer, ingest, ingest_async
from leadclock.engine.events import LEAD_OPTIONAL, json_schema

router = APIRouter(tags=["events"])


def documented_event_schema(contract: dict[str, Any]) -> dict[str, Any]:
    """The event contract (`json_schema()`) as OpenAPI tools read it: one object schema per event
    type in a `oneOf`, told apart by `type`, instead of the contract's `if`/`then` pairs, which
    client generators and schemathesis cannot generate from (it refused POST /events outright).
    The rules parse_event applies: the envelope, `lead` for the types about a lead, each type's own
    fields (optional ones may be null), no empty strings; no `$schema`/`$id`, which would rebase
    references inside the document."""
    common: dict[str, Any] = contract["properties"]
    variants = []
    for rule in contract["allOf"]:
        kind = rule["if"]["properties"]["type"]["const"]
        then = rule["then"]
        required = [*contract["required"], *([] if kind in LEAD_OPTIONAL else ["lead"]), *then["required"]]
        properties: dict[str, Any] = {}
        for name, schema in common.items():
            # What parse_event checks: the envelope always, lead when the type is about a lead,
            # the enumerated fields (channel, outcome) only where the type has them.
            if name in ("id", "at") or (name == "lead" and kind not in LEAD_OPTIONAL) or name in then["properties"]:
                properties[name] = dict(schema)
        for name, schema in then["properties"].items():
            properties[name] = {**properties.get(name, {}), **schema}
        for name, schema in properties.items():
            types = schema.get("type")
            if types == "string" or (isinstance(types, list) and "string" in types):
                schema.setdefault("minLength", 1)  # the contract refuses empty strings
            if name not in required and isinstance(types, str):
                schema["type"] = [types, "null"]  # an optional field may be sent as null
        properties["type"] = {"const": kind}
        variants.append({"title": kind, "type": "object", "required": list(dict.fromkeys(required)),
                         "properties": properties})
    return {"title": contract.get("title", "event"), "oneOf": variants}


EVENT_SCHEMA = documented_event_schema(json_schema())
BATCH_SCHEMA = {"oneOf": [
    {"type": "array", "items": EVENT_SCHEMA, "minItems": 1, "maxItems": 1000},
    {"type": "object", "required": ["events"],
     "properties": {"events": {"type": "array", "items": EVENT_SCHEMA, "minItems": 1, "maxItems": 1000}}},
]}
_EVENT_DOC = {"requestBody": {"required": True, "content": {"application/json": {"schema": EVENT_SCHEMA}}}}
_BATCH_DOC = {"requestBody": {"required": True, "content": {"application/json": {"schema": BATCH_SCHEMA}}}}


async def _body(request: Request) -> Any:
    # Text is checked per event (parse_item), so one bad item of a batch rejects only itself.
    return decode_json(await request.body())


@router.post("/events", openapi_extra=_EVENT_DOC, status_code=201,
             summary="Ingest one event (idempotent by id); returns its effects")
async def post_event(
    principal: Annotated[Principal, Depends(require("events:write"))],
    raw: Annotated[Any, Depends(_body)],
    context: Annotated[AppContext, Depends(get_context)],
) -> JSONResponse:
    # Async: one event's checks are cheap, and the request awaits its (possibly shared)
    # transaction on the process's ingest thread instead of holding a thread of the pool.
    if isinstance(raw, list):
        raise ApiError(422, "invalid_event", "(event): one event object expected; send lists to /events:batch",
                       field="(event)")
    outcome = await ingest_async(context, [(0, raw)], principal.actor)
    item = outcome.items[0]
    if item.status == "rejected":
        raise ApiError(422, "invalid_event", f"{item.field}: {item.reason}", field=item.field,
                       details=[{"field": item.field, "reason": item.reason, "id": item.id}])
    state = outcome.leads.get(item.lead or "")
    effects = [e for e in outcome.effects if e.lead == item.lead]
    body: dict[str, Any] = {
        "status": item.status,
        "id": item.id,
        "lead": None if state is None else serialize.lead_state(state),
        "assignment": None if state is None else {"owner": state.owner, "status": state.status},
        "clocks_started": [serialize.effect(e) for e in effects if e.kind == "clock_started"],
        "effects": [serialize.effect(e) for e in effects],
    }
    # 201: this request stored the event; 200: it was already there and nothing changed.
    return JSONResponse(body, status_code=201 if item.status == "accepted" else 200)


@router.post("/events:batch", openapi_extra=_BATCH_DOC, response_class=JSONResponse,
             summary="Ingest up to 1,000 events; each is accepted, duplicate or rejected with its reason")
def post_batch(
    principal: Annotated[Principal, Depends(require("events:write"))],
    raw: Annotated[Any, Depends(_body)],
    context: Annotated[AppContext, Depends(get_context)],
) -> JSONResponse:
    items = raw.get("events") if isinstance(raw, dict) else raw
    if not isinstance(items, list):
        raise ApiError(422, "invalid_request", "events: a JSON array of events (or {\"events\": [...]}) expected",
                       field="events")
    if not items:
        raise ApiError(422, "invalid_request", "events: the batch is empty", field="events")
    limit = context.settings.max_batch_events
    if len(items) > limit:
        raise ApiError(422, "invalid_request", f"events: at most {limit} events per batch, got {len(items)}",
                       field="events")
    outcome = ingest(context, list(enumerate(items)), principal.actor)
    # Already plain JSON: a JSONResponse skips FastAPI's jsonable_encoder walk over every item.
    return JSONResponse(batch_answer(outcome))
