"""A routing policy compiled once per policy version, so each decision is a few dict look-ups.

Decisions must be cheap (bench: 500 reps, 50 rules, >= 20,000 decisions/s, about 50 µs each), so
everything that does not depend on the lead or the moment is done here: pools resolved to sorted
member tuples, conditions to sets of case-folded strings and numeric ranges, caps to ints,
time off to sets of day ordinals, and one calendar per distinct (working hours, time zone).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from leadclock.calendar import BusinessCalendar
from leadclock.policy import Policy
from leadclock.policy.routing_models import (
    NUMBER_FIELDS,
    STRATEGIES_WITH_MEMBERS,
    TEXT_FIELDS,
    NumberRange,
    Rule,
    parse_range,
    time_off_days,
)

NO_CAP = 1 << 62  # an int cap nobody reaches keeps the hot path free of None checks


class RoutingError(ValueError):
    """A routing policy that cannot be compiled; `problems` are (key path, reason) pairs."""

    def __init__(self, problems: list[tuple[list[str | int], str]]) -> None:
        self.problems = problems
        super().__init__(
            "\n".join(".".join(str(p) for p in path) + f": {reason}" for path, reason in problems)
        )


_FAR_PAST = datetime.min.replace(tzinfo=UTC)


class RepClock:
    """Working hours in one time zone; reps with the same hours and zone share it.

    `at(t)` answers (open, local day ordinal, local Monday ordinal) and remembers the span over
    which the answer holds (the local day; the open or closed stretch around `t`), so successive
    decisions usually cost two comparisons instead of a time-zone conversion and a calendar
    look-up. The memo is of a pure function of `t`: it never changes an answer. Each memo is one
    tuple, replaced whole, so concurrent readers never see half of one.
    """

    __slots__ = ("_day", "_open", "always", "calendar", "has_hours", "single_span", "zone")

    def __init__(
        self, calendar: BusinessCalendar, zone: ZoneInfo, has_hours: bool, always: bool,
        single_span: bool,
    ) -> None:
        self.calendar = calendar
        self.zone = zone
        self.has_hours = has_hours
        self.always = always
        # With at most one interval a day, the close of the current interval is the day's close
        # (BusinessCalendar.day_end); with a lunch break it is not, so open spans are not kept.
        self.single_span = single_span
        self._day: tuple[datetime, datetime, int, int] = (_FAR_PAST, _FAR_PAST, 0, 0)
        self._open: tuple[datetime, datetime, bool] = (_FAR_PAST, _FAR_PAST, False)

    def at(self, t: datetime) -> tuple[bool, int, int]:
        lo, hi, day, week = self._day
        if not lo <= t < hi:
            local = t.astimezone(self.zone)
            day = local.toordinal()
            week = day - local.weekday()
            start = datetime(local.year, local.month, local.day, tzinfo=self.zone)
            end = start.date() + timedelta(days=1)
            lo = start.astimezone(UTC)
            hi = datetime(end.year, end.month, end.day, tzinfo=self.zone).astimezone(UTC)
            # Keep the span only if it really holds `t` (a zone whose clocks jump at midnight
            # could make it a little off); otherwise answer this one without remembering.
            if lo <= t < hi:
                self._day = (lo, hi, day, week)
        if self.always:
            return True, day, week
        if not self.has_hours:
            return False, day, week
        lo, hi, is_open = self._open
        if not lo <= t < hi:
            is_open = self.calendar.is_open(t)
            if not is_open:
                self._open = (t, self.calendar.next_opening(t), False)
            elif self.single_span:
                self._open = (t, self.calendar.day_end(t), True)
        return is_open, day, week


@dataclass(slots=True, frozen=True)
class CompiledRep:
    id: str
    team: str | None
    manager: str | None
    weight: float
    clock: RepClock  # shared by reps with the same hours and zone
    per_day: int
    per_week: int
    max_open: int
    time_off: frozenset[int]  # local day ordinals
    time_off_sorted: tuple[int, ...]


@dataclass(slots=True, frozen=True)
class CompiledRule:
    index: int
    name: str
    strategy: str
    text_tests: tuple[tuple[str, frozenset[str]], ...]
    range_tests: tuple[tuple[str, tuple[NumberRange, ...]], ...]
    account_known: bool | None
    members: tuple[str, ...]  # sorted: the rotation order
    member_set: frozenset[str]
    weights: tuple[float, ...]  # aligned with members (weighted strategy)
    weight_of: dict[str, float]
    weight_total: float
    weighted_tie: dict[str, tuple[str, str]]  # rep -> tie-break text (en, ja), made once
    heap_limit: int  # a RankedPool heap longer than this is rebuilt (left-over entries)
    rep: str | None  # single_contact
    overflow: str


@dataclass(slots=True)
class CompiledRouting:
    version: str
    reps: dict[str, CompiledRep]
    clocks: list[RepClock]
    rules: tuple[CompiledRule, ...]
    account_owner: dict[str, str]  # case-folded account -> rep
    fallback_queue: str | None
    fallback_rep: str | None
    after_hours_queue: bool
    after_hours_order: str
    after_hours_clock: RepClock
    exclude_recent: int
    reassign_fallback: str
    flag_above: float
    tier_rank: dict[str, int]  # case-folded tier -> urgency (0 = hottest)
    tier_ranges: tuple[tuple[str, NumberRange], ...]  # score ranges, hottest first
    source_priority: dict[str, str]  # case-folded source -> tier
    text_fields: tuple[str, ...]  # the text fields some rule tests (normalised per lead)
    attribute_fields: tuple[str, ...]
    number_fields: tuple[str, ...]
    # Rules as bits (bit i = rule i): per tested text field, the rules a value lets through and
    # the rules that do not test the field. ANDing one mask per field leaves the rules whose text
    # conditions hold, so a decision does not walk 50 rules one by one.
    text_index: tuple[tuple[str, dict[str, int], int], ...]
    all_rules: int

    @property
    def configured(self) -> bool:
        return bool(self.rules) or self.fallback_rep is not None


def in_range(x: float, r: NumberRange) -> bool:
    lo, lo_inc, hi, hi_inc = r
    return (x > lo or (lo_inc and x == lo)) and (x < hi or (hi_inc and x == hi))


def _clock_for(policy: Policy, hours: str, zone: str | None) -> RepClock:
    """The rep's working hours: the policy calendar `hours`, in the rep's zone if given."""
    definition = policy.calendars.get(hours)
    if definition is None or definition.always:
        # `always` is built in (24/7); an undefined name was rejected by check_routing.
        tz = zone or policy.org.timezone
        return RepClock(BusinessCalendar.always(), ZoneInfo(tz), True, True, True)
    tz = zone or definition.timezone or policy.org.timezone
    weekly: dict[str, list[tuple[str, str]]] = {
        str(day): list(spans) for day, spans in definition.weekly.items()
    }
    has_hours = any(
        _minutes(end) > _minutes(start) for spans in weekly.values() for start, end in spans
    )
    calendar = BusinessCalendar(
        tz,
        weekly,
        [*definition.holidays.countries, *definition.holidays.dates],
        subdivision=definition.holidays.subdivision,
    )
    single = all(len(spans) <= 1 for spans in weekly.values())
    return RepClock(calendar, ZoneInfo(tz), has_hours, False, single)


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def _weighted_ties(members: tuple[str, ...], weights: tuple[float, ...]) -> dict[str, tuple[str, str]]:
    total = sum(weights) or 1.0
    return {
        m: (
            f"weighted round robin: earliest virtual finish among reps whose turn has come; "
            f"weight {w:g} = {w / total:.0%} of the rule's leads; ties in rotation order",
            f"重み付きラウンドロビン: 順番が来た担当者のうち仮想終了時刻が最も早い。"
            f"重み {w:g}（このルールのリードの {w / total:.0%}）。同点はローテーション順",
        )
        for m, w in zip(members, weights, strict=True)
    }


def _members(rule: Rule, pools: Mapping[str, list[str]]) -> tuple[str, ...]:
    if rule.pool is not None:
        return tuple(sorted(set(pools.get(rule.pool, []))))
    return tuple(sorted(set(rule.reps)))


def _compile(policy: Policy) -> CompiledRouting:
    from leadclock.routing.checks import check_routing  # checks import this module's helpers

    problems = check_routing(policy)
    if problems:
        raise RoutingError([([*path], reason) for path, reason in problems])
    routing = policy.routing
    clock_index: dict[tuple[str, str], RepClock] = {}

    def clock_of(hours: str, zone: str | None) -> RepClock:
        key = (hours, zone or "")
        found = clock_index.get(key)
        if found is None:
            found = clock_index[key] = _clock_for(policy, hours, zone)
        return found

    reps: dict[str, CompiledRep] = {}
    owner: dict[str, str] = {}
    for rep_id, rep in routing.reps.items():
        days = time_off_days(rep.time_off)
        cap = rep.capacity
        reps[rep_id] = CompiledRep(
            rep_id,
            rep.team,
            rep.manager,
            rep.weight,
            clock_of(rep.hours, rep.timezone),
            cap.per_day or NO_CAP,
            cap.per_week or NO_CAP,
            cap.max_open or NO_CAP,
            frozenset(days),
            tuple(days),
        )
        for account in rep.accounts:
            owner[account.casefold()] = rep_id
    rules = []
    text_fields: set[str] = set()
    attribute_fields: set[str] = set()
    number_fields: set[str] = set()
    for index, rule in enumerate(routing.rules):
        when = rule.when
        text_tests = []
        for name in TEXT_FIELDS:
            values = getattr(when, name)
            if values is not None:
                text_tests.append((name, frozenset(v.casefold() for v in values)))
                text_fields.add(name)
        for name, values in when.attributes.items():
            key = f"attributes.{name}"
            text_tests.append((key, frozenset(v.casefold() for v in values)))
            attribute_fields.add(name)
        range_tests = []
        for name in NUMBER_FIELDS:
            values = getattr(when, name)
            if values is not None:
                range_tests.append((name, tuple(parse_range(v) for v in values)))
                number_fields.add(name)
        if when.account_known is not None:
            text_fields.add("account")
        if rule.strategy in STRATEGIES_WITH_MEMBERS or rule.pool is not None or rule.reps:
            members = _members(rule, routing.pools)
        else:
            members = ()
        weights = tuple(
            rule.weights.get(m, routing.reps[m].weight) for m in members
        )
        rules.append(
            CompiledRule(
                index,
                rule.name,
                rule.strategy,
                tuple(text_tests),
                tuple(range_tests),
                when.account_known,
                members,
                frozenset(members),
                weights,
                dict(zip(members, weights, strict=True)),
                sum(weights),
                _weighted_ties(members, weights),
                4 * len(members) + 64,
                rule.rep,
                rule.overflow,
            )
        )
    if any(r.strategy == "account_owner" for r in rules):
        text_fields.add("account")
    text_index = []
    for name in sorted({n for r in rules for n, _ in r.text_tests}):
        without = 0
        by_value: dict[str, int] = {}
        for r in rules:
            tests = dict(r.text_tests)
            if name not in tests:
                without |= 1 << r.index
            else:
                for value in tests[name]:
                    by_value[value] = by_value.get(value, 0) | 1 << r.index
        text_index.append((name, {v: m | without for v, m in by_value.items()}, without))
    tiers = policy.tier_order()
    tier_ranges = []
    for name in tiers:
        score = policy.tiers[name].score
        if score is not None:
            tier_ranges.append((name.casefold(), parse_range(score.replace(" ", ""))))
    return CompiledRouting(
        version=policy.version,
        reps=reps,
        clocks=list(clock_index.values()),
        rules=tuple(rules),
        account_owner=owner,
        fallback_queue=routing.fallback.queue,
        fallback_rep=routing.fallback.rep,
        after_hours_queue=routing.after_hours.queue,
        after_hours_order=routing.after_hours.order,
        after_hours_clock=clock_of(routing.after_hours.calendar, None),
        exclude_recent=routing.reassignment.exclude_recent,
        reassign_fallback=routing.reassignment.fallback,
        flag_above=routing.reassignment.flag_above,
        tier_rank={name.casefold(): rank for rank, name in enumerate(tiers)},
        tier_ranges=tuple(tier_ranges),
        source_priority={n.casefold(): s.priority.casefold() for n, s in policy.sources.items()},
        text_fields=tuple(sorted(text_fields)),
        attribute_fields=tuple(sorted(attribute_fields)),
        number_fields=tuple(sorted(number_fields)),
        text_index=tuple(text_index),
        all_rules=(1 << len(rules)) - 1,
    )


# Compiling costs milliseconds (the policy's version alone hashes the whole policy), so routing a
# lead must not do it: the same Policy object is found by identity, an equal one by version.
_BY_ID: OrderedDict[int, tuple[Policy, CompiledRouting]] = OrderedDict()
_BY_VERSION: OrderedDict[str, CompiledRouting] = OrderedDict()
_CACHE_SIZE = 8


def compile_routing(policy: Policy | CompiledRouting) -> CompiledRouting:
    """The compiled routing of `policy` (cached); raises RoutingError if check_routing objects."""
    if isinstance(policy, CompiledRouting):
        return policy
    found = _BY_ID.get(id(policy))
    if found is not None and found[0] is policy:
        return found[1]
    version = policy.version
    compiled = _BY_VERSION.get(version)
    if compiled is None:
        compiled = _compile(policy)
        _BY_VERSION[version] = compiled
        if len(_BY_VERSION) > _CACHE_SIZE:
            _BY_VERSION.popitem(last=False)
    # The entry keeps `policy` alive, so its id cannot be reused by another object meanwhile.
    _BY_ID[id(policy)] = (policy, compiled)
    if len(_BY_ID) > _CACHE_SIZE:
        _BY_ID.popitem(last=False)
    return compiled


def normalise_lead(c: CompiledRouting, lead: Mapping[str, Any]) -> dict[str, Any]:
    """The lead's values that rules test: text case-folded, numbers as floats, None if absent."""
    out: dict[str, Any] = {}
    get = lead.get
    for name in c.text_fields:
        value = get(name)
        out[name] = (
            value.casefold() if type(value) is str else None if value is None else _fold(value)
        )
    if c.attribute_fields:
        nested = get("attributes")
        nested = nested if isinstance(nested, Mapping) else {}
        for name in c.attribute_fields:
            # A CRM may send custom fields nested under `attributes` or at the top level.
            value = nested.get(name, get(name))
            out[f"attributes.{name}"] = None if value is None else _fold(value)
    for name in c.number_fields:
        out[name] = _number(get(name))
    if "tier" in out and out["tier"] is None:
        out["tier"] = derive_tier(c, lead)
    return out


def _fold(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).casefold()


def _number(value: object) -> float | None:
    if type(value) is int or type(value) is float:
        return None if value != value else float(value)  # NaN is no number
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def derive_tier(c: CompiledRouting, lead: Mapping[str, Any]) -> str | None:
    """F6 for a lead that arrives without a tier: the stricter of its score tier and its source's."""
    best: str | None = None
    score = _number(lead.get("score"))
    if score is not None:
        for name, r in c.tier_ranges:
            if in_range(score, r):
                best = name
                break
    source = lead.get("source")
    if source is not None:
        priority = c.source_priority.get(_fold(source))
        if priority is not None and priority in c.tier_rank and (
            best is None or c.tier_rank[priority] < c.tier_rank.get(best, len(c.tier_rank))
        ):
            best = priority
    return best if best is None or best in c.tier_rank else None
