"""The router (F8, F9, F17, F27): pure functions of (state, lead, time, policy).

No clock reads and no I/O: `at` is always an argument, and the only thing changed is the
`RouterState` passed in (counters of the chosen rep, rotations, the after-hours queue).

Per decision: the lead's tested fields are normalised once, the rules whose text conditions hold
are found with one bit mask per field, and they are tried in order (first match wins). The
matching rule's strategy examines its members lazily, in the strategy's own order, and stops at
the first eligible rep: round robin walks the rotation from the last rep served; load-balanced
and weighted rules keep their members in a heap (`RankedPool`). Reps found ineligible are listed
in the decision with the reason.

Availability is decided per rep in this order, and the first reason found is the one reported:
excluded (reassignment), time off, status (offline / away), off shift (the rep's working hours
in the rep's zone), then caps (open leads, leads today, leads this week; local day and week).
"""

from __future__ import annotations

import heapq
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from leadclock.policy import Policy
from leadclock.routing.compiled import (
    CompiledRep,
    CompiledRouting,
    CompiledRule,
    compile_routing,
    derive_tier,
    in_range,
    normalise_lead,
)
from leadclock.routing.decision import (
    AT_DAILY_CAP,
    AT_MAX_OPEN,
    AT_WEEKLY_CAP,
    CHOSEN,
    CURRENT_OWNER,
    ELIGIBLE,
    FALLBACK_ANYWAY,
    NO_OWNER,
    NOT_IN_POOL,
    OFF_SHIFT,
    OVERFLOWED,
    RECENT_OWNER,
    TIME_OFF,
    Candidate,
    Decision,
)
from leadclock.routing.state import STATUSES, QueuedLead, RankedPool, RepState, RouterState

PolicyLike = Policy | CompiledRouting
AFTER_HOURS_QUEUE = "after_hours"
NO_TEAM = "(no team)"

_tuple_new = tuple.__new__


def _cand(rep: str, eligible: bool, reason: str) -> Candidate:
    # Candidate(...) goes through NamedTuple's Python-level __new__; this is the same object,
    # built at about half the cost (it is made for every rep a decision looks at).
    return _tuple_new(Candidate, (rep, eligible, reason))


_NEVER = datetime.max.replace(tzinfo=UTC)  # a calendar without hours never opens
_EPS = 1e-9  # virtual times are sums of 1/weight: equal in exact arithmetic, not always in floats

Tie = tuple[str, str]  # tie-break text (en, ja)
Outcome = tuple[str | None, list[Candidate], Tie]  # chosen rep, candidates examined, tie-break
Entry = tuple[float, int, str]  # a RankedPool heap entry: (key, tie, rep)


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError(f"`at` must be timezone-aware, got {at!r}")
    return at


# --------------------------------------------------------------------------- availability


def _why_not(
    state: RouterState, at: datetime, crep: CompiledRep, rs: RepState,
    exclude: Mapping[str, str] | None,
) -> str | None:
    """None when the rep can take a lead at `at`, else the reason they cannot."""
    if exclude and crep.id in exclude:
        return exclude[crep.id]
    is_open, day, week = crep.clock.at(at)
    if rs.seen_day != day:
        # Leave that fell between two looks at this rep (nobody routed to them meanwhile) still
        # makes them a returning rep.
        if crep.time_off_sorted and rs.seen_day:
            i = bisect_right(crep.time_off_sorted, rs.seen_day)
            if i < len(crep.time_off_sorted) and crep.time_off_sorted[i] < day:
                rs.rejoining = True
        rs.seen_day = day
    if day in crep.time_off:
        rs.rejoining = True
        return TIME_OFF
    if rs.status != "online":
        return rs.status  # "offline" or "away"
    if not is_open:
        return OFF_SHIFT
    if rs.open_leads >= crep.max_open:
        return AT_MAX_OPEN
    if rs.day == day and rs.today >= crep.per_day:
        return AT_DAILY_CAP
    if rs.week == week and rs.this_week >= crep.per_week:
        return AT_WEEKLY_CAP
    return None


def _commit(state: RouterState, at: datetime, crep: CompiledRep, rs: RepState) -> None:
    """Count a lead given to the rep (caps are per local day / week of the rep).

    Load-balanced pools are not told: a heap entry below the rep's new load is moved to its
    place when it reaches the top (see _scan).
    """
    _, day, week = crep.clock.at(at)
    if rs.day != day:
        rs.day, rs.today = day, 0
    if rs.week != week:
        rs.week, rs.this_week = week, 0
    rs.today += 1
    rs.this_week += 1
    rs.open_leads += 1
    rs.assigned_total += 1
    rs.last_assigned_seq = state.seq
    state.assigned += 1


# --------------------------------------------------------------------------- round robin


def _round_robin(
    state: RouterState, at: datetime, c: CompiledRouting, rule: CompiledRule,
    exclude: Mapping[str, str] | None,
) -> Outcome:
    members = rule.members
    n = len(members)
    cursor = state.cursors.get(rule.name)
    # The cursor is the last rep served, not an index: if they left the pool, bisect still finds
    # their place, so the rotation goes on with whoever came after them. A rep back from leave
    # simply is in the rotation again: one turn per round, no catch-up.
    start = bisect_right(members, cursor) if cursor is not None else 0
    candidates: list[Candidate] = []
    reps = c.reps
    for k in range(n):
        rep_id = members[(start + k) % n]
        why = _why_not(state, at, reps[rep_id], state.rep(rep_id), exclude)
        if why is None:
            candidates.append(_cand(rep_id, True, CHOSEN))
            state.cursors[rule.name] = rep_id
            if cursor is None:
                tie = ("round robin: first in rotation order (rep ids sorted)",
                       "ラウンドロビン: ローテーション順（担当者ID順）の先頭")
            elif cursor in rule.member_set:
                tie = (f"round robin: next after {cursor} in rotation order",
                       f"ラウンドロビン: ローテーション順で {cursor} の次")
            else:
                tie = (f"round robin: next after the place of {cursor}, who left the pool",
                       f"ラウンドロビン: プールを外れた {cursor} の位置の次")
            return rep_id, candidates, tie
        candidates.append(_cand(rep_id, False, why))
    return None, candidates, ("", "")


# --------------------------------------------------------------------------- ranked pools
# Load-balanced and weighted rules keep their members in a heap (RankedPool) and examine them
# from the top until one is eligible, so a decision costs about the same for 10 or 500 members.
#
# Heap invariant: every member that is not parked has an entry whose key is at most its current
# key. A load that grows (a lead given) needs no push: the old, lower entry moves to the new key
# when it reaches the top. A load that shrinks (a lead closed) pushes the new key. Entries above
# a rep's current key are left-overs and are dropped when popped.


def _sync(state: RouterState, c: CompiledRouting) -> None:
    """Align the state with the compiled policy's roster (once per policy version)."""
    if state.version == c.version:
        return
    for rep_id in c.reps:
        if rep_id not in state.reps:
            # New to the roster after routing began: no catch-up flood for them either.
            state.reps[rep_id] = RepState(rejoining=state.assigned > 0)
    ranked_of: dict[str, list[tuple[str, bool]]] = {}
    for rule in c.rules:
        if rule.strategy in ("load_balanced", "weighted"):
            for rep_id in rule.members:
                ranked_of.setdefault(rep_id, []).append(
                    (rule.name, rule.strategy == "load_balanced")
                )
    state.ranked_of = ranked_of
    # Pools of rules that are gone (or changed strategy) would only hold stale heaps; a rule's
    # round-robin cursor is kept, so a rule that comes back continues its rotation.
    ranked_names = {r.name for r in c.rules if r.strategy in ("load_balanced", "weighted")}
    state.ranked = {name: pool for name, pool in state.ranked.items() if name in ranked_names}
    state.version = c.version


def _lb_key(state: RouterState, rep_id: str) -> Entry:
    rs = state.rep(rep_id)
    return (rs.open_leads, rs.last_assigned_seq, rep_id)


def _ranked_pool(state: RouterState, c: CompiledRouting, rule: CompiledRule) -> RankedPool:
    lb = rule.strategy == "load_balanced"
    pool = state.ranked.get(rule.name)
    if pool is not None and pool.version == c.version:
        if len(pool.heap) + len(pool.pending) > rule.heap_limit:
            _fill(state, rule, pool, lb)  # too many left-over entries: rebuild from the keys
        return pool
    fresh = RankedPool(version=c.version)
    if not lb:
        # A rotation survives a roster change: members keep their place in virtual time; a new
        # member starts at the present.
        fresh.vtime = pool.vtime if pool is not None else 0.0
        fresh.weights = dict(rule.weight_of)
        old = pool.starts if pool is not None else {}
        for rep_id in rule.members:
            _set_start(fresh, rep_id, max(old.get(rep_id, fresh.vtime), fresh.vtime))
    _fill(state, rule, fresh, lb)
    state.ranked[rule.name] = fresh
    return fresh


def _fill(state: RouterState, rule: CompiledRule, pool: RankedPool, lb: bool) -> None:
    """Heaps from the current keys of the members that are not parked."""
    free = [r for r in rule.members if r not in pool.parked_until and r not in pool.waiting]
    if lb:
        pool.heap = [_lb_key(state, r) for r in free]
    else:
        pool.active_weight = sum(pool.weights[r] for r in free)
        due = pool.vtime + _EPS
        pool.heap = [(pool.finishes[r], 0, r) for r in free if pool.starts[r] <= due]
        pool.pending = [(pool.starts[r], 0, r) for r in free if pool.starts[r] > due]
        heapq.heapify(pool.pending)
    heapq.heapify(pool.heap)


def _set_start(pool: RankedPool, rep_id: str, start: float) -> None:
    pool.starts[rep_id] = start
    pool.finishes[rep_id] = start + 1.0 / pool.weights[rep_id]


def _push_weighted(pool: RankedPool, rep_id: str) -> None:
    start = pool.starts[rep_id]
    if start <= pool.vtime + _EPS:
        heapq.heappush(pool.heap, (pool.finishes[rep_id], 0, rep_id))
    else:
        heapq.heappush(pool.pending, (start, 0, rep_id))


def _unpark(state: RouterState, pool: RankedPool, rep_id: str, lb: bool) -> None:
    if rep_id not in pool.parked_until and rep_id not in pool.waiting:
        return
    pool.parked_until.pop(rep_id, None)
    pool.waiting.discard(rep_id)
    if lb:
        heapq.heappush(pool.heap, _lb_key(state, rep_id))
    elif rep_id in pool.starts:
        # No banking: turns missed while away are not made up; the rep starts again no earlier
        # than the present (WF2Q+ does the same for a flow that becomes active again).
        pool.active_weight += pool.weights[rep_id]
        _set_start(pool, rep_id, max(pool.starts[rep_id], pool.vtime))
        _push_weighted(pool, rep_id)


def _wake(state: RouterState, pool: RankedPool, at: datetime, lb: bool) -> None:
    if pool.last_at is not None and at < pool.last_at:
        # Asked about an earlier moment than before: what was parked by time may be free then.
        for rep_id in list(pool.parked_until):
            _unpark(state, pool, rep_id, lb)
        pool.parked = []
    pool.last_at = at
    parked = pool.parked
    while parked and parked[0][0] <= at:
        wake, rep_id = heapq.heappop(parked)
        if pool.parked_until.get(rep_id) == wake:
            _unpark(state, pool, rep_id, lb)


def _next_local_midnight(at: datetime, zone: ZoneInfo, days: int) -> datetime:
    local = at.astimezone(zone).date() + timedelta(days=days)
    return datetime(local.year, local.month, local.day, tzinfo=zone).astimezone(UTC)


def _park(pool: RankedPool, at: datetime, crep: CompiledRep, why: str) -> None:
    """Keep an ineligible rep out of the heap until the reason can have changed."""
    if crep.id in pool.weights:
        pool.active_weight -= pool.weights[crep.id]
    clock = crep.clock
    if why == OFF_SHIFT:
        wake = clock.calendar.next_opening(at) if clock.has_hours else _NEVER
    elif why in (TIME_OFF, AT_DAILY_CAP):
        wake = _next_local_midnight(at, clock.zone, 1)
    elif why == AT_WEEKLY_CAP:
        wake = _next_local_midnight(at, clock.zone, 7 - at.astimezone(clock.zone).weekday())
    else:  # offline, away, at max open leads: until set_status or release says otherwise
        pool.waiting.add(crep.id)
        return
    pool.parked_until[crep.id] = wake
    heapq.heappush(pool.parked, (wake, crep.id))


def _scan(
    state: RouterState, at: datetime, c: CompiledRouting, rule: CompiledRule, pool: RankedPool,
    heap: list[Entry], keys: dict[str, float] | None, exclude: Mapping[str, str] | None,
    candidates: list[Candidate], held: list[tuple[list[Entry], Entry]], seen: set[str],
) -> tuple[Entry, RepState] | None:
    """Pop `heap` to the next eligible member (its entry goes to `held`, to be pushed back).

    `keys` holds each rep's current key (weighted); None means load-balanced, whose key is the
    rep's (open leads, last assigned). Ineligible members on the way are listed in `candidates`
    and parked (reassignment exclusions are only held: they hold for this decision alone).
    """
    reps = state.reps
    member_set = rule.member_set
    parked = pool.parked_until
    waiting = pool.waiting
    while heap:
        entry = heapq.heappop(heap)
        key, tie, rep_id = entry
        if rep_id in seen or rep_id in parked or rep_id in waiting or rep_id not in member_set:
            continue
        rs = reps[rep_id]  # every rep of the roster has a state (_sync)
        if keys is None:
            if key != rs.open_leads or tie != rs.last_assigned_seq:
                if (key, tie) < (rs.open_leads, rs.last_assigned_seq):
                    heapq.heappush(heap, (rs.open_leads, rs.last_assigned_seq, rep_id))
                continue
        elif key != keys.get(rep_id):
            continue
        seen.add(rep_id)
        crep = c.reps[rep_id]
        why = _why_not(state, at, crep, rs, exclude)
        if why is None:
            held.append((heap, entry))
            return entry, rs
        candidates.append(_cand(rep_id, False, why))
        if exclude and rep_id in exclude:
            held.append((heap, entry))
        else:
            _park(pool, at, crep, why)
    return None


def _weighted(
    state: RouterState, at: datetime, c: CompiledRouting, rule: CompiledRule,
    exclude: Mapping[str, str] | None,
) -> Outcome:
    # Weighted round robin as WF2Q+ (worst-case fair weighted fair queueing): each rep's turn
    # has a start and a finish in virtual time (finish = start + 1/weight); among reps whose
    # turn has started, the earliest finish goes first, ties in rotation order; virtual time
    # advances by 1/(sum of weights) per lead. Every rep stays within one lead of its exact
    # share at all times, like nginx's smooth weighted round robin, but a decision does not
    # need every member's availability: both heaps are examined from the top, lazily.
    pool = _ranked_pool(state, c, rule)
    _wake(state, pool, at, False)
    ready, pending, starts = pool.heap, pool.pending, pool.starts
    due = pool.vtime + _EPS
    while pending and pending[0][0] <= due:
        start, _, rep_id = heapq.heappop(pending)
        if starts.get(rep_id) == start:
            heapq.heappush(ready, (pool.finishes[rep_id], 0, rep_id))
    candidates: list[Candidate] = []
    held: list[tuple[list[Entry], Entry]] = []
    seen: set[str] = set()
    found = _scan(state, at, c, rule, pool, ready, pool.finishes, exclude, candidates, held, seen)
    if found is None:
        # Nobody whose turn has come can take it (away, at a cap): the earliest start among the
        # others goes, and virtual time jumps to it (the WF2Q+ rule for an idle system).
        found = _scan(state, at, c, rule, pool, pending, starts, exclude, candidates, held, seen)
    for heap, entry in held:
        if found is None or entry is not found[0]:
            heapq.heappush(heap, entry)
    if found is None:
        return None, candidates, ("", "")
    chosen = found[0][2]
    start = starts[chosen]
    finish = pool.finishes[chosen]
    # Virtual time runs at the pace of the reps taking part (weights of those not parked), so a
    # rep coming back starts level with the others, not behind them with turns to make up.
    vtime = pool.vtime = max(pool.vtime, start) + 1.0 / (pool.active_weight or rule.weight_total)
    starts[chosen] = finish
    later = pool.finishes[chosen] = finish + 1.0 / rule.weight_of[chosen]
    if finish <= vtime + _EPS:
        heapq.heappush(ready, (later, 0, chosen))
    else:
        heapq.heappush(pending, (finish, 0, chosen))
    candidates.append(_cand(chosen, True, CHOSEN))
    return chosen, candidates, rule.weighted_tie[chosen]


def _load_balanced(
    state: RouterState, at: datetime, c: CompiledRouting, rule: CompiledRule,
    exclude: Mapping[str, str] | None,
) -> Outcome:
    pool = _ranked_pool(state, c, rule)
    _wake(state, pool, at, True)
    candidates: list[Candidate] = []
    held: list[tuple[list[Entry], Entry]] = []
    seen: set[str] = set()
    winner: Entry | None = None
    rejoiners: list[tuple[Entry, RepState]] = []
    while True:
        found = _scan(state, at, c, rule, pool, pool.heap, None, exclude, candidates, held, seen)
        if found is None:
            break
        if found[1].rejoining:
            rejoiners.append(found)
            continue
        winner = found[0]
        break
    # A rep back from leave has an empty desk; counted at their own load they would take every
    # lead until level with the others. Count them at the lightest settled peer's load (the
    # first settled eligible rep in load order) instead, so they get the normal share from now
    # on; once level, they are ordinary again. Rejoining reps heavier than that peer rank
    # behind it anyway and are not examined.
    floor = winner[0] if winner is not None else None
    best = winner
    lifted = False
    for entry, rs in rejoiners:
        if floor is None or entry[0] >= floor:
            rs.rejoining = False
            key = entry
        else:
            key = (floor, entry[1], entry[2])
        if best is None or key < best:
            best, lifted = key, key is not entry
    for heap, entry in held:
        heapq.heappush(heap, entry)  # the chosen rep's entry too: it moves up lazily
    if best is None:
        return None, candidates, ("", "")
    chosen = best[2]
    for entry, _ in rejoiners:
        if entry[2] != chosen:
            candidates.append(_cand(entry[2], True, ELIGIBLE))
    if winner is not None and winner[2] != chosen:
        candidates.append(_cand(winner[2], True, ELIGIBLE))
    candidates.append(_cand(chosen, True, CHOSEN))
    load = int(best[0])
    en = f"load balanced: fewest open leads ({load}); ties go to the least recently assigned"
    ja = f"負荷分散: 未完了リードが最少（{load}件）。同数なら最も前に割り当てられた担当者"
    if lifted:
        en += f"; {chosen} is back from leave and counted at the lightest peer's load"
        ja += f"。{chosen} は休み明けのため最も軽い担当者と同じ件数で比較"
    return chosen, candidates, (en, ja)


def _on_load_down(state: RouterState, rep_id: str) -> None:
    """The rep has one open lead fewer: load-balanced pools get the lower key."""
    for name, lb in state.ranked_of.get(rep_id, ()):
        pool = state.ranked.get(name)
        if pool is None:
            continue
        if rep_id in pool.waiting:
            _unpark(state, pool, rep_id, lb)  # e.g. below max open leads again
        elif lb and rep_id not in pool.parked_until:
            heapq.heappush(pool.heap, _lb_key(state, rep_id))


# --------------------------------------------------------------------------- other strategies


def _account_owner(
    state: RouterState, at: datetime, c: CompiledRouting, rule: CompiledRule,
    exclude: Mapping[str, str] | None, norm: Mapping[str, Any],
) -> Outcome | None:
    """None when the lead's account has no owner: the rule does not apply, the next one tries."""
    account = norm.get("account")
    owner = c.account_owner.get(account) if account is not None else None
    if owner is None:
        return None
    if rule.member_set and owner not in rule.member_set:
        return None, [_cand(owner, False, NOT_IN_POOL)], ("", "")
    why = _why_not(state, at, c.reps[owner], state.rep(owner), exclude)
    if why is not None:
        return None, [_cand(owner, False, why)], ("", "")
    return owner, [_cand(owner, True, CHOSEN)], (
        f"account owner of {account}", f"アカウント {account} の担当者"
    )


def _single_contact(
    state: RouterState, at: datetime, c: CompiledRouting, rule: CompiledRule,
    exclude: Mapping[str, str] | None,
) -> Outcome:
    rep_id = rule.rep
    assert rep_id is not None  # check_routing requires it
    why = _why_not(state, at, c.reps[rep_id], state.rep(rep_id), exclude)
    if why is not None:
        return None, [_cand(rep_id, False, why)], ("", "")
    return rep_id, [_cand(rep_id, True, CHOSEN)], (
        "single point of contact: every lead of this rule goes to one dispatcher",
        "単一窓口: このルールのリードはすべて1人の担当者へ",
    )


_STRATEGIES: dict[str, Callable[..., Outcome]] = {
    "round_robin": _round_robin,
    "weighted": _weighted,
    "load_balanced": _load_balanced,
    "single_contact": _single_contact,
}


# --------------------------------------------------------------------------- rules


def _text_matches(c: CompiledRouting, norm: Mapping[str, Any]) -> int:
    """Bits of the rules whose text conditions the lead meets."""
    mask = c.all_rules
    for name, by_value, without in c.text_index:
        value = norm[name]
        mask &= without if value is None else by_value.get(value, without)
        if not mask:
            break
    return mask


def _other_matches(rule: CompiledRule, norm: Mapping[str, Any], c: CompiledRouting) -> bool:
    """The number ranges and account_known of a rule whose text conditions hold."""
    for name, ranges in rule.range_tests:
        number = norm.get(name)
        if number is None or not any(in_range(number, r) for r in ranges):
            return False
    if rule.account_known is not None:
        account = norm.get("account")
        if (account is not None and account in c.account_owner) != rule.account_known:
            return False
    return True


class _Placement(NamedTuple):
    rule: CompiledRule | None  # the rule that placed the lead, or the last that matched
    rep: str | None
    candidates: list[Candidate]
    tie: Tie
    tried: list[tuple[str, str]]


def _place(
    state: RouterState, at: datetime, c: CompiledRouting, norm: Mapping[str, Any],
    exclude: Mapping[str, str] | None,
) -> _Placement:
    """Try the rules in order; the first that matches and finds an eligible rep wins."""
    tried: list[tuple[str, str]] = []
    candidates: list[Candidate] = []
    last: CompiledRule | None = None
    mask = _text_matches(c, norm)
    rules = c.rules
    while mask:
        low = mask & -mask
        mask ^= low
        rule = rules[low.bit_length() - 1]
        if (rule.range_tests or rule.account_known is not None) and not _other_matches(
            rule, norm, c
        ):
            continue
        outcome: Outcome | None
        if rule.strategy == "account_owner":
            outcome = _account_owner(state, at, c, rule, exclude, norm)
            if outcome is None:
                tried.append((rule.name, NO_OWNER))
                continue
        else:
            outcome = _STRATEGIES[rule.strategy](state, at, c, rule, exclude)
        rep, found, tie = outcome
        candidates.extend(found)
        last = rule
        if rep is not None:
            return _Placement(rule, rep, candidates, tie, tried)
        if rule.overflow != "next":
            break
        tried.append((rule.name, OVERFLOWED))
    return _Placement(last, None, candidates, ("", ""), tried)


# --------------------------------------------------------------------------- decisions


def _lead_id(lead: Mapping[str, Any]) -> str:
    value = lead.get("id")
    if value is None:
        value = lead.get("lead")
    return value if type(value) is str else "" if value is None else str(value)


def _fallback(
    state: RouterState, at: datetime, c: CompiledRouting, lead_id: str, placement: _Placement,
    kind: str, previous_owner: str | None, team: str | None, queued_at: datetime | None,
) -> Decision:
    """No rule could place the lead: the fallback owner or queue takes it, and an alert fires."""
    rule = placement.rule
    if rule is None:
        reason_en = "no routing rule matched the lead"
        reason_ja = "どのルーティングルールにも一致しない"
    else:
        reason_en = f"nobody eligible under rule {rule.name!r}"
        reason_ja = f"ルール「{rule.name}」に対象の担当者がいない"
    candidates = list(placement.candidates)
    rep = c.fallback_rep
    if rep is not None:
        crep = c.reps[rep]
        rs = state.rep(rep)
        why = _why_not(state, at, crep, rs, None)
        _commit(state, at, crep, rs)
        candidates.append(_cand(rep, True, CHOSEN if why is None else FALLBACK_ANYWAY))
        en = f"fallback owner {rep}" + (f" (assigned although {why})" if why else "")
        ja = f"フォールバック担当者 {rep}" + (f"（{why} だが割り当て）" if why else "")
        alert = (f"{reason_en}: lead {lead_id} assigned to the fallback owner {rep}",
                 f"{reason_ja}: リード {lead_id} をフォールバック担当者 {rep} に割り当て")
        team = team if kind == "reassign" else crep.team
    else:
        en = f"fallback queue {c.fallback_queue} for manual routing"
        ja = f"手動ルーティング用のフォールバックキュー {c.fallback_queue}"
        alert = (f"{reason_en}: lead {lead_id} waits in queue {c.fallback_queue} for manual routing",
                 f"{reason_ja}: リード {lead_id} は手動ルーティング用キュー {c.fallback_queue} で待機")
        team = team if kind == "reassign" else None
    return Decision(
        lead_id, at, rep, None if rep is not None else c.fallback_queue,
        rule.name if rule else None, "fallback", candidates, en, alert[0],
        kind=kind,  # type: ignore[arg-type]
        team=team, previous_owner=previous_owner, queued_at=queued_at,
        tried=placement.tried, policy_version=c.version,
        ja={"tie_break": ja, "alert": alert[1]},
    )


def _assign(
    state: RouterState, at: datetime, c: CompiledRouting, lead: Mapping[str, Any],
    queued_at: datetime | None = None,
) -> Decision:
    lead_id = _lead_id(lead)
    placement = _place(state, at, c, normalise_lead(c, lead), None)
    rule = placement.rule
    if placement.rep is None or rule is None:
        return _fallback(state, at, c, lead_id, placement, "assign", None, None, queued_at)
    crep = c.reps[placement.rep]
    _commit(state, at, crep, state.rep(placement.rep))
    return Decision(
        lead_id, at, placement.rep, None, rule.name, rule.strategy, placement.candidates,
        placement.tie[0], team=crep.team, queued_at=queued_at, tried=placement.tried,
        policy_version=c.version, ja={"tie_break": placement.tie[1]},
    )


def _enqueue(
    state: RouterState, at: datetime, c: CompiledRouting, lead: Mapping[str, Any],
    exclude: dict[str, str] | None = None, previous_owner: str | None = None,
) -> Decision:
    state.queue.append(QueuedLead(state.seq, dict(lead), at, dict(exclude or {}), previous_owner))
    previous = c.reps.get(previous_owner) if previous_owner else None
    return Decision(
        _lead_id(lead), at, None, AFTER_HOURS_QUEUE, None, "after_hours", [],
        "arrived outside business hours: waits for the next opening, assigned then in queue order",
        kind="queue", team=previous.team if previous else None, previous_owner=previous_owner,
        wait_until=c.after_hours_clock.calendar.next_opening(at), policy_version=c.version,
        ja={"tie_break": "営業時間外の到着: 次の始業時に待ち順で割り当て"},
    )


def _closed(at: datetime, c: CompiledRouting) -> bool:
    return c.after_hours_queue and not c.after_hours_clock.at(at)[0]


def route(
    state: RouterState, lead: Mapping[str, Any], at: datetime, policy: PolicyLike
) -> Decision:
    """Place a new lead at `at` (F8), or queue it when it arrives after hours (F9).

    `lead` holds the `lead.created` fields (id, source, tier, score, country, industry,
    employees, account, team, ... and custom fields at the top level or under `attributes`).
    A lead without `tier` gets the stricter of its score tier and its source's priority.
    Mutates `state`: the chosen rep's counters and the rule's rotation, or the queue.
    """
    c = policy if type(policy) is CompiledRouting else compile_routing(policy)
    if state.version != c.version:
        _sync(state, c)
    if at.tzinfo is None:
        _aware(at)
    state.seq += 1
    if c.after_hours_queue and not c.after_hours_clock.at(at)[0]:
        return _enqueue(state, at, c, lead)
    return _assign(state, at, c, lead)


def release(state: RouterState, rep: str, at: datetime) -> None:
    """A lead of `rep` closed or was taken away: one open lead fewer (never below zero).

    Daily and weekly counts are of leads received, so they do not go down.
    """
    rs = state.reps.get(rep)
    if rs is not None and rs.open_leads > 0:
        rs.open_leads -= 1
        _on_load_down(state, rep)


def set_status(state: RouterState, rep: str, status: str, at: datetime) -> None:
    """Record a `rep.availability` event: online, offline or away."""
    if status not in STATUSES:
        raise ValueError(f"unknown rep status {status!r}; expected one of {sorted(STATUSES)}")
    rs = state.rep(rep)
    if rs.status == "offline" and status == "online":
        rs.rejoining = True  # back from leave: no catch-up flood (see _load_balanced)
    rs.status = status
    rs.status_since = at
    for name, lb in state.ranked_of.get(rep, ()):
        pool = state.ranked.get(name)
        if pool is not None and rep in pool.waiting:
            _unpark(state, pool, rep, lb)


def next_queue_flush(state: RouterState, at: datetime, policy: PolicyLike) -> datetime | None:
    """When `open_queue` should run next: the after-hours calendar's next opening, if any wait."""
    if not state.queue:
        return None
    c = compile_routing(policy)
    if not c.after_hours_queue:
        return at
    return c.after_hours_clock.calendar.next_opening(_aware(at))


def _hotness(c: CompiledRouting, entry: QueuedLead) -> tuple[int, float, int]:
    lead = entry.lead
    tier = lead.get("tier")
    name = str(tier).casefold() if tier is not None else derive_tier(c, lead)
    rank = c.tier_rank.get(name, len(c.tier_rank)) if name is not None else len(c.tier_rank)
    try:
        score = -float(lead.get("score"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        score = float("inf")
    return (rank, score, entry.seq)


def open_queue(state: RouterState, at: datetime, policy: PolicyLike) -> list[Decision]:
    """At an opening, assign every queued lead at `at` in arrival order (or hottest first).

    Hottest first: tier order of the policy, then higher score, then arrival. Their clocks
    start at `at` (each Decision's `at`; `queued_at` keeps the arrival). Returns [] while the
    after-hours calendar is still closed.
    """
    c = compile_routing(policy)
    _sync(state, c)
    _aware(at)
    if not state.queue or _closed(at, c):
        return []
    entries = list(state.queue)
    if c.after_hours_order == "hottest_first":
        entries.sort(key=lambda e: _hotness(c, e))
    else:
        entries.sort(key=lambda e: e.seq)
    state.queue = []
    decisions = []
    for entry in entries:
        state.seq += 1
        if entry.previous_owner is not None:
            decisions.append(
                _reassign(state, at, c, entry.lead, entry.previous_owner, entry.exclude, False,
                          queued_at=entry.arrived_at)
            )
        else:
            decisions.append(_assign(state, at, c, entry.lead, queued_at=entry.arrived_at))
    return decisions


def reassign(
    state: RouterState, lead: Mapping[str, Any], current_owner: str,
    recent_owners: Sequence[str], at: datetime, policy: PolicyLike, *, manual: bool = False,
) -> Decision:
    """F17: a breach says the lead moves. Pick the next eligible rep by the same rules.

    Excluded: the current owner and the last `reassignment.exclude_recent` of `recent_owners`
    (oldest first, as in the lead's assignment history). Nobody eligible, or `manual=True` (the
    escalation step says manager_queue): the current owner's manager's queue for manual routing,
    the manager, or the routing fallback, as `reassignment.fallback` says. The current owner's
    open count goes down here (do not also call `release` for this lead). After hours, the lead
    waits for the opening like a new lead, with the same exclusions.
    """
    c = compile_routing(policy)
    _sync(state, c)
    _aware(at)
    state.seq += 1
    release(state, current_owner, at)
    exclude = {current_owner: CURRENT_OWNER}
    if c.exclude_recent:
        for rep in list(recent_owners)[-c.exclude_recent:]:
            exclude.setdefault(rep, RECENT_OWNER)
    if not manual and _closed(at, c):
        return _enqueue(state, at, c, lead, exclude, current_owner)
    return _reassign(state, at, c, lead, current_owner, exclude, manual)


def _reassign(
    state: RouterState, at: datetime, c: CompiledRouting, lead: Mapping[str, Any],
    current_owner: str, exclude: Mapping[str, str], manual: bool,
    queued_at: datetime | None = None,
) -> Decision:
    lead_id = _lead_id(lead)
    owner = c.reps.get(current_owner)
    team = owner.team if owner else None
    placement = _Placement(None, None, [], ("", ""), [])
    if not manual:
        placement = _place(state, at, c, normalise_lead(c, lead), exclude)
        if placement.rep is not None and placement.rule is not None:
            crep = c.reps[placement.rep]
            _commit(state, at, crep, state.rep(placement.rep))
            return Decision(
                lead_id, at, placement.rep, None, placement.rule.name,
                placement.rule.strategy, placement.candidates, placement.tie[0], kind="reassign",
                team=team, previous_owner=current_owner, queued_at=queued_at,
                tried=placement.tried, policy_version=c.version,
                ja={"tie_break": placement.tie[1]},
            )
    manager = owner.manager if owner else None
    mode = "manager_queue" if manual else c.reassign_fallback
    if manager is None or mode == "fallback":
        return _fallback(state, at, c, lead_id, placement, "reassign", current_owner, team,
                         queued_at)
    why_en = "the escalation routes it by hand" if manual else "nobody else eligible"
    why_ja = "エスカレーションにより手動ルーティング" if manual else "他に対象の担当者がいない"
    rep: str | None = None
    queue: str | None = f"manager:{manager}"
    candidates = list(placement.candidates)
    if mode == "manager":
        crep = c.reps[manager]
        _commit(state, at, crep, state.rep(manager))
        rep, queue = manager, None
        candidates.append(_cand(manager, True, CHOSEN))
    action_en = "routes it by hand" if queue else "takes it"
    action_ja = "手動でルーティング" if queue else "担当"
    ja = {"tie_break": f"{why_ja}: {current_owner} のマネージャー {manager} へ"}
    alert: str | None = None
    if not manual:  # a manual escalation already told the manager; this one is a surprise
        alert = (f"reassignment of lead {lead_id}: {why_en}; {manager} (manager of "
                 f"{current_owner}) {action_en}")
        ja["alert"] = (f"リード {lead_id} の再割り当て: {why_ja}。{current_owner} のマネージャー "
                       f"{manager} が{action_ja}")
    return Decision(
        lead_id, at, rep, queue, placement.rule.name if placement.rule else None, "manager",
        candidates, f"{why_en}: to {manager}, manager of {current_owner}", alert,
        kind="reassign", team=team, previous_owner=current_owner, queued_at=queued_at,
        tried=placement.tried, policy_version=c.version, ja=ja,
    )


class ReassignmentRate(NamedTuple):
    rate: float
    flagged: bool


def reassignment_rate(
    items: Iterable[Decision] | Mapping[str, tuple[int, int]], threshold: float = 0.10
) -> dict[str, ReassignmentRate]:
    """Per team: reassignments / assignments, flagged above `threshold` (001: over 10%).

    `items` are decisions (assignments count for the rep's team, reassignments for the previous
    owner's team) or counts `{team: (assigned, reassigned)}`. Pass
    `policy.routing.reassignment.flag_above` as the threshold to follow the policy. The
    denominator is at least the number of reassignments: each reassigned lead was assigned once,
    perhaps before the period counted.
    """
    counts: dict[str, list[int]] = {}
    if isinstance(items, Mapping):
        for team, (assigned, reassigned) in items.items():
            counts[team] = [assigned, reassigned]
    else:
        for d in items:
            team = d.team or NO_TEAM
            if d.kind == "assign" and d.rep is not None:
                counts.setdefault(team, [0, 0])[0] += 1
            elif d.kind == "reassign":
                counts.setdefault(team, [0, 0])[1] += 1
    out = {}
    for team, (assigned, reassigned) in counts.items():
        base = max(assigned, reassigned)
        rate = reassigned / base if base else 0.0
        out[team] = ReassignmentRate(rate, rate > threshold)
    return out
