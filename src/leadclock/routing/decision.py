"""A routing decision and its explanation (F27): why this rep got this lead, or why nobody did."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, NamedTuple

from leadclock.engine.state import Effect

# Why a candidate was passed over. Short fixed phrases: the audit trail and reports group by them.
TIME_OFF = "time off"
OFFLINE = "offline"
AWAY = "away"
OFF_SHIFT = "off shift"
AT_MAX_OPEN = "at max open leads"
AT_DAILY_CAP = "at daily cap"
AT_WEEKLY_CAP = "at weekly cap"
NOT_IN_POOL = "not in pool"
CURRENT_OWNER = "current owner"
RECENT_OWNER = "recent owner"
CHOSEN = "chosen"
ELIGIBLE = "eligible, not chosen"
FALLBACK_ANYWAY = "fallback owner (assigned regardless)"
# Why a matching rule passed the lead on (Decision.tried).
NO_OWNER = "the lead's account has no owner"
OVERFLOWED = "nobody eligible; overflow to the next rule"

_JA = {
    TIME_OFF: "休暇中",
    OFFLINE: "オフライン",
    AWAY: "離席中",
    OFF_SHIFT: "勤務時間外",
    AT_MAX_OPEN: "未完了リード数が上限",
    AT_DAILY_CAP: "1日の上限に到達",
    AT_WEEKLY_CAP: "1週間の上限に到達",
    NOT_IN_POOL: "プール外",
    CURRENT_OWNER: "現在の担当者",
    RECENT_OWNER: "直近の担当者",
    CHOSEN: "選択",
    ELIGIBLE: "対象だが選ばれず",
    FALLBACK_ANYWAY: "フォールバック担当者（条件に関係なく割り当て）",
    NO_OWNER: "リードのアカウントに担当者がいない",
    OVERFLOWED: "対象の担当者がいないため次のルールへ",
}

Kind = Literal["assign", "queue", "reassign"]


class Candidate(NamedTuple):
    rep: str
    eligible: bool
    reason: str  # one of the phrases above


@dataclass(slots=True)
class Decision:
    """Who gets the lead (`rep`) or where it waits (`queue`), and why.

    kind: `assign` (a new lead placed), `reassign` (taken from `previous_owner`), or `queue`
    (waits for the opening at `wait_until`; a later decision assigns it).
    strategy: the matching rule's strategy, or `fallback` / `after_hours` / `manager`.
    """

    lead: str
    at: datetime  # when the assignment takes effect: clocks start here
    rep: str | None
    queue: str | None
    rule: str | None
    strategy: str
    candidates: list[Candidate]
    tie_break: str
    alert: str | None = None
    kind: Kind = "assign"
    team: str | None = None  # the rep's team; for a reassignment, the previous owner's
    previous_owner: str | None = None
    queued_at: datetime | None = None  # arrival, for a lead assigned from the after-hours queue
    wait_until: datetime | None = None  # queued: the opening it waits for
    tried: list[tuple[str, str]] = field(default_factory=list)  # (rule, why it did not place)
    policy_version: str = ""
    ja: dict[str, str] = field(default_factory=dict)  # tie_break / alert in Japanese

    def skipped(self) -> dict[str, str]:
        """Rep -> why they were passed over."""
        return {c.rep: c.reason for c in self.candidates if not c.eligible}

    def effects(self) -> list[Effect]:
        """The alert effect when no rule could place the lead (the lead is never dropped)."""
        if self.alert is None:
            return []
        detail = {
            "reason": "routing_fallback",
            "message": self.alert,
            "message_ja": self.ja.get("alert", self.alert),
            "rep": self.rep,
            "queue": self.queue,
            "kind": self.kind,
        }
        return [Effect("alert", self.at, self.lead, "assignment", rule=self.rule, owner=self.rep,
                       detail=detail)]

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the audit trail."""
        return {
            "lead": self.lead,
            "at": self.at.isoformat(),
            "kind": self.kind,
            "rep": self.rep,
            "queue": self.queue,
            "rule": self.rule,
            "strategy": self.strategy,
            "candidates": [c._asdict() for c in self.candidates],
            "tie_break": self.tie_break,
            "alert": self.alert,
            "team": self.team,
            "previous_owner": self.previous_owner,
            "queued_at": self.queued_at.isoformat() if self.queued_at else None,
            "wait_until": self.wait_until.isoformat() if self.wait_until else None,
            "tried": [list(t) for t in self.tried],
            "policy_version": self.policy_version,
            "ja": dict(self.ja),
        }

    def explain(self, lang: str = "en") -> str:
        """"Why did X get this lead", in a few lines."""
        ja = lang == "ja"
        target = self.rep or (f"キュー {self.queue}" if ja else f"queue {self.queue}")
        if self.wait_until is not None:
            target += f"（{self.wait_until.isoformat()} まで）" if ja else f" until {self.wait_until.isoformat()}"
        if self.previous_owner is not None:
            target = (f"{self.previous_owner} から {target}" if ja
                      else f"{target}, taken from {self.previous_owner}")
        if ja:
            rule = f"ルール「{self.rule}」" if self.rule else "ルールなし"
            head = f"リード {self.lead} → {target}（{rule}、{self.strategy}）"
            tie = self.ja.get("tie_break", self.tie_break)
        else:
            rule = f"rule {self.rule!r}" if self.rule else "no rule"
            head = f"lead {self.lead} → {target} ({rule}, {self.strategy})"
            tie = self.tie_break
        lines = [head]
        if tie:
            lines.append(("  決め手: " if ja else "  tie-break: ") + tie)
        for rule_name, why in self.tried:
            lines.append(
                f"  ルール「{rule_name}」: {_JA.get(why, why)}" if ja else f"  rule {rule_name!r}: {why}"
            )
        for c in self.candidates:
            reason = _JA.get(c.reason, c.reason) if ja else c.reason
            lines.append(f"  - {c.rep}: {reason}")
        if self.alert:
            lines.append(("  アラート: " + self.ja.get("alert", self.alert)) if ja else f"  alert: {self.alert}")
        return "\n".join(lines)
