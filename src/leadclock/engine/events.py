"""The event contract (docs/events.md; JSON Schema in events.schema.json).

One JSON object per event: `id` (unique; a repeated id is ignored), `type`, `at` (ISO 8601 with
an offset), `lead`, and the type's own fields at top level. `parse_event` turns a decoded object
into an `Event` or raises `EventError` naming the field and the reason; it never half-accepts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

CHANNELS = frozenset({"call", "email", "sms", "meeting", "social"})
OUTCOMES = frozenset({
    "connected", "voicemail", "no_answer", "wrong_number", "busy", "sent", "bounced",
    "replied", "booked", "held", "no_show", "other",
})
# Outcomes that mean the lead was reached: they end the attempt cadence (001, F11).
REACHED = frozenset({"connected", "replied", "held", "booked"})
# Outcomes that come from the lead, not from a rep's attempt: they do not stop first contact.
INBOUND = frozenset({"replied"})
STATUSES = frozenset({
    "qualified", "disqualified", "nurture", "recycled", "garbage", "unreachable", "in_progress",
})
DECISIONS = frozenset({"qualified", "disqualified", "nurture", "recycled", "garbage", "unreachable"})
AVAILABILITY = frozenset({"online", "offline", "away"})

# type -> (required fields with their kind, optional fields with their kind)
_STR, _NUM, _BOOL, _DICT, _INT = "string", "number", "boolean", "object", "integer"
FIELDS: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    "lead.created": (
        {"source": _STR},
        {"company": _STR, "email": _STR, "industry": _STR, "employees": _INT, "title": _STR,
         "country": _STR, "account": _STR, "value": _NUM, "tier": _STR, "score": _NUM,
         "name": _STR, "team": _STR},
    ),
    # any attributes; the ones the engine reads must have the right type
    "lead.updated": ({}, {"tier": _STR, "score": _NUM, "employees": _INT, "value": _NUM}),
    "engagement": ({"action": _STR}, {}),
    "lead.assigned": ({"rep": _STR}, {"by": _STR}),
    "activity": ({"rep": _STR, "channel": _STR, "outcome": _STR}, {"next_step": _STR, "note": _STR}),
    "lead.status": ({"status": _STR}, {"reason": _STR, "revisit": _STR, "rep": _STR}),
    "handoff.requested": ({"from": _STR}, {"to": _STR, "fields": _DICT}),
    "handoff.accepted": ({"rep": _STR}, {}),
    "handoff.rejected": ({"rep": _STR, "reason": _STR}, {}),
    "opportunity.created": ({"amount": _NUM}, {"rep": _STR}),
    "deal.closed": ({"won": _BOOL, "amount": _NUM}, {"rep": _STR}),
    "rep.availability": ({"rep": _STR, "status": _STR}, {}),
}
EVENT_TYPES = frozenset(FIELDS)
LEAD_OPTIONAL = frozenset({"rep.availability"})  # events about a rep, not a lead


class EventError(ValueError):
    """A malformed event: `field` is the offending key, `reason` says what was expected."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


@dataclass(frozen=True, slots=True)
class Event:
    id: str
    type: str
    at: datetime  # UTC, tz-aware
    lead: str
    data: dict[str, Any] = field(default_factory=dict, compare=False)

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)


def parse_time(value: Any, name: str = "at") -> datetime:
    if not isinstance(value, str):
        raise EventError(name, "must be an ISO 8601 timestamp string with an offset")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    except ValueError:
        raise EventError(name, f"{value!r} is not an ISO 8601 timestamp") from None
    if moment.tzinfo is None:
        raise EventError(name, f"{value!r} has no UTC offset (write e.g. 2026-07-08T09:00:00+09:00)")
    instant = moment.astimezone(UTC)
    if not 1970 <= instant.year <= 2200:
        # Far-off years are typos; business calendars and the store are not built for them.
        raise EventError(name, f"{value!r} is outside the years 1970-2200")
    return instant


_INT_LIMIT = 2**63  # beyond a 64-bit integer a number is a typo, and float() would overflow


def _check_kind(name: str, value: Any, kind: str) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= _INT_LIMIT:
        raise EventError(name, f"number out of range: {value}")
    ok = {
        _STR: isinstance(value, str) and value != "",
        _NUM: isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value),
        _INT: isinstance(value, int) and not isinstance(value, bool),
        _BOOL: isinstance(value, bool),
        _DICT: isinstance(value, dict),
    }[kind]
    if not ok:
        article = "an" if kind[0] in "aeiou" else "a"
        raise EventError(name, f"must be {article} {kind}{' (not empty)' if kind == _STR else ''}, got {value!r}")


def parse_event(obj: Any) -> Event:
    """Validate one decoded JSON object against the contract; raise EventError on the first fault."""
    if not isinstance(obj, dict):
        raise EventError("(event)", "each event must be a JSON object")
    for key in ("id", "type", "at"):
        if key not in obj:
            raise EventError(key, "is required")
    if not isinstance(obj["id"], str | int) or isinstance(obj["id"], bool) or obj["id"] == "":
        raise EventError("id", "must be a non-empty string")
    kind = obj["type"]
    if not isinstance(kind, str):
        raise EventError("type", f"must be a string, one of: {', '.join(sorted(EVENT_TYPES))}")
    if kind not in EVENT_TYPES:
        raise EventError("type", f"unknown event type {kind!r}; known: {', '.join(sorted(EVENT_TYPES))}")
    at = parse_time(obj["at"])
    lead = obj.get("lead")
    if kind not in LEAD_OPTIONAL:
        if lead is None:
            raise EventError("lead", "is required")
        _check_kind("lead", lead, _STR)
    required, optional = FIELDS[kind]
    data = {k: v for k, v in obj.items() if k not in ("id", "type", "at", "lead")}
    for name, field_kind in required.items():
        if name not in data:
            raise EventError(name, f"is required for {kind}")
        _check_kind(name, data[name], field_kind)
    for name, field_kind in optional.items():
        if name in data and data[name] is not None:
            _check_kind(name, data[name], field_kind)
    _check_values(kind, data)
    return Event(str(obj["id"]), kind, at, str(lead or ""), data)


def _check_values(kind: str, data: dict[str, Any]) -> None:
    if kind == "activity":
        if data["channel"] not in CHANNELS:
            raise EventError("channel", f"must be one of {', '.join(sorted(CHANNELS))}")
        if data["outcome"] not in OUTCOMES:
            raise EventError("outcome", f"must be one of {', '.join(sorted(OUTCOMES))}")
    elif kind == "lead.status":
        if data["status"] not in STATUSES:
            raise EventError("status", f"must be one of {', '.join(sorted(STATUSES))}")
        if data["status"] in ("disqualified", "garbage") and not data.get("reason"):
            raise EventError("reason", f"is required when status is {data['status']} (a decision needs a reason)")
        if data.get("revisit") is not None:
            parse_time(data["revisit"] + ("T00:00:00+00:00" if len(data["revisit"]) == 10 else ""), "revisit")
    elif kind == "rep.availability":
        if data["status"] not in AVAILABILITY:
            raise EventError("status", f"must be one of {', '.join(sorted(AVAILABILITY))}")
    elif kind in ("opportunity.created", "deal.closed") and data["amount"] < 0:
        raise EventError("amount", "must not be negative")
    elif kind == "lead.created" and "employees" in data and data["employees"] is not None and data["employees"] < 0:
        raise EventError("employees", "must not be negative")


def event_to_json(event: Event) -> dict[str, Any]:
    return {"id": event.id, "type": event.type, "at": event.at.isoformat(), "lead": event.lead, **event.data}


def json_schema() -> dict[str, Any]:
    """The contract as JSON Schema (draft 2020-12), generated from FIELDS so the two agree."""
    variants = []
    for kind, (required, optional) in sorted(FIELDS.items()):
        props: dict[str, Any] = {"type": {"const": kind}}
        for name, field_kind in {**required, **optional}.items():
            props[name] = {"type": field_kind}
        needs = sorted(required) if kind in LEAD_OPTIONAL else sorted({*required, "lead"})
        variants.append({
            "if": {"properties": {"type": {"const": kind}}},
            "then": {"required": needs, "properties": props},
        })
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://leadclock.dev/schema/event.json",
        "title": "leadclock event",
        "type": "object",
        "required": ["id", "type", "at"],
        "properties": {
            "id": {"type": ["string", "integer"]},
            "type": {"enum": sorted(EVENT_TYPES)},
            "at": {"type": "string", "format": "date-time"},
            "lead": {"type": "string", "minLength": 1},
            "channel": {"enum": sorted(CHANNELS)},
            "outcome": {"enum": sorted(OUTCOMES)},
        },
        "allOf": variants,
    }
