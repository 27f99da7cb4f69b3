"""Tiers (F6): from the score's thresholds, high-intent signals and the source's priority.

Three inputs name a tier: the score (tiers' `score` ranges, 001: hot >80, warm 50-80, cold <50),
intent signals (tiers' `signals`: a demo request makes a lead hot whatever its score; a signal only
ever raises the tier) and the source's `priority`. `scoring.priority_rule` says which wins between
the score side and the source: "stricter" (the more urgent, the default; 001 serves the lead as fast
as either asks), "source" (the source's priority when it has one) or "score".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from leadclock.policy.models import Policy
from leadclock.scoring.rules import CompiledScoring, ScoreCard, compile_scoring, tier_of_score


@dataclass(frozen=True, slots=True)
class TierDecision:
    tier: str | None
    reason: str  # "hot: score 40 → cold; signal demo_request → hot; stricter of score and source"
    score_tier: str | None = None
    signal_tier: str | None = None
    source_tier: str | None = None


_RULE_TEXT = {
    "stricter": "the stricter of score and source wins",
    "source": "the source's priority wins (priority_rule: source)",
    "score": "the score wins (priority_rule: score)",
}


def tier_for(
    card_or_score: ScoreCard | float | None,
    signals: Iterable[str],
    source: str | None,
    policy: Policy | CompiledScoring,
) -> TierDecision:
    """The lead's tier and why (see the module doc for the rules)."""
    c = policy if type(policy) is CompiledScoring else compile_scoring(policy)
    rank = c.tier_rank
    score = card_or_score.score if isinstance(card_or_score, ScoreCard) else card_or_score
    signal_tier, signal = None, None
    for name in signals:
        tier = c.signal_tier.get(name)
        if tier is not None and (signal_tier is None or rank[tier] < rank[signal_tier]):
            signal_tier, signal = tier, name
    # The decision depends on these three only and is immutable: decide each combination once.
    key = (score, signal, source)
    memo = c.decision_memo
    decision = memo.get(key)
    if decision is None:
        if len(memo) >= 50_000:
            memo.clear()
        decision = memo[key] = _decide(score, signal, signal_tier, source, c)
    return decision  # type: ignore[no-any-return]


def _decide(
    score: float | None,
    signal: str | None,
    signal_tier: str | None,
    source: str | None,
    c: CompiledScoring,
) -> TierDecision:
    rank = c.tier_rank
    parts: list[str] = []
    score_tier = tier_of_score(score, c) if score is not None else None
    if score is not None:
        parts.append(f"score {score:g} → {score_tier or 'no tier'}")
    if signal_tier is not None:
        parts.append(f"signal {signal} → {signal_tier}")

    # Signals only raise: the score side is the more urgent of the two.
    side = [t for t in (score_tier, signal_tier) if t is not None]
    score_side = min(side, key=rank.__getitem__) if side else None

    source_tier = c.source_tier.get(source) if source else None
    if source_tier is not None:
        parts.append(f"source {source} → {source_tier}")

    rule = ""
    if score_side is None or source_tier is None:
        tier = score_side or source_tier
    else:
        if c.priority_rule == "source":
            tier = source_tier
        elif c.priority_rule == "score":
            tier = score_side
        else:
            tier = min(score_side, source_tier, key=rank.__getitem__)
        if score_side != source_tier:
            rule = _RULE_TEXT[c.priority_rule]
    if not parts:
        parts.append("no score, signal or known source")
    reason = f"{tier or 'no tier'}: " + "; ".join(parts) + (f"; {rule}" if rule else "")
    return TierDecision(tier, reason, score_tier, signal_tier, source_tier)
