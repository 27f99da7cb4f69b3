"""Scoring, tiers and the lifecycle (F5, F6, F7): pure functions of (policy, lead, time).

    card = score_lead(attributes, at, policy)         # ICP points and negatives, with reasons
    apply_engagement(card, "report_download", at, policy)
    apply_decay(card, last_engagement, now, policy)   # idempotent for the same now
    tier_for(card, signals, source, policy)           # -> TierDecision(tier, reason)
    mql_check(card, actions, policy)                  # reason it is an MQL, or None

The lifecycle lives in `leadclock.scoring.lifecycle`.
"""

from leadclock.scoring.domains import FREE_MAIL_DOMAINS, email_domain, is_academic, is_free_mail
from leadclock.scoring.lifecycle import (
    IllegalTransition,
    Stage,
    Transition,
    mql_check,
    on_engagement,
    transition,
    unqualified_check,
)
from leadclock.scoring.rules import (
    CompiledScoring,
    ScoreCard,
    ScoreChange,
    apply_decay,
    apply_engagement,
    apply_unsubscribe,
    compile_scoring,
    detect_flags,
    score_lead,
    tier_of_score,
    update_attributes,
)
from leadclock.scoring.tiers import TierDecision, tier_for

__all__ = [
    "FREE_MAIL_DOMAINS", "CompiledScoring", "IllegalTransition", "ScoreCard", "ScoreChange",
    "Stage", "TierDecision", "Transition", "apply_decay", "apply_engagement", "apply_unsubscribe",
    "compile_scoring", "detect_flags", "email_domain", "is_academic", "is_free_mail", "mql_check",
    "on_engagement", "score_lead", "tier_for", "tier_of_score", "transition", "unqualified_check",
    "update_attributes",
]
