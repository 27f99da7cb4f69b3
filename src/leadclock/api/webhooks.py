"""Signed webhooks (F28): HubSpot's v3 signature and its contact events, and a generic HMAC
intake for other CRMs. Pure functions of (secret, request parts, now); the routes are in
`routes/webhooks.py`.

HubSpot v3 (developers.hubspot.com, "Validating requests"): X-HubSpot-Signature-v3 is
base64(HMAC-SHA256(client secret, method + URI + body + timestamp)), the timestamp being
X-HubSpot-Request-Timestamp in milliseconds; requests older than five minutes are to be refused.
The URI is the full URL HubSpot called, with some percent-encodings decoded (table below).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from leadclock.api.errors import ApiError
from leadclock.api.settings import ApiSettings

HUBSPOT_SIGNATURE = "X-HubSpot-Signature-v3"
HUBSPOT_TIMESTAMP = "X-HubSpot-Request-Timestamp"
GENERIC_SIGNATURE = "X-Leadclock-Signature"

# HubSpot signs the URI after decoding these (and only these) percent-encodings.
_HUBSPOT_DECODED = {
    "%3A": ":", "%2F": "/", "%3F": "?", "%40": "@", "%21": "!", "%24": "$", "%27": "'",
    "%28": "(", "%29": ")", "%2A": "*", "%2C": ",", "%3B": ";",
}
_ENCODED = re.compile("|".join(_HUBSPOT_DECODED), re.IGNORECASE)

# contact properties copied onto lead.created when a delivery carries them
_CREATION_FIELDS = {"email": "email", "company": "company", "jobtitle": "title", "country": "country",
                    "industry": "industry", "firstname": "name"}
_STATUS_PROPERTIES = ("lifecyclestage", "hs_lead_status")


class Ignored(Exception):
    """A HubSpot event that is valid but means nothing to leadclock (reported, not an error)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


class Malformed(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def _unauthorized(message: str, header: str) -> ApiError:
    return ApiError(401, "invalid_signature", message, field=header)


# --------------------------------------------------------------------------- HubSpot


def hubspot_uri(url: str) -> str:
    return _ENCODED.sub(lambda m: _HUBSPOT_DECODED[m.group(0).upper()], url)


def hubspot_signature(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    message = method.upper().encode() + hubspot_uri(uri).encode() + body + timestamp.encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def verify_hubspot(
    secret: str, method: str, uri: str, body: bytes, headers: Mapping[str, str], now: datetime, max_age: int,
) -> None:
    signature = headers.get(HUBSPOT_SIGNATURE)
    timestamp = headers.get(HUBSPOT_TIMESTAMP)
    if not signature:
        raise _unauthorized(f"missing {HUBSPOT_SIGNATURE} header", HUBSPOT_SIGNATURE)
    if not timestamp or not timestamp.isdigit() or len(timestamp) > 15:
        raise _unauthorized(f"missing or malformed {HUBSPOT_TIMESTAMP} header (milliseconds since the epoch)",
                            HUBSPOT_TIMESTAMP)
    age_ms = now.timestamp() * 1000 - int(timestamp)
    # Both directions: a timestamp far in the future would let a captured request be replayed later.
    if abs(age_ms) > max_age * 1000:
        raise _unauthorized(f"request timestamp is more than {max_age} s from now (replayed or clock skew)",
                            HUBSPOT_TIMESTAMP)
    expected = hubspot_signature(secret, method, uri, body, timestamp)
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        raise _unauthorized("signature does not match", HUBSPOT_SIGNATURE)


def _property(item: Mapping[str, Any], name: str) -> str | None:
    # Deliveries enriched by a HubSpot workflow carry {"properties": {name: value or {"value": v}}}.
    properties = item.get("properties")
    if not isinstance(properties, dict):
        return None
    value = properties.get(name)
    if isinstance(value, dict):
        value = value.get("value")
    return value.strip() if isinstance(value, str) and value.strip() else None


def _millis(value: Any, field: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Malformed(field, f"must be milliseconds since the epoch (an integer), got {value!r}")
    try:
        return datetime.fromtimestamp(value / 1000, UTC).isoformat()
    except (OverflowError, OSError, ValueError):
        raise Malformed(field, f"{value} is not a representable instant") from None


def _text(item: Mapping[str, Any], field: str) -> str:
    value = item.get(field)
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        raise Malformed(field, "is required (a string or an integer)")
    return str(value)


def map_hubspot(item: Any, settings: ApiSettings) -> dict[str, Any]:
    """One HubSpot webhook event -> one leadclock event (decoded JSON, checked by parse_event
    afterwards). Raises Malformed (rejected) or Ignored (reported, nothing stored)."""
    if not isinstance(item, dict):
        raise Malformed("(event)", "each HubSpot event must be a JSON object")
    kind = _text(item, "subscriptionType")
    object_id = _text(item, "objectId")
    event_id = _text(item, "eventId")
    at = _millis(item.get("occurredAt"), "occurredAt")
    portal = item.get("portalId")
    prop = item.get("propertyName") if isinstance(item.get("propertyName"), str) else ""
    base = {
        # HubSpot does not promise eventId is unique on its own; with the portal, the kind, the
        # contact and the property it is, and a re-delivery repeats all of them: idempotent.
        "id": f"hubspot:{portal if isinstance(portal, int | str) else ''}:{kind}:{object_id}:{prop}:{event_id}",
        "at": at,
        "lead": f"{settings.hubspot_lead_prefix}{object_id}",
    }
    if kind == "contact.creation":
        source = next((v for v in map(lambda p: _property(item, p), settings.hubspot_source_properties) if v),
                      settings.hubspot_default_source)
        extra = {ours: v for theirs, ours in _CREATION_FIELDS.items() if (v := _property(item, theirs))}
        return {**base, "type": "lead.created", "source": source, **extra}
    if kind != "contact.propertyChange":
        raise Ignored("subscriptionType", f"{kind!r} is not mapped (contact.creation and contact.propertyChange are)")
    if not prop:
        raise Malformed("propertyName", "is required for contact.propertyChange")
    value = item.get("propertyValue")
    value = value.strip() if isinstance(value, str) else ("" if value is None else str(value))
    if prop == "hubspot_owner_id":
        if not value:
            raise Ignored("propertyValue", "owner cleared: leadclock has no un-assignment event")
        return {**base, "type": "lead.assigned", "rep": settings.hubspot_owner_map.get(value, value), "by": "hubspot"}
    if prop in _STATUS_PROPERTIES:
        status = settings.hubspot_status_map.get(f"{prop}:{value.lower()}")
        if status is None:
            raise Ignored("propertyValue", f"{prop} = {value!r} is not mapped to a leadclock status")
        return {**base, "type": "lead.status", "status": status, "reason": f"HubSpot {prop} = {value}"}
    if prop in settings.hubspot_source_properties and value:
        return {**base, "type": "lead.updated", prop: value}
    raise Ignored("propertyName", f"property {prop!r} is not mapped")


# --------------------------------------------------------------------------- generic


def generic_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_generic(secret: str, body: bytes, headers: Mapping[str, str]) -> None:
    given = headers.get(GENERIC_SIGNATURE)
    if not given:
        raise _unauthorized(f"missing {GENERIC_SIGNATURE} header (sha256=<hex HMAC of the body>)", GENERIC_SIGNATURE)
    if not hmac.compare_digest(generic_signature(secret, body).encode(), given.strip().lower().encode()):
        raise _unauthorized("signature does not match", GENERIC_SIGNATURE)


__all__ = [
    "GENERIC_SIGNATURE", "HUBSPOT_SIGNATURE", "HUBSPOT_TIMESTAMP", "Ignored", "Malformed", "generic_signature",
    "hubspot_signature", "hubspot_uri", "map_hubspot", "verify_generic", "verify_hubspot",
]
