"""Cross-field checks of the routing section; each problem is (key path, reason).

Called from `leadclock.policy.checks.check_policy`, so `policy check` reports these with the file
and line of the key; `compile_routing` runs them too and refuses a policy that fails them.
The model (`policy/routing_models.py`) already rejected what one entry can get wrong on its own
(unknown condition fields, weights <= 0, per_day > per_week, bad dates).
"""

from __future__ import annotations

from leadclock.policy.checks import _minutes, _timezone_ok  # one definition of both rules
from leadclock.policy.models import Policy
from leadclock.policy.routing_models import STRATEGIES_WITH_MEMBERS, Rep, Rule

Path = list[str | int]


def has_hours(policy: Policy, rep: Rep) -> bool:
    """Whether the rep's working-hours calendar opens at all (unknown names count as yes: they
    are reported on their own, once)."""
    calendar = policy.calendars.get(rep.hours)
    if calendar is None or calendar.always:
        return True
    return any(
        _minutes(end) > _minutes(start)
        for spans in calendar.weekly.values()
        for start, end in spans
    )


def _defined(names: object) -> str:
    listed = ", ".join(sorted(map(str, names)))  # type: ignore[call-overload]
    return listed or "none"


def _members(policy: Policy, rule: Rule) -> list[str]:
    if rule.pool is not None:
        return list(policy.routing.pools.get(rule.pool, []))
    return list(rule.reps)


def _check_reps(policy: Policy) -> list[tuple[Path, str]]:
    routing = policy.routing
    calendars = set(policy.calendars) | {"always"}
    out: list[tuple[Path, str]] = []
    owners: dict[str, str] = {}
    for rep_id, rep in routing.reps.items():
        base: Path = ["routing", "reps", rep_id]
        if rep.hours not in calendars:
            out.append(
                ([*base, "hours"], f"unknown calendar {rep.hours!r}; defined: {_defined(calendars)}")
            )
        if rep.timezone is not None and not _timezone_ok(rep.timezone):
            out.append(
                (
                    [*base, "timezone"],
                    f"unknown time zone {rep.timezone!r} (use an IANA name such as Asia/Tokyo)",
                )
            )
        if rep.manager is not None and rep.manager not in routing.reps:
            out.append(
                ([*base, "manager"], f"unknown rep {rep.manager!r} (managers are reps of the roster)")
            )
        for index, account in enumerate(rep.accounts):
            key = account.casefold()
            if key in owners and owners[key] != rep_id:
                out.append(
                    (
                        [*base, "accounts", index],
                        f"account {account!r} already belongs to {owners[key]}: "
                        "an account has a single owner",
                    )
                )
            owners.setdefault(key, rep_id)
    return out


def _check_pools(policy: Policy) -> list[tuple[Path, str]]:
    routing = policy.routing
    out: list[tuple[Path, str]] = []
    for name, members in routing.pools.items():
        base: Path = ["routing", "pools", name]
        if not members:
            out.append((base, "empty pool: it could never take a lead"))
            continue
        seen: set[str] = set()
        for index, rep_id in enumerate(members):
            if rep_id not in routing.reps:
                out.append(
                    ([*base, index], f"unknown rep {rep_id!r}; defined: {_defined(routing.reps)}")
                )
            elif rep_id in seen:
                out.append(([*base, index], f"rep {rep_id!r} is listed twice"))
            seen.add(rep_id)
        known = [routing.reps[r] for r in seen if r in routing.reps]
        if known and not any(has_hours(policy, rep) for rep in known):
            out.append(
                (base, "no member has working hours (their calendars never open): "
                       "the pool could never be eligible")
            )
    return out


def _check_rule(
    policy: Policy, index: int, rule: Rule, names: dict[str, int], swallowed_by: str | None
) -> list[tuple[Path, str]]:
    routing = policy.routing
    reps = routing.reps
    base: Path = ["routing", "rules", index]
    out: list[tuple[Path, str]] = []
    if rule.name in names:
        out.append(
            ([*base, "name"], f"rule name {rule.name!r} is used twice (rotations are kept per rule)")
        )
    if swallowed_by is not None:
        out.append(
            (base, f"rule {rule.name!r} can never match: rule {swallowed_by!r} before it takes "
                   "every lead (first match wins)")
        )
    strategy = rule.strategy
    if strategy in STRATEGIES_WITH_MEMBERS:
        if rule.pool is None and not rule.reps:
            out.append(([*base, "strategy"], f"strategy {strategy} needs a 'pool' or 'reps'"))
        if rule.rep is not None:
            out.append(([*base, "rep"], "'rep' is for single_contact; use 'pool' or 'reps'"))
    elif strategy == "single_contact":
        if rule.rep is None:
            out.append(([*base, "strategy"], "single_contact needs 'rep': the one dispatcher"))
        if rule.pool is not None or rule.reps:
            key = "pool" if rule.pool is not None else "reps"
            out.append(([*base, key], "single_contact sends everything to its one 'rep'"))
    elif strategy == "account_owner":
        if rule.rep is not None:
            out.append(([*base, "rep"], "account_owner assigns the account's owner; no 'rep'"))
        if not any(rep.accounts for rep in reps.values()):
            out.append(
                ([*base, "strategy"], "no rep owns an account ('accounts:'): "
                                      "account_owner could never place a lead")
            )
    if rule.pool is not None and rule.reps:
        out.append(([*base, "reps"], "give either 'pool' or 'reps', not both"))
    if rule.pool is not None and rule.pool not in routing.pools:
        out.append(
            ([*base, "pool"], f"unknown pool {rule.pool!r}; defined: {_defined(routing.pools)}")
        )
    for j, rep_id in enumerate(rule.reps):
        if rep_id not in reps:
            out.append(([*base, "reps", j], f"unknown rep {rep_id!r}; defined: {_defined(reps)}"))
    if rule.rep is not None and rule.rep not in reps:
        out.append(([*base, "rep"], f"unknown rep {rule.rep!r}; defined: {_defined(reps)}"))
    if rule.weights and strategy != "weighted":
        out.append(([*base, "weights"], "weights only apply to the weighted strategy"))
    members = set(_members(policy, rule))
    for rep_id in rule.weights:
        if rep_id not in members:
            out.append(
                ([*base, "weights", rep_id], f"{rep_id!r} is not one of this rule's reps")
            )
    # Pools were checked once for working hours; explicit lists and dispatchers are checked here.
    listed = [reps[r] for r in (rule.reps or ([rule.rep] if rule.rep else [])) if r in reps]
    if listed and not any(has_hours(policy, rep) for rep in listed):
        key = "reps" if rule.reps else "rep"
        out.append(
            ([*base, key], "no rep here has working hours: the rule could never place a lead")
        )
    tiers = {t.casefold() for t in policy.tiers}
    for j, tier in enumerate(rule.when.tier or []):
        if tier.casefold() not in tiers:
            out.append(
                ([*base, "when", "tier", j], f"unknown tier {tier!r}; defined: {_defined(policy.tiers)}")
            )
    sources = {s.casefold() for s in policy.sources}
    for j, source in enumerate(rule.when.source or []):
        if source.casefold() not in sources:
            out.append(
                ([*base, "when", "source", j],
                 f"unknown source {source!r}; defined: {_defined(policy.sources)}")
            )
    return out


def check_routing(policy: Policy) -> list[tuple[Path, str]]:
    routing = policy.routing
    out = _check_reps(policy)
    out.extend(_check_pools(policy))
    names: dict[str, int] = {}
    swallowed_by: str | None = None
    for index, rule in enumerate(routing.rules):
        out.extend(_check_rule(policy, index, rule, names, swallowed_by))
        names.setdefault(rule.name, index)
        # An account_owner rule passes leads without a known account on, and `overflow: next`
        # passes on what it cannot place, so neither takes every lead.
        if (
            swallowed_by is None
            and rule.when.is_empty()
            and rule.strategy != "account_owner"
            and rule.overflow == "fallback"
        ):
            swallowed_by = rule.name
    if routing.fallback.rep is not None and routing.fallback.rep not in routing.reps:
        out.append(
            (["routing", "fallback", "rep"],
             f"unknown rep {routing.fallback.rep!r}; defined: {_defined(routing.reps)}")
        )
    calendars = set(policy.calendars) | {"always"}
    if routing.after_hours.calendar not in calendars:
        out.append(
            (["routing", "after_hours", "calendar"],
             f"unknown calendar {routing.after_hours.calendar!r}; defined: {_defined(calendars)}")
        )
    return out


__all__ = ["check_routing", "has_hours"]
