"""Plain records the store hands out (and takes in) besides the engine's own dataclasses.

Reports, the API and the CLI get these rather than ORM objects, so nothing outside the store holds
a session or can lazy-load behind a closed connection.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from leadclock.engine.events import Event
from leadclock.engine.state import Clock, Effect


@dataclass(slots=True)
class AuditEntry:
    """One line of the audit trail. `id` is given by the store when read back."""

    at: datetime
    actor: str  # a user, "engine", "worker", "ingest", ...
    action: str  # e.g. "clock.recomputed", "owner.override", "policy.saved"
    lead: str | None = None
    reason: str = ""
    detail: dict[str, Any] = field(default_factory=dict)
    id: int | None = None


@dataclass(slots=True)
class Rep:
    id: str
    name: str | None = None
    team: str | None = None
    role: str | None = None
    manager: str | None = None
    known: bool = True  # False: seen in events, not (yet) on the roster
    locale: str | None = None  # for notifications; None = the org's
    contact: dict[str, Any] | None = None  # addresses by channel type (notify/directory.py)


@dataclass(slots=True)
class Breach:
    """A breached clock and what people said about it (F24)."""

    lead: str
    stage: str
    seq: int
    at: datetime
    owner: str | None = None
    category: str | None = None
    note: str | None = None
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None


@dataclass(slots=True)
class PolicyVersion:
    version: str
    name: str
    created_at: datetime
    source_text: str  # the YAML as the user wrote it
    document: dict[str, Any]  # the validated policy, `Policy.model_dump(mode="json")`


@dataclass(slots=True)
class LeadSummary:
    """A lead's row, without its clocks and history: what the reports iterate over."""

    id: str
    source: str
    tier: str | None
    status: str
    owner: str | None
    created_at: datetime | None
    within_sla: bool
    arrived_after_hours: bool
    first_contact_at: datetime | None
    reached_at: datetime | None
    attempts: int
    last_event_at: datetime | None
    handoff_to: str | None
    owners: list[str]
    attributes: dict[str, Any]
    updated_at: datetime
    policy_version: str


@dataclass(slots=True)
class LeadRecord(LeadSummary):
    """One lead with everything the store knows about it, for the lead page and `explain`."""

    clocks: list[Clock] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)
    audit: list[AuditEntry] = field(default_factory=list)
    breaches: list[Breach] = field(default_factory=list)

    @property
    def summary(self) -> LeadSummary:
        """The lead's row alone (a record is a summary with its history attached)."""
        return self
