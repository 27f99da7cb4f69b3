"""What the engine knows about a lead, and the effects it asks the edges to carry out.

Plain slotted dataclasses: the engine is pure and runs millions of times in a replay, so state is
cheap to build and to copy, and every field is data that a store can persist as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Outcome = Literal["open", "met", "breached", "cancelled"]


@dataclass(slots=True)
class Clock:
    """One SLA clock of one lead (F10): its deadlines, owner, and how it ended."""

    lead: str
    stage: str  # assignment, first_contact, cadence, qualification, handoff, acceptance, follow_up
    seq: int  # 0 for the first clock of this stage on the lead, 1 after a restart, ...
    owner: str | None
    started_at: datetime
    due_at: datetime | None  # target; None when the target depends on something unknown
    max_at: datetime | None  # maximum acceptable
    warn_at: datetime | None
    calendar: str
    target: str  # the policy's text, e.g. "5m", for explanations
    policy_version: str
    stopped_at: datetime | None = None
    outcome: Outcome = "open"
    reason: str = ""  # why it ended: the event that stopped it, or the deadline that passed
    breached_at: datetime | None = None  # the first instant after due_at, once reached
    exceeded_max: bool = False
    business_seconds: float | None = None  # counted time from start to stop (or to as-of)
    attempts: int = 0  # cadence: attempts counted so far
    required: int = 0  # cadence: attempts required
    warned: bool = False  # the warning effect has been emitted

    @property
    def key(self) -> str:
        return f"{self.lead}/{self.stage}/{self.seq}"


@dataclass(slots=True)
class Timer:
    """An escalation watch: fires `rule` step `step` at `due_at` unless cancelled first."""

    lead: str
    rule: str
    step: int
    due_at: datetime
    watch: str  # what cancels it: "contact", "assignment", "handoff", "acceptance", "activity", "none"
    recipients: tuple[str, ...] = ()
    action: str = "notify"
    fired: bool = False
    cancelled: bool = False


@dataclass(slots=True)
class Effect:
    """Something the engine decided; the service persists and acts on it, replay reports it."""

    kind: str  # clock_started, clock_stopped, clock_breached, clock_warning, escalation,
    # reassignment_requested, handoff_refused, handoff_rejected, alert, unknown_rep
    at: datetime
    lead: str
    stage: str | None = None
    rule: str | None = None
    step: int | None = None
    recipients: tuple[str, ...] = ()
    owner: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def dedupe_key(self) -> str:
        """Unique per fact: a re-run of the same history never produces a second one."""
        return self.key_at(self.at)

    def key_at(self, at: datetime) -> str:
        """The dedupe key this effect would have at `at`: the store and the planner key by the
        UTC instant, and a copy of the effect just to spell its key costs more than the key."""
        return f"{self.kind}:{self.lead}:{self.stage or ''}:{self.rule or ''}:{self.step if self.step is not None else ''}:{at.isoformat()}"


@dataclass(slots=True)
class LeadState:
    lead: str
    source: str = ""
    tier: str | None = None
    created_at: datetime | None = None
    arrived_after_hours: bool = False
    owner: str | None = None
    owners: list[str] = field(default_factory=list)  # everyone who owned it, in order
    status: str = "new"  # new, assigned, working, qualified, handed_off, accepted, opportunity, won, lost, + exits
    attributes: dict[str, Any] = field(default_factory=dict)
    first_contact_at: datetime | None = None
    reached_at: datetime | None = None
    attempts: int = 0
    last_activity_at: datetime | None = None
    handoff_to: str | None = None
    handoff_from: str | None = None
    refused_handoffs: list[dict[str, Any]] = field(default_factory=list)
    rejections: list[dict[str, Any]] = field(default_factory=list)
    clocks: list[Clock] = field(default_factory=list)
    timers: list[Timer] = field(default_factory=list)
    last_event_at: datetime | None = None
    event_ids: list[str] = field(default_factory=list)

    def open_clock(self, stage: str) -> Clock | None:
        for clock in reversed(self.clocks):
            if clock.stage == stage and clock.outcome in ("open", "breached") and clock.stopped_at is None:
                return clock
        return None

    def within_sla(self) -> bool:
        """001's scorecard rule: a lead is within SLA when none of its clocks is breached."""
        return not any(c.outcome == "breached" for c in self.clocks)
