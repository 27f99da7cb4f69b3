"""Scoring and lifecycle inside the engine (F5-F7): what a lead's events do to its score,
tier and stage. Pure: every function takes the time it needs as an argument.

The tier is decided when the lead is created (or changed by `lead.updated` with a tier) and
never by later engagement: clocks already running keep the SLA of the tier they started under,
and a score crossing a threshold is reported, not applied behind the SLA's back.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from leadclock.policy import Policy
from leadclock.scoring import ScoreCard, apply_engagement, compile_scoring, score_lead, tier_for
from leadclock.scoring.lifecycle import (
    IllegalTransition,
    Stage,
    mql_check,
    on_engagement,
    stage_for_status,
    transition,
)

_MEMO_MAX = 100_000


class Tiering:
    """A lead's starting tier from its attributes and source, decided once per distinct input."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.compiled = compile_scoring(policy)
        reads: list[str] = []
        for key, fallback, _memo, _attr in self.compiled.plan:
            reads.append(key)
            if fallback:
                reads.append(fallback)
        self.reads = tuple(dict.fromkeys([*reads, *self.compiled.flag_names, "title"]))
        self._memo: dict[tuple[Any, ...], str | None] = {}

    def key(self, data: Mapping[str, Any], source: str | None) -> tuple[Any, ...]:
        """Everything the starting tier depends on (the email only by its domain)."""
        email = data.get("email")
        domain = email[email.rfind("@") + 1 :] if isinstance(email, str) else email
        values = tuple(_hashable(data.get(k)) for k in self.reads)
        return (source, _hashable(data.get("tier")), _hashable(data.get("score")), domain, *values)

    def tier(self, data: Mapping[str, Any], source: str | None) -> str | None:
        key = self.key(data, source)
        found = self._memo.get(key, _MISS)
        if found is _MISS:
            if len(self._memo) >= _MEMO_MAX:
                self._memo.clear()
            found = self._memo[key] = self._decide(data, source)
        return found  # type: ignore[return-value]

    def _decide(self, data: Mapping[str, Any], source: str | None) -> str | None:
        given = data.get("tier")
        if isinstance(given, str) and given in self.policy.tiers:
            # The CRM decided the tier; the source's priority may still be stricter (F6).
            return self.policy.effective_tier(given, source) or given
        score = data.get("score")
        if not isinstance(score, int | float) or isinstance(score, bool):
            score = score_lead(data, _EPOCH, self.compiled).score
        return tier_for(score, (source,) if source else (), source, self.compiled).tier


def _hashable(value: Any) -> Any:
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value


_MISS = object()
_EPOCH = datetime.fromisoformat("2000-01-01T00:00:00+00:00")


def start_card(data: Mapping[str, Any], at: datetime, policy: Policy) -> dict[str, Any]:
    """The score card a new lead starts with (kept in the lead's attributes as JSON)."""
    given = data.get("score")
    if isinstance(given, int | float) and not isinstance(given, bool):
        return {"score": given, "tier_from_score": None, "flags": {}, "history": [
            {"at": at.isoformat(), "points": given, "reason": f"{given:g} given by the CRM", "rule": "crm"}]}
    return score_lead(data, at, compile_scoring(policy)).to_dict()


def engage(card_data: Mapping[str, Any], action: str, at: datetime, policy: Policy) -> tuple[dict[str, Any], list[str]]:
    """Add an engagement's points; return the new card and the reasons added."""
    card = ScoreCard.from_dict(card_data)
    changes = apply_engagement(card, action, at, compile_scoring(policy))
    return card.to_dict(), [c.reason for c in changes]


def stage_after_engagement(stage: str, action: str, card_data: Mapping[str, Any], actions: list[str],
                           at: datetime, policy: Policy) -> dict[str, Any] | None:
    """A re-evaluation (nurture / recycled lead engaging again) or a new MQL, as a transition record."""
    move = on_engagement(Stage(stage), action, at=at, card=ScoreCard.from_dict(card_data),
                         actions=actions, policy=policy)
    return None if move is None else _record(move)


def stage_for_new_lead(card_data: Mapping[str, Any], actions: list[str], source: str, at: datetime,
                       policy: Policy) -> dict[str, Any] | None:
    """Lead → MQL at creation when the score or the source (a trigger action) says so."""
    reason = mql_check(ScoreCard.from_dict(card_data), [*actions, source], compile_scoring(policy))
    if reason is None:
        return None
    move = transition(Stage.LEAD, Stage.MQL, at=at, who="scoring", why=reason, policy=policy)
    return _record(move)


def stage_for_decision(stage: str, status: str, *, at: datetime, who: str, why: str, revisit: str | None,
                       contacted: bool, fields: Mapping[str, Any] | None, policy: Policy) -> tuple[dict[str, Any] | None, str | None]:
    """The transition a `lead.status` (or "opportunity" / "won" / "lost") asks for, or why not."""
    target = Stage(status) if status in ("opportunity", "won", "lost", "sql") else stage_for_status(status)
    if target is None or target == Stage(stage):
        return None, None
    try:
        move = transition(Stage(stage), target, at=at, who=who, why=why or status, revisit=revisit,
                          policy=policy, contacted=contacted, fields=fields)
    except IllegalTransition as refused:
        return None, str(refused)
    return _record(move), None


def _record(move: Any) -> dict[str, Any]:
    return {
        "from": str(move.frm), "to": str(move.to), "at": move.at.isoformat(), "who": move.who,
        "why": move.why, "revisit": move.revisit.isoformat() if move.revisit else None,
    }
