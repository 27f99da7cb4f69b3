"""Assignments pushed back to the CRM, planned as outbox messages.

Why: the router decides who owns a lead, but reps work in the CRM; until the CRM shows the new
owner, the rep does not see the lead and the first-contact clock runs for nothing. The push is
planned here and stored in the outbox (in the caller's transaction when it has one), then the
sender delivers it with retries and dead letters: a HubSpot outage delays the push, never loses
it, and planning the same assignment twice (a replay, a retried worker tick) stores nothing new,
because the dedupe key is made of the assignment itself.

Which channels push: every policy channel of type `hubspot`, and every `webhook` channel whose
settings say `assignments: "true"` (a CRM other than HubSpot behind a small receiver).

HubSpot needs two ids leadclock does not own:
- the contact: the lead's `hubspot_id` attribute when it has one, else the lead id without the
  prefix the HubSpot webhook and import put in front of the contact's object id ("hubspot-");
- the owner: `owner_ids` (rep id -> HubSpot owner id), else the channel's `owners` setting
  ("sato=101,suzuki=102").
A lead or rep without one is not pushed (no message rather than a message that can only fail);
the other channels still get theirs.

Pure: no I/O, and the time is the assignment's own (`at`), never read from a clock.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from leadclock.notify.channels import Settings
from leadclock.notify.errors import NotifyError
from leadclock.notify.outbox import OutboxMessage
from leadclock.policy import Policy

RECIPIENT = "crm"
PAYLOAD_TYPE = "assignment"
CONTACT_ATTRIBUTE = "hubspot_id"
DEFAULT_LEAD_PREFIX = "hubspot-"


@dataclass(frozen=True, slots=True)
class Assignment:
    """A routing decision to tell the CRM about."""

    lead: str
    rep: str
    previous: str | None
    at: datetime  # when it was decided; must carry an offset
    reason: str  # the router's explanation
    attributes: Mapping[str, Any] = field(default_factory=dict)  # the lead's stored attributes


def text(assignment: Assignment, locale: str) -> str:
    """The one line a human reads (webhook receivers, the outbox listing)."""
    if locale == "ja":
        return f"{assignment.lead} を {assignment.rep} に割り当てました"
    return f"{assignment.lead} assigned to {assignment.rep}"


def parse_owners(channel: str, value: str | None) -> dict[str, str]:
    """The `owners` setting: "rep=owner id" pairs separated by commas (spaces allowed)."""
    owners: dict[str, str] = {}
    for item in (value or "").split(","):
        if not item.strip():
            continue
        rep, sep, owner = item.partition("=")
        if not sep or not rep.strip() or not owner.strip():
            raise NotifyError(
                f"channel {channel!r}: setting 'owners' must be rep=owner pairs separated by commas "
                f"(e.g. sato=101,suzuki=102), got {item.strip()!r}"
            )
        owners[rep.strip()] = owner.strip()
    return owners


def contact_id(assignment: Assignment, lead_prefix: str) -> str | None:
    """The HubSpot contact the lead is, or None when nothing says."""
    stored = assignment.attributes.get(CONTACT_ATTRIBUTE)
    if isinstance(stored, str | int) and not isinstance(stored, bool) and str(stored).strip():
        return str(stored).strip()
    if assignment.lead.startswith(lead_prefix):
        rest = assignment.lead[len(lead_prefix):].strip()
        return rest or None
    return None


def dedupe_key(assignment: Assignment, channel: str) -> str:
    return f"assign|{assignment.lead}|{assignment.rep}|{_utc(assignment).isoformat()}|{channel}"


def _utc(assignment: Assignment) -> datetime:
    at = assignment.at
    if at.tzinfo is None or at.utcoffset() is None:
        raise NotifyError(
            f"assignment of lead {assignment.lead!r}: naive datetime {at.isoformat()} (instants must carry a UTC offset)"
        )
    return at.astimezone(UTC)


def assignment_messages(
    assignment: Assignment,
    policy: Policy,
    owner_ids: Mapping[str, str],
    *,
    lead_prefix: str = DEFAULT_LEAD_PREFIX,
) -> list[OutboxMessage]:
    """One outbox message per channel of `policy` that pushes assignments (see the module doc)."""
    at = _utc(assignment)
    locale = policy.org.locale
    line = text(assignment, locale)
    common: dict[str, Any] = {
        "type": PAYLOAD_TYPE,
        "lead": assignment.lead,
        "rep": assignment.rep,
        "previous": assignment.previous,
        "at": at.isoformat(),
        "reason": assignment.reason,
    }
    messages: list[OutboxMessage] = []
    for name, spec in policy.channels.items():
        # Only the policy's own values: this module is pure, so `X_env` is not read here.
        settings = Settings(name, spec.settings, {})
        if spec.type == "hubspot":
            fallback = parse_owners(name, spec.settings.get("owners"))  # checked even when unused
            contact = contact_id(assignment, lead_prefix)
            owner = owner_ids.get(assignment.rep) or fallback.get(assignment.rep)
            if contact is None or not owner:
                continue
            payload = {**common, "contact_id": contact, "owner_id": owner}
        elif spec.type == "webhook" and settings.flag("assignments"):
            payload = dict(common)
        else:
            continue
        messages.append(OutboxMessage(
            dedupe_key=dedupe_key(assignment, name),
            channel=name,
            channel_type=spec.type,
            recipient=RECIPIENT,
            locale=locale,
            subject=line,
            body_text=line,
            body_html=f"<p>{html.escape(line)}</p>",
            payload=payload,
        ))
    return messages


__all__ = [
    "CONTACT_ATTRIBUTE", "DEFAULT_LEAD_PREFIX", "RECIPIENT", "Assignment", "assignment_messages",
    "contact_id", "dedupe_key", "parse_owners", "text",
]
