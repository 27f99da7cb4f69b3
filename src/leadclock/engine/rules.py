"""A policy compiled for the engine: calendars built once, SLAs resolved per (source, tier).

`Rules` is derived from a Policy and nothing else, so it is cached by policy version; the engine
never reads a clock or a file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from leadclock.calendar import BusinessCalendar, from_policy
from leadclock.policy import Duration, Policy
from leadclock.policy.models import CadenceSla, ClockSla, EscalationRule, FollowUpRule


@dataclass(frozen=True, slots=True)
class StageRule:
    """One resolved clock SLA: what the engine needs to start a clock."""

    stage: str
    target: Duration
    max: Duration | None
    calendar: str
    warn_before: Duration | None
    warn_fraction: float | None


@dataclass(frozen=True, slots=True)
class CadenceRule:
    min_attempts: int
    window: Duration
    calendar: str
    on_exhausted: str


class Rules:
    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.version = policy.version
        names = set(policy.calendars) | {"always"}
        self.calendars: dict[str, BusinessCalendar] = {n: from_policy(policy, n) for n in names}
        self.business = self.calendars["business"]
        self._stage_cache: dict[tuple[str, str | None, str | None], object] = {}
        self.escalations: dict[str, list[tuple[str, EscalationRule]]] = {}
        for rule_id, rule in policy.escalations.items():
            self.escalations.setdefault(rule.trigger.kind, []).append((rule_id, rule))
        self.required_fields = tuple(policy.handoff.required_fields)
        from leadclock.engine.scoring_step import Tiering  # scoring imports the policy package

        self.tiering = Tiering(policy)

    def stage(self, stage: str, source: str | None, tier: str | None) -> StageRule | CadenceRule | None:
        key = (stage, source, tier)
        if key not in self._stage_cache:
            sla = self.policy.stage_sla(stage, source, tier)
            resolved: StageRule | CadenceRule | None = None
            if isinstance(sla, ClockSla):
                resolved = StageRule(
                    stage, sla.target, sla.max, sla.calendar,
                    sla.warn.before if sla.warn else None,
                    sla.warn.at_fraction if sla.warn else None,
                )
            elif isinstance(sla, CadenceSla):
                resolved = CadenceRule(sla.min_attempts, sla.window, sla.calendar, sla.on_exhausted)
            self._stage_cache[key] = resolved
        return self._stage_cache[key]  # type: ignore[return-value]

    def follow_up(self, kind: str, source: str | None, tier: str | None) -> FollowUpRule | None:
        for slas in (
            self.policy.sources[source].sla if source in self.policy.sources else None,
            self.policy.tiers[tier].sla if tier in self.policy.tiers else None,
            self.policy.defaults,
        ):
            if slas is not None and slas.follow_up and kind in slas.follow_up:
                return slas.follow_up[kind]
        return None

    def deadline(self, calendar: str, start: datetime, duration: Duration) -> datetime:
        """When `duration` of counted time from `start` runs out (DESIGN principle 3)."""
        cal = self.calendars[calendar]
        if duration.kind == "same_day":
            return cal.day_end(start)
        seconds = duration.seconds(cal.business_day_seconds) or 0.0
        return cal.add(start, seconds)


_CACHE: dict[str, Rules] = {}


def compile_rules(policy: Policy) -> Rules:
    """Rules for a policy, built once per policy version."""
    rules = _CACHE.get(policy.version)
    if rules is None:
        if len(_CACHE) > 32:
            _CACHE.clear()
        rules = _CACHE[policy.version] = Rules(policy)
    return rules
