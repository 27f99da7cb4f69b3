"""Rules that need the whole policy; each problem is reported with its key path."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holidays_lib

from leadclock.policy.durations import Duration
from leadclock.policy.models import (
    CadenceSla,
    Calendar,
    ClockSla,
    FollowUpRule,
    Policy,
    StageSlas,
)

Path = list[str | int]
BUILTIN_CALENDARS = {"always"}  # 24/7 needs no definition


@cache
def _countries() -> frozenset[str]:
    return frozenset(holidays_lib.list_supported_countries())


def _timezone_ok(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def business_day_seconds(calendar: Calendar | None) -> float:
    """Mean open seconds over the days that open at all (a 'business day' for the `bd` unit)."""
    if calendar is None or calendar.always:
        return 86400.0
    per_day = [
        sum(_minutes(end) - _minutes(start) for start, end in intervals) * 60
        for intervals in calendar.weekly.values()
        if intervals
    ]
    return sum(per_day) / len(per_day) if per_day else 86400.0


def _check_calendar(name: str, calendar: Calendar) -> Iterator[tuple[Path, str]]:
    base: Path = ["calendars", name]
    if calendar.timezone is not None and not _timezone_ok(calendar.timezone):
        yield (
            [*base, "timezone"],
            f"unknown time zone {calendar.timezone!r} (use an IANA name such as Asia/Tokyo)",
        )
    for country in calendar.holidays.countries:
        if country not in _countries():
            yield (
                [*base, "holidays", "countries"],
                f"unknown holiday country {country!r} (use an ISO code such as JP, US, GB)",
            )
    if calendar.always:
        if calendar.weekly:
            yield [*base, "weekly"], "a 24/7 calendar ('always: true') takes no weekly hours"
        return
    if not any(calendar.weekly.values()):
        yield (
            [*base, "weekly"],
            "no business hours on any day: clocks on this calendar could never run",
        )
    for day, intervals in calendar.weekly.items():
        spans = []
        for index, (start, end) in enumerate(intervals):
            lo, hi = _minutes(start), _minutes(end)
            if hi <= lo:
                yield (
                    [*base, "weekly", day, index],
                    f"{day}: interval {start}-{end} ends before it starts",
                )
            else:
                spans.append((lo, hi, f"{start}-{end}", index))
        spans.sort()
        for (_, hi, text, _), (lo2, _, text2, index2) in itertools.pairwise(spans):
            if lo2 < hi:
                yield [*base, "weekly", day, index2], f"{day}: intervals {text} and {text2} overlap"


def _slas(policy: Policy) -> Iterator[tuple[Path, StageSlas]]:
    yield ["defaults"], policy.defaults
    for name, tier in policy.tiers.items():
        yield ["tiers", name, "sla"], tier.sla
    for name, source in policy.sources.items():
        yield ["sources", name, "sla"], source.sla


def _cadence_span(cadence: CadenceSla, bd_seconds: float) -> float:
    """Offset of the last step from the first, in counted seconds."""
    offset = 0.0
    for step in cadence.steps:
        if step.day is not None:
            offset = max(offset, (step.day - 1) * bd_seconds)
        elif step.after is not None:
            offset += step.after.seconds(bd_seconds) or 0.0
    return offset


def _check_slas(policy: Policy) -> Iterator[tuple[Path, str]]:
    known = set(policy.calendars) | BUILTIN_CALENDARS
    for base, slas in _slas(policy):
        for stage in (
            "assignment",
            "first_contact",
            "qualification",
            "handoff",
            "acceptance",
            "cadence",
        ):
            sla = getattr(slas, stage)
            if sla is None or sla == "none":
                continue
            if sla.calendar not in known:
                yield (
                    [*base, stage, "calendar"],
                    f"unknown calendar {sla.calendar!r}; defined: {', '.join(sorted(known))}",
                )
            if (
                isinstance(sla, ClockSla)
                and sla.target.kind == "same_day"
                and sla.max is not None
                and sla.max.kind != "same_day"
            ):
                yield [*base, stage, "max"], "max is shorter than a same-day target"
            if isinstance(sla, CadenceSla):
                bd = business_day_seconds(policy.calendars.get(sla.calendar))
                window = sla.window.seconds(bd)
                if window is not None and _cadence_span(sla, bd) > window:
                    yield (
                        [*base, stage, "steps"],
                        (f"the cadence's steps span longer than its window ({sla.window})"),
                    )
                if sla.steps and len(sla.steps) < sla.min_attempts:
                    yield (
                        [*base, stage, "steps"],
                        (
                            f"{len(sla.steps)} steps cannot make the {sla.min_attempts} attempts required"
                        ),
                    )
        for kind, rule in (slas.follow_up or {}).items():
            if isinstance(rule, FollowUpRule):
                if rule.calendar not in known:
                    yield (
                        [*base, "follow_up", kind, "calendar"],
                        f"unknown calendar {rule.calendar!r}",
                    )
                if rule.every_max is not None and rule.every_max.sort_key() < rule.every.sort_key():
                    yield [*base, "follow_up", kind, "every_max"], "every_max is shorter than every"


def _check_references(policy: Policy) -> Iterator[tuple[Path, str]]:
    tiers, sources, roles = set(policy.tiers), set(policy.sources), set(policy.roles)
    for name, source in policy.sources.items():
        if source.priority not in tiers:
            yield (
                ["sources", name, "priority"],
                f"unknown tier {source.priority!r}; defined: {', '.join(policy.tiers) or 'none'}",
            )
    for name, rule in policy.escalations.items():
        base: Path = ["escalations", name]
        for tier in rule.trigger.tiers:
            if tier not in tiers:
                yield [*base, "trigger", "tiers"], f"unknown tier {tier!r}"
        for source in rule.trigger.sources:
            if source not in sources:
                yield [*base, "trigger", "sources"], f"unknown source {source!r}"
        if (
            rule.trigger.kind in ("not_contacted", "idle", "not_handed_off", "unassigned")
            and rule.trigger.after is None
        ):
            yield [*base, "trigger", "after"], f"a '{rule.trigger.kind}' trigger needs 'after'"
        if rule.trigger.kind == "compliance_below" and rule.trigger.threshold is None:
            yield [*base, "trigger", "threshold"], "a 'compliance_below' trigger needs 'threshold'"
        if rule.trigger.kind == "breach" and rule.trigger.clock is None:
            yield [*base, "trigger", "clock"], "a 'breach' trigger needs the clock it watches"
        for index, step in enumerate(rule.steps):
            for role in step.notify:
                if role not in roles:
                    yield (
                        [*base, "steps", index, "notify"],
                        f"unknown role {role!r}; defined: {', '.join(sorted(roles)) or 'none'}",
                    )
            for channel in step.channels:
                if channel not in policy.channels:
                    yield (
                        [*base, "steps", index, "channels"],
                        f"unknown notification channel {channel!r}",
                    )
            if step.action != "notify" and not step.notify and step.action == "manager_queue":
                yield (
                    [*base, "steps", index, "notify"],
                    "a manager_queue step must name who receives the lead",
                )
    for name, report in policy.reports.items():
        for role in report.to:
            if role not in roles:
                yield ["reports", name, "to"], f"unknown role {role!r}"
        if report.kind in ("weekly_summary", "weekly_scorecard") and report.day is None:
            yield ["reports", name, "day"], "a weekly report needs the day it is sent"
    for source in policy.compliance.sources:
        if source not in sources:
            yield ["compliance", "sources", source], f"unknown source {source!r}"
    for source in policy.scope.sources:
        if source not in sources:
            yield ["scope", "sources"], f"unknown source {source!r}"


def check_policy(policy: Policy) -> list[tuple[Path, str]]:
    problems: list[tuple[Path, str]] = []
    if not _timezone_ok(policy.org.timezone):
        problems.append(
            (
                ["org", "timezone"],
                f"unknown time zone {policy.org.timezone!r} (use an IANA name such as Asia/Tokyo)",
            )
        )
    if "business" not in policy.calendars:
        problems.append(
            (
                ["calendars"],
                "a calendar named 'business' is required (stage SLAs count in it by default)",
            )
        )
    for name, calendar in policy.calendars.items():
        problems.extend(_check_calendar(name, calendar))
    problems.extend(_check_slas(policy))
    problems.extend(_check_references(policy))
    from leadclock.routing.checks import check_routing  # importing routing loads the policy package

    problems.extend(check_routing(policy))
    return problems


__all__ = ["Duration", "business_day_seconds", "check_policy"]
