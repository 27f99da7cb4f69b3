"""F16 `compliance_below`: a rep whose SLA compliance over the rule's period falls under its
threshold is escalated (base preset: under 70% over two weeks → the manager).

Pure: the caller passes the clocks and the time. Compliance = met / (met + breached) over the
clocks that ended (met or breached) within the period — the same count as the scorecards. A rep
with fewer than `MIN_MEASURED` clocks in the period is not judged (three clocks are not a trend).
One escalation per rep, rule and local day: the effect's instant is the start of that day, so
its de-duplication key repeats for every check on the same day.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from leadclock.engine.state import Clock, Effect
from leadclock.policy import Policy
from leadclock.policy.i18n import format_duration

MIN_MEASURED = 5


def _ended_at(clock: Clock) -> datetime | None:
    if clock.outcome == "breached":
        return clock.breached_at or clock.due_at
    if clock.outcome == "met":
        return clock.stopped_at
    return None


def compliance_escalations(policy: Policy, clocks: Iterable[Clock], now: datetime,
                           period_seconds: dict[str, float] | None = None) -> list[Effect]:
    rules = [(rule_id, rule) for rule_id, rule in policy.escalations.items()
             if rule.trigger.kind == "compliance_below" and rule.trigger.threshold is not None]
    if not rules:
        return []
    clocks = [c for c in clocks if c.owner and c.outcome in ("met", "breached")]
    zone = ZoneInfo(policy.org.timezone)
    day = now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    effects: list[Effect] = []
    for rule_id, rule in rules:
        period = rule.trigger.period
        seconds = (period_seconds or {}).get(rule_id)
        if seconds is None:
            # Calendar time: "2w" is the last fourteen days, as a manager reads it.
            seconds = period.seconds(86400.0) if period is not None else 14 * 86400.0
        since = now - timedelta(seconds=seconds or 14 * 86400.0)
        met: dict[str, int] = defaultdict(int)
        breached: dict[str, int] = defaultdict(int)
        for clock in clocks:
            ended = _ended_at(clock)
            if ended is None or not since < ended <= now:
                continue
            (met if clock.outcome == "met" else breached)[clock.owner or ""] += 1
        threshold = float(rule.trigger.threshold or 0)
        for rep in sorted(set(met) | set(breached)):
            measured = met[rep] + breached[rep]
            if measured < MIN_MEASURED:
                continue
            percent = round(100.0 * met[rep] / measured, 1)
            if percent >= threshold:
                continue
            step = rule.steps[0]
            effects.append(Effect(
                "compliance_below", day, f"rep:{rep}", rule=rule_id, step=0,
                recipients=tuple(step.notify), owner=rep,
                detail={"action": step.action, "compliance": percent, "threshold": threshold,
                        "met": met[rep], "breached": breached[rep], "measured": measured,
                        "period": str(period) if period is not None else "2w",
                        "period_ja": format_duration(period, "ja") if period is not None else "2週間",
                        "period_en": format_duration(period, "en") if period is not None else "2 weeks"},
            ))
    return effects


__all__ = ["MIN_MEASURED", "compliance_escalations"]
