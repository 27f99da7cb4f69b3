"""Lead routing (F8, F9, F17, F27): strategies, constraints, fairness, after hours, reassignment,
explanations and bad policy input.

Times: Wednesday 2026-07-08 10:00 in Tokyo is 01:00 UTC; the business calendar is 09:00-18:00
Asia/Tokyo on weekdays with Japanese holidays.
"""

from __future__ import annotations

import copy
import json
import textwrap
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadclock.policy import Policy, PolicyError, Problem, load_policy_text
from leadclock.routing import (
    AFTER_HOURS_QUEUE,
    RouterState,
    RoutingError,
    check_routing,
    compile_routing,
    next_queue_flush,
    open_queue,
    reassign,
    reassignment_rate,
    release,
    route,
    set_status,
)
from leadclock.routing import router as router_module

WED_10 = datetime(2026, 7, 8, 1, 0, tzinfo=UTC)  # Wed 10:00 Tokyo
WED_20 = datetime(2026, 7, 8, 11, 0, tzinfo=UTC)  # Wed 20:00 Tokyo: closed
THU_09 = datetime(2026, 7, 9, 0, 0, tzinfo=UTC)  # Thu 09:00 Tokyo: the next opening


def policy(routing: str, head: str = "extends: b2b-saas\n") -> Policy:
    return load_policy_text(head + "routing:\n" + textwrap.indent(textwrap.dedent(routing), "  "))


def problems_of(text: str) -> list[Problem]:
    with pytest.raises(PolicyError) as caught:
        load_policy_text(textwrap.dedent(text), "p.yaml")
    return caught.value.problems


def routing_problems(routing: str) -> list[tuple[str, str]]:
    """Routing problems as `policy check` reports them (check_routing runs inside the loader)."""
    try:
        found = check_routing(policy(routing))
    except PolicyError as error:
        return [(p.path, p.reason) for p in error.problems if p.path.startswith("routing")]
    return [(".".join(str(p) for p in path), reason) for path, reason in found]


DESIGN = """\
reps:
  mgr-sato: {name: 佐藤, team: east}
  yamada: {name: 山田花子, role: sdr, team: east, manager: mgr-sato, timezone: Asia/Tokyo, hours: business, weight: 2, time_off: ["2026-07-21", "2026-08-10..2026-08-14"], capacity: {per_day: 30, per_week: 120, max_open: 40}, accounts: [Acme]}
  suzuki: {team: east, manager: mgr-sato}
  tanaka: {team: west, manager: mgr-sato, role: junior}
  kato: {team: west, manager: mgr-sato, role: junior}
pools:
  top_performers: [yamada, suzuki]
  juniors: [tanaka, kato]
rules:
  - {name: named accounts, when: {account_known: true}, strategy: account_owner}
  - {name: hot leads, when: {tier: [hot]}, strategy: round_robin, pool: top_performers}
  - {name: west, when: {country: [US, CA], source: [webinar]}, strategy: weighted, reps: [yamada, tanaka]}
  - {name: cold, when: {tier: [cold]}, strategy: load_balanced, pool: juniors}
fallback: {queue: manual}
after_hours: {queue: true, order: arrival}
reassignment: {exclude_recent: 2, fallback: manager_queue}
"""


@pytest.fixture(scope="module")
def design() -> Policy:
    return policy(DESIGN)


# --------------------------------------------------------------------------- the policy section


def test_design_yaml_loads_and_compiles(design: Policy) -> None:
    routing = design.routing
    name = routing.reps["yamada"].name
    assert name is not None and name.ja == "山田花子"
    assert routing.reps["yamada"].capacity.per_week == 120
    assert routing.rules[2].when.country == ["US", "CA"]
    assert routing.fallback.queue == "manual" and routing.fallback.rep is None
    assert check_routing(design) == []
    compiled = compile_routing(design)
    assert compile_routing(design) is compiled  # cached by identity
    assert compile_routing(policy(DESIGN)) is compiled  # and by version
    assert compiled.reps["yamada"].time_off_sorted[0] == datetime(2026, 7, 21).toordinal()
    assert len(compiled.reps["yamada"].time_off) == 6


def test_presets_have_an_empty_routing_section() -> None:
    empty = load_policy_text("extends: b2b-saas\n")
    assert check_routing(empty) == []
    decision = route(RouterState(), {"id": "L1", "source": "demo_request"}, WED_10, empty)
    assert decision.queue == "manual" and decision.alert  # never dropped, always told


def test_fallback_rep_replaces_the_default_queue() -> None:
    p = policy("reps: {a: {}}\nfallback: {rep: a}\n")
    assert p.routing.fallback.queue is None and p.routing.fallback.rep == "a"


# --------------------------------------------------------------------------- strategies


def test_round_robin_in_sorted_order_and_the_cursor_survives_roster_changes() -> None:
    p = policy("""\
        reps: {a: {}, b: {}, c: {}, d: {}}
        pools: {team: [c, a, b]}
        rules: [{name: rr, strategy: round_robin, pool: team}]
    """)
    state = RouterState()
    got = [route(state, {"id": i}, WED_10, p).rep for i in range(4)]
    assert got == ["a", "b", "c", "a"]
    # b leaves the pool after a was served: the rotation continues where b would have been.
    p2 = policy("""\
        reps: {a: {}, b: {}, c: {}, d: {}}
        pools: {team: [a, c, d]}
        rules: [{name: rr, strategy: round_robin, pool: team}]
    """)
    d = route(state, {"id": "x"}, WED_10, p2)
    assert d.rep == "c"
    state.cursors["rr"] = "b"  # the last served has left: continue after their place
    d = route(state, {"id": "y"}, WED_10, p2)
    assert d.rep == "c" and "left the pool" in d.tie_break
    assert [route(state, {"id": i}, WED_10, p2).rep for i in range(3)] == ["d", "a", "c"]


def test_round_robin_rep_back_from_leave_is_not_flooded() -> None:
    p = policy("""\
        reps: {a: {}, b: {}, c: {}}
        rules: [{name: rr, strategy: round_robin, reps: [a, b, c]}]
    """)
    state = RouterState()
    set_status(state, "c", "offline", WED_10)
    for i in range(20):
        route(state, {"id": i}, WED_10, p)
    set_status(state, "c", "online", WED_10)
    after = Counter(route(state, {"id": i}, WED_10, p).rep for i in range(30))
    assert after == {"a": 10, "b": 10, "c": 10}


def test_weighted_shares_and_rule_weights() -> None:
    p = policy("""\
        reps: {a: {weight: 3}, b: {weight: 1}, c: {}}
        rules:
          - {name: w2, when: {source: [webinar]}, strategy: weighted, reps: [a, c], weights: {a: 1, c: 4}}
          - {name: w, strategy: weighted, reps: [a, b]}
    """)
    state = RouterState()
    counts = Counter(route(state, {"id": i, "source": "demo_request"}, WED_10, p).rep
                     for i in range(400))
    assert counts == {"a": 300, "b": 100}
    # Smooth: turns interleave (a a b a a a b a ...), never a long run of one rep.
    seq = "".join(str(route(state, {"id": i, "source": "demo_request"}, WED_10, p).rep)
                  for i in range(40))
    assert seq.count("b") == 10 and "aaaa" not in seq and "bb" not in seq
    counts2 = Counter(route(state, {"id": i, "source": "webinar"}, WED_10, p).rep
                      for i in range(500))
    assert counts2 == {"c": 400, "a": 100}


def test_load_balanced_fewest_open_then_least_recently_assigned() -> None:
    p = policy("""\
        reps: {a: {}, b: {}, c: {}}
        rules: [{name: lb, strategy: load_balanced, reps: [a, b, c]}]
    """)
    state = RouterState()
    assert [route(state, {"id": i}, WED_10, p).rep for i in range(3)] == ["a", "b", "c"]
    release(state, "b", WED_10)
    d = route(state, {"id": "x"}, WED_10, p)
    assert d.rep == "b" and "fewest open leads (0)" in d.tie_break
    # All at one open lead: the least recently assigned (a) is next.
    assert route(state, {"id": "y"}, WED_10, p).rep == "a"


def test_load_balanced_rep_back_from_leave_gets_the_normal_share() -> None:
    p = policy("""\
        reps: {a: {}, b: {}, c: {}, d: {}}
        rules: [{name: lb, strategy: load_balanced, reps: [a, b, c, d]}]
    """)
    state = RouterState()
    set_status(state, "d", "offline", WED_10)
    for i in range(30):
        route(state, {"id": i}, WED_10, p)
    assert state.reps["a"].open_leads == 10 and state.reps["d"].open_leads == 0
    set_status(state, "d", "online", WED_10)
    first = route(state, {"id": "back"}, WED_10, p)
    assert first.rep == "d" and "back from leave" in first.tie_break
    nxt = Counter(route(state, {"id": i}, WED_10, p).rep for i in range(11))
    # Not a flood of ten leads to d: one per round like everyone else.
    assert nxt == {"a": 3, "b": 3, "c": 3, "d": 2}


def test_account_owner_then_next_rules() -> None:
    p = policy("""\
        reps:
          a: {accounts: [Acme, Globex]}
          b: {}
        pools: {others: [b]}
        rules:
          - {name: owners, strategy: account_owner}
          - {name: rest, strategy: round_robin, pool: others}
    """)
    state = RouterState()
    d = route(state, {"id": 1, "account": "ACME"}, WED_10, p)
    assert (d.rep, d.rule, d.tie_break) == ("a", "owners", "account owner of acme")
    d = route(state, {"id": 2, "account": "Initech"}, WED_10, p)
    assert (d.rep, d.rule) == ("b", "rest")
    assert d.tried == [("owners", "the lead's account has no owner")]


def test_account_owner_not_in_the_rules_pool_is_skipped() -> None:
    p = policy("""\
        reps: {a: {accounts: [Acme]}, b: {}}
        rules:
          - {name: owners, strategy: account_owner, reps: [b], overflow: next}
          - {name: rest, strategy: round_robin, reps: [b]}
    """)
    d = route(RouterState(), {"id": 1, "account": "acme"}, WED_10, p)
    assert d.rep == "b" and d.skipped() == {"a": "not in pool"}


def test_single_point_of_contact() -> None:
    p = policy("""\
        reps: {dispatcher: {}, b: {}}
        rules: [{name: dispatch, strategy: single_contact, rep: dispatcher}]
    """)
    state = RouterState()
    assert {route(state, {"id": i}, WED_10, p).rep for i in range(5)} == {"dispatcher"}


def test_field_rules_first_match_wins() -> None:
    p = policy("""\
        reps: {us: {}, big: {}, kanto: {}, rest: {}}
        rules:
          - {name: big, when: {employees: ">=1000", industry: [saas]}, strategy: round_robin, reps: [big]}
          - {name: us, when: {country: [US, CA], source: [webinar, demo_request]}, strategy: round_robin, reps: [us]}
          - {name: kanto, when: {attributes.region: [Kanto], score: "50-100"}, strategy: round_robin, reps: [kanto]}
          - {name: rest, strategy: round_robin, reps: [rest]}
    """)
    s = RouterState()

    def rep(**lead: object) -> str | None:
        return route(s, {"id": "x", **lead}, WED_10, p).rep

    assert rep(employees=5000, industry="SaaS", country="US", source="webinar") == "big"
    assert rep(employees=999, industry="SaaS", country="us", source="webinar") == "us"
    assert rep(country="US", source="content_download") == "rest"
    assert rep(attributes={"region": "kanto"}, score=60) == "kanto"
    assert rep(region="KANTO", score=100) == "kanto"  # custom fields may come at the top level
    assert rep(region="kanto", score=40) == "rest"
    assert rep(employees="lots", industry="SaaS") == "rest"  # not a number: no match


def test_tier_comes_from_score_or_source_when_absent(design: Policy) -> None:
    s = RouterState()
    assert route(s, {"id": 1, "source": "demo_request"}, WED_10, design).rule == "hot leads"
    assert route(s, {"id": 2, "score": 95}, WED_10, design).rule == "hot leads"
    assert route(s, {"id": 3, "score": 10}, WED_10, design).rule == "cold"
    # The stricter of score tier and source priority (F6): a cold score from a hot source.
    assert route(s, {"id": 4, "score": 10, "source": "pricing_inquiry"}, WED_10, design).rule == "hot leads"


# --------------------------------------------------------------------------- constraints


CONSTRAINTS = """\
reps:
  a: {capacity: {per_day: 1}}
  b: {capacity: {per_week: 1}}
  c: {capacity: {max_open: 1}}
  d: {time_off: ["2026-07-08"]}
  e: {}
  f: {}
  g: {timezone: America/New_York}
  z: {}
pools: {all: [a, b, c, d, e, f, g, z]}
rules: [{name: all, strategy: round_robin, pool: all}]
"""


def test_explanations_name_every_skipped_candidate_and_why() -> None:
    p = policy(CONSTRAINTS)
    s = RouterState()
    set_status(s, "e", "away", WED_10)
    set_status(s, "f", "offline", WED_10)
    assert [route(s, {"id": i}, WED_10, p).rep for i in range(3)] == ["a", "b", "c"]
    d = route(s, {"id": "x"}, WED_10, p)
    assert d.rep == "z"
    assert d.skipped() == {
        "d": "time off", "e": "away", "f": "offline", "g": "off shift",
    }
    d = route(s, {"id": "y"}, WED_10, p)
    assert d.rep == "z"
    assert d.skipped() == {
        "a": "at daily cap", "b": "at weekly cap", "c": "at max open leads", "d": "time off",
        "e": "away", "f": "offline", "g": "off shift",
    }
    assert [c.rep for c in d.candidates][-1] == "z" and d.candidates[-1].reason == "chosen"
    text_en, text_ja = d.explain("en"), d.explain("ja")
    assert "g: off shift" in text_en and "round robin" in text_en
    assert "g: 勤務時間外" in text_ja and "a: 1日の上限に到達" in text_ja
    json.dumps(d.to_dict(), ensure_ascii=False)  # the audit trail stores it as it is


def test_caps_reset_by_the_reps_local_day_and_week() -> None:
    p = policy(CONSTRAINTS)
    s = RouterState()
    for i in range(3):
        route(s, {"id": i}, WED_10, p)
    thu = WED_10 + timedelta(days=1)
    week = [route(s, {"id": f"thu{i}"}, thu, p) for i in range(6)]
    assert "a" in [d.rep for d in week]  # a new local day: the daily cap starts again
    assert {d.skipped().get("b") for d in week} <= {None, "at weekly cap"}
    assert "b" not in [d.rep for d in week]
    next_mon = datetime(2026, 7, 13, 1, 0, tzinfo=UTC)
    assert "b" in [route(s, {"id": f"mon{i}"}, next_mon, p).rep for i in range(8)]


def test_rep_time_zone_and_hours() -> None:
    p = policy("""\
        reps:
          tokyo: {}
          newyork: {timezone: America/New_York}
          always: {hours: always}
        rules: [{name: all, strategy: round_robin, reps: [newyork, tokyo, always]}]
        after_hours: {queue: false}
    """)
    ny_morning = datetime(2026, 7, 8, 14, 0, tzinfo=UTC)  # 10:00 New York, 23:00 Tokyo
    s = RouterState()
    d1 = route(s, {"id": 1}, ny_morning, p)
    d2 = route(s, {"id": 2}, ny_morning, p)
    assert (d1.rep, d2.rep) == ("always", "newyork")
    assert route(s, {"id": 3}, ny_morning, p).skipped() == {"tokyo": "off shift"}


def test_no_rule_matches_goes_to_the_fallback_queue_with_an_alert(design: Policy) -> None:
    d = route(RouterState(), {"id": "L9", "source": "webinar", "country": "JP"}, WED_10, design)
    assert (d.rep, d.queue, d.strategy) == (None, "manual", "fallback")
    assert d.alert and "no routing rule matched" in d.alert
    (effect,) = d.effects()
    assert effect.kind == "alert" and effect.lead == "L9"
    assert effect.detail["queue"] == "manual"


def test_nobody_eligible_goes_to_the_fallback_rep_with_an_alert() -> None:
    p = policy("""\
        reps: {a: {}, boss: {}}
        rules: [{name: only a, strategy: round_robin, reps: [a]}]
        fallback: {rep: boss}
    """)
    s = RouterState()
    set_status(s, "a", "away", WED_10)
    d = route(s, {"id": "L1"}, WED_10, p)
    assert d.rep == "boss" and d.rule == "only a"
    assert d.skipped() == {"a": "away"}
    assert d.alert is not None and "nobody eligible under rule 'only a'" in d.alert
    assert s.reps["boss"].open_leads == 1


def test_overflow_next_lets_the_following_rule_try() -> None:
    p = policy("""\
        reps: {a: {}, b: {}}
        rules:
          - {name: first, strategy: round_robin, reps: [a], overflow: next}
          - {name: second, strategy: round_robin, reps: [b]}
    """)
    s = RouterState()
    set_status(s, "a", "offline", WED_10)
    d = route(s, {"id": 1}, WED_10, p)
    assert (d.rep, d.rule) == ("b", "second") and d.tried[0][0] == "first"
    assert d.alert is None
    assert "first" in d.explain() and "a: offline" in d.explain()
    assert "次のルールへ" in d.explain("ja")


# --------------------------------------------------------------------------- after hours (F9)


AFTER = """\
reps: {a: {}, b: {}}
rules: [{name: rr, strategy: round_robin, reps: [a, b]}]
after_hours: {queue: true, order: %s}
"""


def test_after_hours_leads_wait_and_are_assigned_at_the_opening_in_arrival_order() -> None:
    p = policy(AFTER % "arrival")
    s = RouterState()
    queued = [route(s, {"id": f"L{i}", "tier": t}, WED_20 + timedelta(minutes=i), p)
              for i, t in enumerate(["cold", "hot", "warm"])]
    assert all(d.queue == AFTER_HOURS_QUEUE and d.rep is None for d in queued)
    assert queued[0].wait_until == THU_09 and queued[0].kind == "queue"
    assert next_queue_flush(s, WED_20, p) == THU_09
    assert open_queue(s, THU_09 - timedelta(seconds=1), p) == []  # still closed
    done = open_queue(s, THU_09, p)
    assert [d.lead for d in done] == ["L0", "L1", "L2"]
    assert [d.rep for d in done] == ["a", "b", "a"]
    assert all(d.at == THU_09 for d in done)  # clocks start at the opening
    assert done[0].queued_at == WED_20
    assert s.queue == [] and next_queue_flush(s, THU_09, p) is None


def test_after_hours_hottest_first() -> None:
    p = policy(AFTER % "hottest_first")
    s = RouterState()
    leads: list[dict[str, object]] = [
        {"id": "cold", "tier": "cold"},
        {"id": "warm-low", "tier": "warm", "score": 55},
        {"id": "hot", "tier": "hot"},
        {"id": "warm-high", "tier": "warm", "score": 75},
        {"id": "demo", "source": "demo_request"},  # no tier: hot by its source
    ]
    for i, lead in enumerate(leads):
        route(s, lead, WED_20 + timedelta(minutes=i), p)
    assert [d.lead for d in open_queue(s, THU_09, p)] == [
        "hot", "demo", "warm-high", "warm-low", "cold",
    ]


# --------------------------------------------------------------------------- reassignment (F17)


REASSIGN = """\
reps:
  mgr: {team: east}
  a: {team: east, manager: mgr}
  b: {team: east, manager: mgr}
  c: {team: east, manager: mgr}
  d: {team: east, manager: mgr}
rules: [{name: rr, strategy: round_robin, reps: [a, b, c, d]}]
reassignment: {exclude_recent: %d, fallback: %s}
"""


def test_reassignment_excludes_the_current_and_recent_owners() -> None:
    p = policy(REASSIGN % (2, "manager_queue"))
    s = RouterState()
    first = route(s, {"id": "L1"}, WED_10, p)
    assert first.rep == "a"
    d = reassign(s, {"id": "L1"}, "b", ["c", "a"], WED_10, p)
    assert d.kind == "reassign" and d.rep == "d" and d.previous_owner == "b"
    assert d.skipped() == {"b": "current owner", "c": "recent owner"}
    # exclude_recent counts from the most recent: with 1, only "a" (the last) is excluded.
    p1 = policy(REASSIGN % (1, "manager_queue"))
    d = reassign(RouterState(), {"id": "L2"}, "b", ["c", "a"], WED_10, p1)
    assert d.rep == "c" and d.skipped() == {"a": "recent owner", "b": "current owner"}


def test_reassignment_releases_the_current_owner() -> None:
    p = policy(REASSIGN % (1, "manager_queue"))
    s = RouterState()
    route(s, {"id": "L1"}, WED_10, p)
    assert s.reps["a"].open_leads == 1
    reassign(s, {"id": "L1"}, "a", [], WED_10, p)
    assert s.reps["a"].open_leads == 0 and s.reps["b"].open_leads == 1


@pytest.mark.parametrize(
    ("mode", "rep", "queue"),
    [("manager_queue", None, "manager:mgr"), ("manager", "mgr", None), ("fallback", None, "manual")],
)
def test_reassignment_with_nobody_eligible(mode: str, rep: str | None, queue: str) -> None:
    p = policy(REASSIGN % (3, mode))
    s = RouterState()
    set_status(s, "d", "away", WED_10)
    d = reassign(s, {"id": "L1"}, "a", ["b", "c"], WED_10, p)
    assert (d.rep, d.queue, d.kind) == (rep, queue, "reassign")
    assert d.alert  # nobody else could take it: someone must know
    assert d.team == "east"


def test_manual_reassignment_goes_to_the_managers_queue_without_an_alert() -> None:
    p = policy(REASSIGN % (1, "manager_queue"))
    d = reassign(RouterState(), {"id": "L1"}, "a", [], WED_10, p, manual=True)
    assert (d.rep, d.queue, d.alert) == (None, "manager:mgr", None)
    assert "手動" in d.explain("ja")


def test_reassignment_after_hours_waits_for_the_opening_with_its_exclusions() -> None:
    p = policy(REASSIGN % (1, "manager_queue"))
    s = RouterState()
    d = reassign(s, {"id": "L1"}, "a", [], WED_20, p)
    assert d.queue == AFTER_HOURS_QUEUE and d.previous_owner == "a"
    (done,) = open_queue(s, THU_09, p)
    assert done.kind == "reassign" and done.rep == "b" and done.skipped() == {"a": "current owner"}


def test_reassignment_rate_per_team_is_flagged_over_ten_percent() -> None:
    assert reassignment_rate({"east": (100, 10), "west": (50, 6), "north": (0, 0)}) == {
        "east": (0.10, False), "west": (0.12, True), "north": (0.0, False),
    }
    p = policy(REASSIGN % (1, "manager_queue"))
    s = RouterState()
    decisions = [route(s, {"id": i}, WED_10, p) for i in range(9)]
    decisions.append(reassign(s, {"id": 0}, "a", [], WED_10, p))
    rates = reassignment_rate(decisions)
    assert rates["east"].rate == pytest.approx(1 / 9) and rates["east"].flagged
    threshold = p.routing.reassignment.flag_above
    assert reassignment_rate(decisions, threshold=0.2)["east"].flagged is False
    assert threshold == 0.10


# --------------------------------------------------------------------------- fairness properties


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(weights=st.lists(st.integers(1, 6), min_size=2, max_size=6), n=st.integers(50, 400))
def test_weighted_shares_converge_to_the_weights(weights: list[int], n: int) -> None:
    reps = {f"r{i}": {"weight": w} for i, w in enumerate(weights)}
    yaml_reps = ", ".join(f"{k}: {{weight: {v['weight']}}}" for k, v in reps.items())
    p = policy(f"reps: {{{yaml_reps}}}\nrules: [{{name: w, strategy: weighted, reps: [{', '.join(reps)}]}}]\n")
    s = RouterState()
    counts: Counter[str] = Counter()
    total = sum(weights)
    for k in range(1, n + 1):
        counts[str(route(s, {"id": k}, WED_10, p).rep)] += 1
        for i, w in enumerate(weights):
            # WF2Q+ keeps every rep within one lead of its exact share, after every lead.
            assert abs(counts[f"r{i}"] - k * w / total) < 1.0 + 1e-9


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    weights=st.lists(st.integers(1, 4), min_size=3, max_size=5),
    away_for=st.integers(5, 120),
    window=st.integers(20, 200),
    who=st.integers(0, 4),
)
def test_weighted_rep_back_from_leave_gets_no_more_than_the_share(
    weights: list[int], away_for: int, window: int, who: int
) -> None:
    who %= len(weights)
    names = [f"r{i}" for i in range(len(weights))]
    yaml_reps = ", ".join(f"{n}: {{weight: {w}}}" for n, w in zip(names, weights, strict=True))
    p = policy(f"reps: {{{yaml_reps}}}\nrules: [{{name: w, strategy: weighted, reps: [{', '.join(names)}]}}]\n")
    s = RouterState()
    for i in range(17):
        route(s, {"id": i}, WED_10, p)
    set_status(s, names[who], "away", WED_10)
    for i in range(away_for):
        assert route(s, {"id": i}, WED_10, p).rep != names[who]
    set_status(s, names[who], "online", WED_10)
    got = sum(route(s, {"id": i}, WED_10, p).rep == names[who] for i in range(window))
    assert got <= window * weights[who] / sum(weights) + 1.0 + 1e-9


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    weights=st.lists(st.integers(1, 5), min_size=2, max_size=5),
    plan=st.lists(
        st.tuples(st.integers(0, 300), st.lists(st.integers(0, 4), min_size=1, max_size=2)),
        min_size=1, max_size=5,
    ),
)
def test_weighted_shares_follow_availability_without_catch_up(
    weights: list[int], plan: list[tuple[int, list[int]]]
) -> None:
    """Each lead is shared among the reps available then, in proportion to their weights (the
    fluid share). Reps leave and come back; nobody drifts from that share by more than a few
    leads, however long the absence: a rep that banked its missed turns would be ahead by about
    weight/total x (leads while away)."""
    names = [f"r{i}" for i in range(len(weights))]
    yaml_reps = ", ".join(f"{n}: {{weight: {w}}}" for n, w in zip(names, weights, strict=True))
    p = policy(f"reps: {{{yaml_reps}}}\nrules: [{{name: w, strategy: weighted, reps: [{', '.join(names)}]}}]\n")
    s = RouterState()
    online = set(names)
    fluid = dict.fromkeys(names, 0.0)
    got: Counter[str] = Counter()
    for run, toggles in plan:
        for k in toggles:
            rep = names[k % len(names)]
            status = "away" if rep in online else "online"
            online.symmetric_difference_update({rep})
            set_status(s, rep, status, WED_10)
        for i in range(run if online else 0):
            total = sum(weights[names.index(r)] for r in online)
            for r in online:
                fluid[r] += weights[names.index(r)] / total
            got[str(route(s, {"id": i}, WED_10, p).rep)] += 1
            assert max(abs(got[r] - fluid[r]) for r in names) <= 5.0


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(
    st.tuples(
        st.sampled_from(["route", "route", "route", "release", "away", "online", "wait"]),
        st.integers(0, 5),
    ),
    min_size=1, max_size=150,
))
def test_load_balanced_heap_picks_the_least_loaded_eligible_rep(ops: list[tuple[str, int]]) -> None:
    """The lazy heap (with reps parked until their shift, day or week comes) chooses exactly
    what looking at every member would."""
    p = policy("""\
        reps:
          a: {capacity: {max_open: 4}}
          b: {capacity: {per_day: 3, per_week: 7}}
          c: {time_off: ["2026-07-09"]}
          d: {timezone: Europe/London}
          e: {hours: always}
          f: {}
        rules: [{name: lb, strategy: load_balanced, reps: [a, b, c, d, e, f]}]
        after_hours: {queue: false}
    """)
    compiled = compile_routing(p)
    names = sorted(compiled.reps)
    s = RouterState()
    at = WED_10
    for i, (op, k) in enumerate(ops):
        rep = names[k]
        at += timedelta(minutes=1)
        if op == "wait":
            at += timedelta(hours=3 * k + 1)
        elif op == "release":
            release(s, rep, at)
        elif op in ("away", "online"):
            set_status(s, rep, op, at)  # away <-> online never makes a rep "back from leave"
        else:
            # Reference: every member looked at. A rep back from leave (time off here) counts
            # at least the load of the lightest rep who was not away.
            probe = copy.deepcopy(s)
            free = [
                r for r in names
                if router_module._why_not(probe, at, compiled.reps[r], probe.rep(r), None) is None
            ]
            settled = [probe.reps[r].open_leads for r in free if not probe.reps[r].rejoining]
            floor = min(settled) if settled else 0
            keys = [
                (max(rs.open_leads, floor) if rs.rejoining else rs.open_leads,
                 rs.last_assigned_seq, r)
                for r in free
                for rs in [probe.reps[r]]
            ]
            d = route(s, {"id": i}, at, p)
            if keys:
                assert d.rep == min(keys)[2], (d.explain(), keys)
            else:
                assert d.rep is None and d.queue == "manual"


@settings(max_examples=20, deadline=None)
@given(minutes=st.lists(st.integers(0, 60 * 24 * 400), min_size=1, max_size=60))
def test_working_hours_memo_gives_the_calendars_answers(minutes: list[int]) -> None:
    """The per-clock memo (open span, local day) never changes an answer, in any call order,
    across DST changes and lunch breaks."""
    p = load_policy_text(textwrap.dedent("""\
        extends: b2b-saas
        calendars:
          lunch:
            weekly: {mon: [["09:00", "12:00"], ["13:00", "18:00"]], fri: [["09:00", "17:00"]]}
            holidays: {countries: [US]}
        routing:
          reps:
            ny: {timezone: America/New_York, hours: lunch}
            tokyo: {}
          rules: [{name: all, strategy: round_robin, reps: [ny, tokyo]}]
    """))
    compiled = compile_routing(p)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for crep in compiled.reps.values():
        clock = crep.clock
        for m in [*minutes, *sorted(minutes)]:
            t = start + timedelta(minutes=m, seconds=m % 7)
            local = t.astimezone(clock.zone)
            day = local.toordinal()
            assert clock.at(t) == (clock.calendar.is_open(t), day, day - local.weekday())


def test_decisions_are_deterministic(design: Policy) -> None:
    leads = [{"id": i, "source": s, "country": c, "score": sc, "account": a}
             for i, (s, c, sc, a) in enumerate([
                 ("demo_request", "JP", 90, None), ("webinar", "US", 60, None),
                 ("content_download", "JP", 20, "acme"), ("pricing_inquiry", "CA", 99, None),
             ] * 5)]

    def run() -> list[dict[str, object]]:
        s = RouterState()
        return [route(s, lead, WED_10 + timedelta(minutes=i), design).to_dict()
                for i, lead in enumerate(leads)]

    assert run() == run()


def test_naive_times_are_refused(design: Policy) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        route(RouterState(), {"id": 1}, datetime(2026, 7, 8, 10), design)
    with pytest.raises(ValueError, match="unknown rep status"):
        set_status(RouterState(), "a", "busy", WED_10)


# --------------------------------------------------------------------------- bad policy input


def test_model_errors_name_key_path_and_line() -> None:
    found = problems_of("""\
        extends: b2b-saas
        routing:
          reps:
            yamada: {weight: 0, capacity: {per_day: 30, per_week: 20}}
            suzuki:
              time_off: ["2026-08-14..2026-08-10", "next week"]
          rules:
            - {name: a, when: {countryy: [US]}, strategy: round_robin, reps: [yamada]}
            - {name: b, when: {employees: ">= lots"}, strategy: weighted, reps: [yamada], weights: {yamada: -1}}
            - {name: c, when: {source: []}, strategy: round_robin, reps: [yamada]}
            - {name: d, strategy: cherry_pick, reps: [yamada]}
          fallback: {queue: manual, rep: yamada}
    """)
    by_path = {p.path: p for p in found}
    assert by_path["routing.reps.yamada.weight"].line == 4
    assert "greater than 0" in by_path["routing.reps.yamada.weight"].reason
    assert "per_day (30) is larger than per_week (20)" in by_path["routing.reps.yamada.capacity"].reason
    assert "ends before it starts" in by_path["routing.reps.suzuki.time_off.0"].reason
    assert "YYYY-MM-DD" in by_path["routing.reps.suzuki.time_off.1"].reason
    assert by_path["routing.reps.suzuki.time_off.0"].line == 6
    unknown = by_path["routing.rules.0.when"]
    assert "unknown lead field 'countryy'" in unknown.reason and unknown.line == 8
    assert "attributes.<name>" in unknown.reason
    assert "must look like '>=1000'" in by_path["routing.rules.1.when.employees"].reason
    assert "greater than 0" in by_path["routing.rules.1.weights.yamada"].reason
    assert by_path["routing.rules.1.weights.yamada"].line == 9
    assert "at least 1 item" in by_path["routing.rules.2.when.source"].reason
    assert "routing.rules.3.strategy" in by_path
    assert "not both" in by_path["routing.fallback"].reason and by_path["routing.fallback"].line == 12
    assert all(p.file == "p.yaml" for p in found)


def test_check_routing_cross_references() -> None:
    found = dict(routing_problems("""\
        reps:
          a: {manager: nobody, hours: night_shift, timezone: Mars/Olympus, accounts: [Acme]}
          b: {accounts: [acme]}
        pools:
          team: [a, ghost, a]
          empty: []
        rules:
          - {name: r1, when: {tier: [lukewarm], source: [fax]}, strategy: round_robin, pool: teem}
          - {name: r2, strategy: weighted, reps: [a, phantom], weights: {b: 2}}
          - {name: r1, strategy: load_balanced}
          - {name: r4, strategy: single_contact, pool: team}
          - {name: r5, strategy: round_robin, pool: team, weights: {a: 1}}
        fallback: {rep: nobody}
        after_hours: {calendar: nights}
    """))
    expected = {
        "routing.reps.a.manager": "unknown rep 'nobody'",
        "routing.reps.a.hours": "unknown calendar 'night_shift'",
        "routing.reps.a.timezone": "unknown time zone 'Mars/Olympus'",
        "routing.reps.b.accounts.0": "already belongs to a",
        "routing.pools.team.1": "unknown rep 'ghost'",
        "routing.pools.team.2": "listed twice",
        "routing.pools.empty": "empty pool",
        "routing.rules.0.when.tier.0": "unknown tier 'lukewarm'",
        "routing.rules.0.when.source.0": "unknown source 'fax'",
        "routing.rules.0.pool": "unknown pool 'teem'",
        "routing.rules.1.reps.1": "unknown rep 'phantom'",
        "routing.rules.1.weights.b": "not one of this rule's reps",
        "routing.rules.2.name": "used twice",
        "routing.rules.2.strategy": "needs a 'pool' or 'reps'",
        "routing.rules.3.strategy": "single_contact needs 'rep'",
        "routing.rules.3.pool": "sends everything to its one 'rep'",
        "routing.rules.4.weights": "only apply to the weighted strategy",
        "routing.fallback.rep": "unknown rep 'nobody'",
        "routing.after_hours.calendar": "unknown calendar 'nights'",
    }
    for path, words in expected.items():
        assert path in found, (path, found)
        assert words in found[path], (path, found[path])


def test_a_pool_that_can_never_be_eligible_is_rejected() -> None:
    # A calendar without hours is refused by the policy checks on its own; the loader stops
    # there, so the routing check is run on a model built directly.
    head = "extends: b2b-saas\ncalendars:\n  closed:\n    weekly: {}\n"
    with pytest.raises(PolicyError) as caught:
        load_policy_text(head + "routing:\n  reps: {a: {hours: closed}}\n")
    assert any(pr.path == "calendars.closed.weekly" for pr in caught.value.problems)

    base = load_policy_text("extends: b2b-saas\n").model_dump()
    base["calendars"]["closed"] = {"weekly": {}}
    base["routing"] = {
        "reps": {"a": {"hours": "closed"}, "b": {"hours": "closed"}, "c": {}},
        "pools": {"night": ["a", "b"], "mixed": ["a", "c"]},
        "rules": [
            {"name": "n", "strategy": "round_robin", "pool": "night"},
            {"name": "x", "strategy": "single_contact", "rep": "a"},
            {"name": "m", "strategy": "round_robin", "pool": "mixed"},
        ],
    }
    broken = Policy.model_validate(base)
    found = {".".join(map(str, path)): reason for path, reason in check_routing(broken)}
    assert "could never be eligible" in found["routing.pools.night"]
    assert "could never place a lead" in found["routing.rules.1.rep"]
    assert "routing.pools.mixed" not in found
    with pytest.raises(RoutingError) as refused:
        compile_routing(broken)
    assert ["routing", "pools", "night"] in [path for path, _ in refused.value.problems]


def test_a_rule_after_a_catch_all_can_never_match() -> None:
    found = dict(routing_problems("""\
        reps: {a: {}, b: {}}
        rules:
          - {name: everything, strategy: round_robin, reps: [a]}
          - {name: never, when: {tier: [hot]}, strategy: round_robin, reps: [b]}
    """))
    assert "rule 'everything' before it takes every lead" in found["routing.rules.1"]
    # An overflow rule or an account-owner rule passes leads on: nothing is unreachable.
    assert routing_problems("""\
        reps: {a: {accounts: [x]}, b: {}}
        rules:
          - {name: owners, strategy: account_owner}
          - {name: everything, strategy: round_robin, reps: [a], overflow: next}
          - {name: then, strategy: round_robin, reps: [b]}
    """) == []
