"""POST /webhooks/hubspot and POST /webhooks/generic.

No bearer token here: HubSpot cannot send one. The signature is the credential, checked over the
raw bytes before anything is parsed. Order of answers: 404 (not configured), 429, 401 (signature),
400 (JSON), 409 (no policy), then per-item results like /events:batch.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from leadclock.api.context import AppContext, decode_json, get_context, rate_limit
from leadclock.api.errors import ApiError
from leadclock.api.ingesting import ItemResult, batch_answer, ingest
from leadclock.api.routes.events import BATCH_SCHEMA, EVENT_SCHEMA
from leadclock.api.webhooks import (
    GENERIC_SIGNATURE,
    HUBSPOT_SIGNATURE,
    HUBSPOT_TIMESTAMP,
    Ignored,
    Malformed,
    map_hubspot,
    verify_generic,
    verify_hubspot,
)

router = APIRouter(tags=["webhooks"])

# What a delivery carries, for /docs and for tools that generate requests from the document. Items
# are judged one by one (a bad one is "rejected" in a 200), as on /events:batch.
_HUBSPOT_EVENT = {"type": "object", "required": ["subscriptionType", "objectId", "eventId", "occurredAt"],
                  "properties": {
                      "subscriptionType": {"type": "string", "examples": ["contact.creation", "contact.propertyChange"]},
                      "objectId": {"type": ["integer", "string"]},
                      "eventId": {"type": ["integer", "string"]},
                      "occurredAt": {"type": "integer", "description": "milliseconds since the epoch"},
                      "portalId": {"type": ["integer", "string"]},
                      "propertyName": {"type": "string"},
                      "propertyValue": {"type": ["string", "number", "null"]},
                      "properties": {"type": "object"},
                  }}
_HUBSPOT_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "type": "array", "items": _HUBSPOT_EVENT, "minItems": 1, "maxItems": 1000}}}}}
_GENERIC_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "oneOf": [EVENT_SCHEMA, *BATCH_SCHEMA["oneOf"]],
}}}}}


def _limit(context: AppContext, request: Request, name: str) -> None:
    host = request.client.host if request.client else "unknown"
    rate_limit(context, f"webhook:{name}:{host}")


def _items(payload: Any, context: AppContext) -> list[Any]:
    items = payload.get("events", [payload]) if isinstance(payload, dict) else payload
    if not isinstance(items, list) or not items:
        raise ApiError(422, "invalid_request", "events: a non-empty JSON array expected", field="events")
    if len(items) > context.settings.max_batch_events:
        raise ApiError(422, "invalid_request",
                       f"events: at most {context.settings.max_batch_events} per delivery, got {len(items)}",
                       field="events")
    return items


def _signed_url(request: Request, public: str | None) -> str:
    if not public:
        return str(request.url)
    query = request.url.query
    return public.rstrip("/") + request.url.path + (f"?{query}" if query else "")


@router.post("/webhooks/hubspot", summary="HubSpot contact events, verified with the v3 signature",
             openapi_extra={**_HUBSPOT_BODY, "parameters": [
                 {"name": HUBSPOT_SIGNATURE, "in": "header", "required": True, "schema": {"type": "string"}},
                 {"name": HUBSPOT_TIMESTAMP, "in": "header", "required": True, "schema": {"type": "string"}},
             ]})
async def hubspot(request: Request, context: Annotated[AppContext, Depends(get_context)]) -> dict[str, Any]:
    settings = context.settings
    if not settings.hubspot_client_secret:
        raise ApiError(404, "not_configured", "the HubSpot webhook is not configured (no client secret)")
    _limit(context, request, "hubspot")
    body = await request.body()
    verify_hubspot(settings.hubspot_client_secret, request.method, _signed_url(request, settings.hubspot_public_url),
                   body, request.headers, context.now(), settings.hubspot_max_age_seconds)
    context.count("webhooks", "hubspot")
    items = _items(decode_json(body), context)
    # Owner ids -> reps: the roster's `contact.hubspot_owner_id` (the same mapping the HubSpot
    # push-back uses, so our own owner update echoing back is recognised as the same rep), then
    # the LEADCLOCK_HUBSPOT_OWNER_MAP setting where it says otherwise.
    owners = {str(r.contact["hubspot_owner_id"]): r.id for r in context.store.reps()
              if r.contact and r.contact.get("hubspot_owner_id")}
    owners.update(settings.hubspot_owner_map)
    settings = settings.model_copy(update={"hubspot_owner_map": owners})
    mapped: list[tuple[int, Any]] = []
    skipped: list[ItemResult] = []
    for index, item in enumerate(items):
        try:
            mapped.append((index, map_hubspot(item, settings)))
        except Ignored as exc:
            skipped.append(ItemResult(index, None, "ignored", field=exc.field, reason=exc.reason))
        except Malformed as exc:
            skipped.append(ItemResult(index, None, "rejected", field=exc.field, reason=exc.reason))
    return await run_in_threadpool(_ingest, context, mapped, skipped, "webhook:hubspot")


@router.post("/webhooks/generic", summary="Our event JSON (one or a list), signed with HMAC-SHA256",
             openapi_extra={**_GENERIC_BODY, "parameters": [
                 {"name": GENERIC_SIGNATURE, "in": "header", "required": True,
                  "schema": {"type": "string", "example": "sha256=<hex>"}},
             ]})
async def generic(request: Request, context: Annotated[AppContext, Depends(get_context)]) -> dict[str, Any]:
    secret = context.settings.generic_webhook_secret
    if not secret:
        raise ApiError(404, "not_configured", "the generic webhook is not configured (no secret)")
    _limit(context, request, "generic")
    body = await request.body()
    verify_generic(secret, body, request.headers)
    context.count("webhooks", "generic")
    items = _items(decode_json(body), context)
    return await run_in_threadpool(_ingest, context, list(enumerate(items)), [], "webhook:generic")


def _ingest(context: AppContext, items: list[tuple[int, Any]], skipped: list[ItemResult], actor: str) -> dict[str, Any]:
    if not items:
        # Nothing to store (every item ignored or malformed): no policy needed to say so.
        from leadclock.api.ingesting import Outcome

        return batch_answer(Outcome([]), skipped)
    return batch_answer(ingest(context, items, actor), skipped)
