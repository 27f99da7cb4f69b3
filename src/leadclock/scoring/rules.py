"""Rule-based lead scoring (F5): attribute points, negatives, behaviour, decay, unsubscribe.

Every change is a `ScoreChange` with its reason ("+50 industry HIGH: SaaS") and the policy key of
the rule that made it ("icp.industry.high"), so `leadclock explain` can show the history and the
score is always the sum of it.

A policy is compiled once (`compile_scoring`) into plain dicts, a bisect table and precompiled
regular expressions; every function here accepts either a `Policy` or its `CompiledScoring`.
Pure: time is an argument, nothing is read or written at call time.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from leadclock.policy.models import IcpAttribute, Policy
from leadclock.scoring.domains import (
    FREE_MAIL_DOMAINS,
    academic_rule,
    domain_in,
    email_domain,
    normalise,
)

LEVELS = ("high", "mid", "low")  # most important first: the first level that matches wins
_MEMO_MAX = 50_000  # distinct values kept per memo before it starts afresh
_MISS = object()
KNOWN_FLAGS = ("student", "competitor", "peer_company", "free_mail", "academic")
_YES = frozenset({"true", "yes", "y", "1", "はい"})


class ScoreChange(NamedTuple):
    """One change of a lead's score, immutable.

    A named tuple rather than a frozen dataclass: scoring makes three or four per lead and a frozen
    dataclass costs 0.8-1.6 µs to build against 0.3 µs, about 15% of score_lead (bench/scoring.py).
    """

    at: datetime
    points: int
    reason: str  # "+50 industry HIGH: SaaS"
    rule: str  # policy key of the rule: "icp.industry.high", "negative.free_mail", "decay", …


_tuple_new = tuple.__new__  # skips NamedTuple's Python-level __new__ on the hot path


def _change(at: datetime, points: int, reason: str, rule: str) -> ScoreChange:
    return _tuple_new(ScoreChange, (at, points, reason, rule))


@dataclass(slots=True)
class ScoreCard:
    score: int = 0
    history: list[ScoreChange] = field(default_factory=list)
    tier_from_score: str | None = None
    # Negative flags found on the lead with their evidence ({"free_mail": "gmail.com"}), whether
    # or not the policy gives them points: lifecycle.unqualified_when reads them too.
    flags: dict[str, str] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """The history for `explain`: one line per change, oldest first."""
        return [f"{c.at.isoformat()}  {c.reason}" for c in self.history]

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "tier_from_score": self.tier_from_score,
            "flags": dict(self.flags),
            "history": [
                {"at": c.at.isoformat(), "points": c.points, "reason": c.reason, "rule": c.rule}
                for c in self.history
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScoreCard:
        history = [
            ScoreChange(datetime.fromisoformat(c["at"]), int(c["points"]), c["reason"], c["rule"])
            for c in data.get("history", [])
        ]
        return cls(int(data.get("score", 0)), history, data.get("tier_from_score"),
                   dict(data.get("flags", {})))


# --------------------------------------------------------------------------- compiled policy


@dataclass(slots=True)
class _Attribute:
    name: str
    reads: tuple[str, ...]
    kind: str  # exact | band | pattern
    exact: dict[str, tuple[str, str]]  # normalised value -> (level, value as written)
    starts: list[int]  # band segment starts (bisect)
    segments: list[tuple[str, str] | None]  # (level, band as written) for each segment
    patterns: list[tuple[str, re.Pattern[str], list[str]]]  # (level, alternation, written)
    # Lead values repeat (a few hundred industries, titles, bands): each distinct value is matched
    # and its reason formatted once. Bounded, and invisible to callers: a cache, not state.
    memo: dict[Any, tuple[int, str, str] | None] = field(default_factory=dict)


@dataclass(slots=True)
class CompiledScoring:
    policy: Policy
    attributes: list[_Attribute]
    # The hot loop's view of `attributes`: (field, fallback field or None, memo, attribute).
    plan: tuple[tuple[str, str | None, dict[Any, Any], _Attribute], ...]
    level_points: dict[str, int]
    negative: dict[str, int]
    negative_items: tuple[tuple[str, int], ...]
    negative_memo: dict[tuple[str, str], tuple[int, str, str]]
    flag_names: tuple[str, ...]  # flags to detect: known ones + negative keys + unqualified_when
    flag_set: frozenset[str]
    free_mail: frozenset[str]
    academic_extra: frozenset[str]
    competitor_domains: frozenset[str]
    peer_domains: frozenset[str]
    student: re.Pattern[str] | None
    domain_memo: dict[str, tuple[tuple[str, str], ...]]  # domain -> flags found from it
    student_memo: dict[Any, bool]
    behaviour: dict[str, int]
    decay_seconds: float
    decay_points: int
    decay_label: str
    decay_period: timedelta
    decay_days: float  # the period in whole days, 0 when it is not whole days
    decay_prefix: str  # "-10 decay: no engagement for "
    decay_reasons: dict[int, str]  # k -> "-10 decay: no engagement for 60d"
    unsubscribe: int
    mql_threshold: int
    mql_triggers: frozenset[str]
    tier_ranges: list[tuple[str, float, bool, float, bool]]
    tier_memo: dict[float, str | None]
    decision_memo: dict[tuple[Any, ...], Any]  # tiers.tier_for: (score, signal, source) -> decision
    tier_rank: dict[str, int]
    signal_tier: dict[str, str]  # signal -> most urgent tier that lists it
    source_tier: dict[str, str]
    priority_rule: str
    zone: ZoneInfo  # org.timezone, loaded with the policy rather than at call time


def _alternation(values: Iterable[str]) -> tuple[re.Pattern[str], list[str]]:
    """One regex for a level's patterns; named groups say which written pattern matched."""
    written = list(values)
    parts = []
    for i, value in enumerate(written):
        body = value[1:-1] if IcpAttribute.is_regex(value) else re.escape(normalise(value))
        parts.append(f"(?P<p{i}>{body})")
    return re.compile("|".join(parts), re.IGNORECASE), written


def _compile_attribute(name: str, attr: IcpAttribute) -> _Attribute:
    kind = attr.resolved_match(name)
    exact: dict[str, tuple[str, str]] = {}
    intervals: list[tuple[int, int, int, str]] = []
    patterns = []
    for rank, level in enumerate(LEVELS):
        values = getattr(attr, level)
        if kind == "exact":
            for value in values:
                exact.setdefault(normalise(value.strip()), (level, value))  # higher level first
        elif kind == "band":
            for value in values:
                low, high = IcpAttribute.parse_band(value)
                intervals.append((low, high, rank, value))
        elif values:
            regex, written = _alternation(values)
            patterns.append((level, regex, written))
    # Bands become elementary segments between all the edges, each holding the most important
    # level that covers it: one bisect per lead whatever the number of bands or overlaps.
    edges = sorted({e for low, high, _, _ in intervals for e in (low, high)})
    starts: list[int] = []
    segments: list[tuple[str, str] | None] = []
    for left in edges:
        covering = [(r, v) for low, high, r, v in intervals if low <= left < high]
        best = min(covering) if covering else None
        starts.append(left)
        segments.append((LEVELS[best[0]], best[1]) if best else None)
    return _Attribute(name, attr.attributes_read(name), kind, exact, starts, segments, patterns)


def _score_range(text: str) -> tuple[float, bool, float, bool]:
    """Tier.score as (low, low inclusive, high, high inclusive): ">80", "50-80", "<50", ">=", "<="."""
    text = text.strip()
    inf = float("inf")
    for op, low_incl, high_incl in ((">=", True, False), ("<=", False, True),
                                    (">", False, False), ("<", False, False)):
        if text.startswith(op):
            bound = float(text[len(op):])
            return (bound, low_incl, inf, False) if op[0] == ">" else (-inf, False, bound, high_incl)
    low, high = re.split(r"(?<=\d)\s*-\s*", text, maxsplit=1)
    return float(low), True, float(high), True


def _build(policy: Policy) -> CompiledScoring:
    s = policy.scoring
    order = policy.tier_order()
    rank = {name: i for i, name in enumerate(order)}
    signal_tier: dict[str, str] = {}
    for name in order:  # most urgent first, so the first tier naming a signal keeps it
        for signal in policy.tiers[name].signals:
            signal_tier.setdefault(signal, name)
    student = _alternation(s.student_titles)[0] if s.student_titles else None
    flags = dict.fromkeys((*KNOWN_FLAGS, *s.negative, *policy.lifecycle.unqualified_when))
    attributes = [_compile_attribute(n, a) for n, a in policy.icp.items()]
    return CompiledScoring(
        policy=policy,
        attributes=attributes,
        plan=tuple(
            (a.reads[0], a.reads[1] if len(a.reads) > 1 else None, a.memo, a) for a in attributes
        ),
        level_points=dict(s.icp_points),
        negative=dict(s.negative),
        negative_items=tuple(s.negative.items()),
        negative_memo={},
        flag_names=tuple(flags),
        flag_set=frozenset(flags),
        free_mail=(FREE_MAIL_DOMAINS | frozenset(s.free_mail_domains)) - frozenset(s.not_free_mail),
        academic_extra=frozenset(s.academic_domains),
        competitor_domains=frozenset(s.competitor_domains),
        peer_domains=frozenset(s.peer_domains),
        student=student,
        domain_memo={},
        student_memo={},
        behaviour=dict(s.behaviour),
        decay_seconds=s.decay_after.amount if s.decay_after is not None else 0.0,
        decay_points=s.decay_points,
        decay_label=str(s.decay_after) if s.decay_after is not None else "",
        decay_period=timedelta(seconds=s.decay_after.amount if s.decay_after is not None else 0),
        decay_days=(
            s.decay_after.amount / 86400
            if s.decay_after is not None and s.decay_after.amount % 86400 == 0 else 0
        ),
        decay_prefix=f"{_signed(s.decay_points)} decay: no engagement for ",
        decay_reasons={},
        unsubscribe=s.unsubscribe,
        mql_threshold=s.mql_threshold,
        mql_triggers=frozenset(s.mql_triggers),
        tier_ranges=[(n, *_score_range(t.score)) for n, t in policy.tiers.items() if t.score],
        tier_memo={},
        decision_memo={},
        tier_rank=rank,
        signal_tier=signal_tier,
        source_tier={n: src.priority for n, src in policy.sources.items() if src.priority in rank},
        priority_rule=s.priority_rule,
        zone=ZoneInfo(policy.org.timezone),
    )


# Keyed by id() with the policy held alive in the entry, so an id is never reused while cached;
# Policy.version would hash the whole policy on every call.
_CACHE: dict[int, CompiledScoring] = {}


def compile_scoring(policy: Policy | CompiledScoring) -> CompiledScoring:
    """The policy's scoring rules compiled once; a CompiledScoring is returned as is."""
    if isinstance(policy, CompiledScoring):
        return policy
    compiled = _CACHE.get(id(policy))
    if compiled is None or compiled.policy is not policy:
        if len(_CACHE) >= 32:
            _CACHE.clear()
        compiled = _CACHE[id(policy)] = _build(policy)
    return compiled


# --------------------------------------------------------------------------- helpers


def _yes(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip().lower() in _YES
    return isinstance(value, int | float) and value == 1


def _as_count(value: Any) -> int | None:
    """An employee count from a lead: a number, "2,500", or a CRM picklist range ("1,000-4,999",
    "1000+", "従業員1000人以上" is not one) read as its lower bound (its upper for "<100")."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str):
        digits = value.replace(",", "").strip()
        if digits.isdigit():
            return int(digits)
        if IcpAttribute.is_band(value):
            try:
                low, high = IcpAttribute.parse_band(value)
            except ValueError:
                return None
            return low if low > -(10**18) else high - 1
    return None


def _signed(points: int) -> str:
    return f"{points:+d}"


def tier_of_score(score: float, compiled: CompiledScoring) -> str | None:
    """The first tier (in policy order) whose score range holds `score`."""
    memo = compiled.tier_memo
    tier = memo.get(score, _MISS)
    if tier is _MISS:
        if len(memo) >= _MEMO_MAX:
            memo.clear()
        tier = memo[score] = _tier_of_score(score, compiled)
    return tier  # type: ignore[return-value]


def _tier_of_score(score: float, compiled: CompiledScoring) -> str | None:
    for name, low, low_incl, high, high_incl in compiled.tier_ranges:
        if (score >= low if low_incl else score > low) and (score <= high if high_incl else score < high):
            return name
    return None


def _add(card: ScoreCard, change: ScoreChange, compiled: CompiledScoring) -> None:
    card.history.append(change)
    card.score += change.points
    card.tier_from_score = tier_of_score(card.score, compiled)


# --------------------------------------------------------------------------- attributes


def _match_attribute(attr: _Attribute, value: Any) -> tuple[str, str] | None:
    """(level, what matched, for the reason) or None."""
    if attr.kind == "band":
        count = _as_count(value)
        if count is None or not attr.starts:
            return None
        i = bisect.bisect_right(attr.starts, count) - 1
        hit = attr.segments[i] if i >= 0 else None
        return (hit[0], f"{count} ({hit[1]})") if hit else None
    text = str(value)
    if attr.kind == "exact":
        hit = attr.exact.get(normalise(text.strip()))
        return (hit[0], text) if hit else None
    folded = normalise(text)
    for level, regex, written in attr.patterns:
        m = regex.search(folded)
        if m is not None:
            pattern = written[int(m.lastgroup[1:])]  # type: ignore[index]
            return level, text if folded == normalise(pattern) else f"{text} ({pattern})"
    return None


def _attribute_points(
    attr: _Attribute, value: Any, c: CompiledScoring
) -> tuple[int, str, str] | None:
    """(points, reason, rule) for one attribute value, or None when no level matches."""
    hit = _match_attribute(attr, value)
    if hit is None:
        return None
    level, shown = hit
    points = c.level_points.get(level, 0)
    return points, f"{_signed(points)} {attr.name} {level.upper()}: {shown}", f"icp.{attr.name}.{level}"


def _domain_flags(raw: str, c: CompiledScoring) -> tuple[tuple[str, str], ...]:
    """Flags an address's domain carries; `raw` is what follows the address's last ASCII @."""
    domain = email_domain(raw)
    if domain is None:
        return ()
    found = []
    if domain in c.free_mail:
        found.append(("free_mail", domain))
    if academic_rule(domain) or (c.academic_extra and domain_in(domain, c.academic_extra)):
        found.append(("academic", domain))
    if c.competitor_domains and domain_in(domain, c.competitor_domains):
        found.append(("competitor", domain))
    if c.peer_domains and domain_in(domain, c.peer_domains):
        found.append(("peer_company", domain))
    return tuple(found)


def _is_student(title: str, c: CompiledScoring) -> bool:
    return c.student is not None and c.student.search(normalise(title)) is not None


def _flags(attributes: Mapping[str, Any], c: CompiledScoring) -> dict[str, str]:
    get = attributes.get
    found: dict[str, str] = {}
    if not c.flag_set.isdisjoint(attributes):  # most leads carry no flag fields at all
        for flag in c.flag_names:
            value = get(flag)
            if value is not None and _yes(value):
                found[flag] = "flagged on the lead"
    email = get("email")
    if email:
        # Keyed by the raw text after the last @ (few distinct values, unlike whole addresses);
        # _domain_flags normalises it, full-width ＠ included.
        raw = email[email.rfind("@") + 1 :] if type(email) is str else str(email)
        memo = c.domain_memo
        hits = memo.get(raw)
        if hits is None:
            if len(memo) >= _MEMO_MAX:
                memo.clear()
            hits = memo[raw] = _domain_flags(raw, c)
        for flag, evidence in hits:
            if flag not in found:
                found[flag] = evidence
    if c.student is not None and "student" not in found:
        title = get("title")
        if title:
            memo_s = c.student_memo
            student = memo_s.get(title)
            if student is None:
                if len(memo_s) >= _MEMO_MAX:
                    memo_s.clear()
                student = memo_s[title] = _is_student(str(title), c)
            if student:
                found["student"] = f"title: {title}"
    return found


def detect_flags(attributes: Mapping[str, Any], policy: Policy | CompiledScoring) -> dict[str, str]:
    """Negative flags on a lead with their evidence: {"free_mail": "gmail.com", …}.

    Any flag may be set on the lead itself (`competitor: true`); the known ones are also found
    from the email domain (free_mail, academic, competitor, peer_company) or the title (student).
    """
    return _flags(attributes, compile_scoring(policy))


def _attribute_changes(
    attributes: Mapping[str, Any], at: datetime, c: CompiledScoring
) -> tuple[list[ScoreChange], dict[str, str], int]:
    """Attribute and negative changes, the flags found and the points they add up to."""
    # The hot path of score_lead (bench/scoring.py): lookups and the change's construction are
    # inlined on purpose.
    changes = []
    score = 0
    get = attributes.get
    for key, fallback, memo, attr in c.plan:
        value = get(key)
        if value is None or value == "":
            if fallback is None:
                continue
            value = get(fallback)
            if value is None or value == "":
                continue
        try:
            hit = memo.get(value, _MISS)
        except TypeError:  # an unhashable value (a list from JSON): match it every time
            hit = _attribute_points(attr, value, c)
        else:
            if hit is _MISS:
                if len(memo) >= _MEMO_MAX:
                    memo.clear()
                hit = memo[value] = _attribute_points(attr, value, c)
        if hit is not None:
            changes.append(_tuple_new(ScoreChange, (at, *hit)))
            score += hit[0]
    flags = _flags(attributes, c)
    if flags:
        memo = c.negative_memo
        for flag, points in c.negative_items:  # policy order, so histories read the same way
            evidence = flags.get(flag)
            if evidence is not None:
                hit = memo.get((flag, evidence))
                if hit is None:
                    if len(memo) >= _MEMO_MAX:
                        memo.clear()
                    hit = memo[flag, evidence] = (
                        points, f"{_signed(points)} {flag}: {evidence}", f"negative.{flag}"
                    )
                changes.append(_tuple_new(ScoreChange, (at, *hit)))
                score += hit[0]
    return changes, flags, score


def score_lead(
    attributes: Mapping[str, Any], at: datetime, policy: Policy | CompiledScoring
) -> ScoreCard:
    """A new lead's card: ICP attribute points and negative attributes, stamped `at`."""
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware (instants are UTC, DESIGN principle 3)")
    c = policy if type(policy) is CompiledScoring else compile_scoring(policy)
    changes, flags, score = _attribute_changes(attributes, at, c)
    return ScoreCard(score, changes, tier_of_score(score, c), flags)


def update_attributes(
    card: ScoreCard, attributes: Mapping[str, Any], at: datetime, policy: Policy | CompiledScoring
) -> list[ScoreChange]:
    """Re-score attributes after lead.updated: only the differences are added, each with its reason.

    `attributes` is the lead's full, current set (not only what changed).
    """
    c = compile_scoring(policy)
    fresh, flags, _ = _attribute_changes(attributes, at, c)
    current: dict[str, int] = {}
    for ch in card.history:
        if ch.rule.startswith(("icp.", "negative.")):
            current[ch.rule] = current.get(ch.rule, 0) + ch.points
    wanted = {ch.rule: ch for ch in fresh}
    added = []
    for rule in [*wanted, *(r for r in current if r not in wanted)]:
        delta = (wanted[rule].points if rule in wanted else 0) - current.get(rule, 0)
        if delta == 0:
            continue
        if rule in wanted:
            reason = f"{_signed(delta)} {wanted[rule].reason.split(' ', 1)[1]}"
        else:
            what = rule.split(".", 1)[1].replace(".", " ")
            parts = what.split(" ")
            if rule.startswith("icp.") and len(parts) == 2:
                what = f"{parts[0]} {parts[1].upper()}"
            reason = f"{_signed(delta)} {what}: no longer applies"
        change = ScoreChange(at, delta, reason, rule)
        _add(card, change, c)
        added.append(change)
    card.flags = flags
    return added


# --------------------------------------------------------------------------- behaviour


def apply_unsubscribe(card: ScoreCard, at: datetime, policy: Policy | CompiledScoring) -> ScoreChange:
    """The unsubscribe penalty (003: 配信停止 −50); recorded even when the policy sets none."""
    c = compile_scoring(policy)
    change = _change(at, c.unsubscribe, f"{_signed(c.unsubscribe)} unsubscribe", "unsubscribe")
    _add(card, change, c)
    return change


def apply_engagement(
    card: ScoreCard, action: str, at: datetime, policy: Policy | CompiledScoring
) -> list[ScoreChange]:
    """Behaviour points for one engagement action; actions without points change nothing.

    "unsubscribe" takes the unsubscribe penalty unless the policy scores it as a behaviour.
    """
    c = policy if type(policy) is CompiledScoring else compile_scoring(policy)
    points = c.behaviour.get(action)
    if points is None:
        if action == "unsubscribe":
            return [apply_unsubscribe(card, at, c)]
        return []
    change = _change(at, points, f"{_signed(points)} {action}", f"behaviour.{action}")
    _add(card, change, c)
    return [change]


def apply_decay(
    card: ScoreCard, last_engagement: datetime, now: datetime, policy: Policy | CompiledScoring
) -> list[ScoreChange]:
    """Decay points for each full decay period without engagement since `last_engagement`.

    Each period's step is stamped at the instant it completed (last_engagement + k × period; the
    reason says how long: "-10 decay: no engagement for 60d") and a step already in the history is
    not taken again, so calling with the same (or an earlier) `now` changes nothing. Decay is never
    given back: a later engagement only restarts the count.
    """
    c = compile_scoring(policy)
    if not c.decay_seconds or not c.decay_points or now <= last_engagement:
        return []
    period = c.decay_period
    periods = (now - last_engagement) // period
    if periods <= 0:
        return []
    done = {ch.at for ch in card.history if ch.rule == "decay"}
    added = []
    reasons = c.decay_reasons
    step = last_engagement
    for k in range(1, periods + 1):
        step += period  # the instant the k-th full period without engagement ended
        if step in done:
            continue
        reason = reasons.get(k)
        if reason is None:
            reason = reasons[k] = (
                f"{c.decay_prefix}{k * c.decay_days:g}d" if c.decay_days
                else f"{c.decay_prefix}{k} × {c.decay_label}"
            )
        change = _change(step, c.decay_points, reason, "decay")
        card.history.append(change)
        card.score += change.points
        added.append(change)
    card.tier_from_score = tier_of_score(card.score, c)
    return added
