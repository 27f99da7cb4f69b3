"""Every cell of the seed tables, as the presets hold it (shared/seeds/000 and 001).

Hours of 24 or more in the seeds are business days in the presets (24時間 = 1bd, 48時間 = 2bd,
72時間 = 3bd, 5日 = 5bd); everything shorter is written exactly as the seed writes it.
"""

from __future__ import annotations

import pytest

from leadclock.policy import Duration, load_preset
from leadclock.policy.models import CadenceSla, ClockSla

D = Duration.parse


def clock(policy, stage, source=None, tier=None) -> ClockSla | None:
    sla = policy.stage_sla(stage, source, tier)
    assert sla is None or isinstance(sla, ClockSla)
    return sla


def target(policy, stage, source=None, tier=None) -> Duration | None:
    sla = clock(policy, stage, source, tier)
    return None if sla is None else sla.target


# 001 「実際のSLAテンプレート」 B2B SaaS: type, assignment, first contact, min attempts (48h), qualification, handoff
B2B_SAAS = [
    ("demo_request", "30s", "5m", 6, "1bd", "1bd"),
    ("free_trial", "1m", "10m", 4, "2bd", "2bd"),
    ("pricing_inquiry", "30s", "5m", 6, "1bd", "1bd"),
    ("content_download", "2m", "30m", 3, "3bd", "3bd"),
    ("webinar", "2m", "1h", 3, "3bd", "3bd"),
]

# 001 「実際のSLAテンプレート」 enterprise: min attempts in week 1 (5 business days)
ENTERPRISE = [
    ("named_account_inbound", "immediate", "10m", 8, "5bd", "3bd"),
    ("referral", "1m", "15m", 6, "5bd", "3bd"),
    ("conference", "5m", "4h", 4, "7bd", "5bd"),
    ("whitepaper", "5m", "24h", 3, "10bd", "5bd"),
]


@pytest.mark.parametrize(("source", "assign", "first", "attempts", "qual", "handoff"), B2B_SAAS)
def test_b2b_saas_template(source, assign, first, attempts, qual, handoff):
    policy = load_preset("b2b-saas")
    tier = policy.sources[source].priority
    assert target(policy, "assignment", source, tier) == D(assign)
    assert target(policy, "first_contact", source, tier) == D(first)
    cadence = policy.stage_sla("cadence", source, tier)
    assert isinstance(cadence, CadenceSla)
    assert cadence.min_attempts == attempts
    assert cadence.window == D("2bd")  # 最小試行(48時間)
    assert target(policy, "qualification", source, tier) == D(qual)
    assert target(policy, "handoff", source, tier) == D(handoff)


def test_b2b_saas_lines():
    policy = load_preset("b2b-saas")
    assert list(policy.sources) == [row[0] for row in B2B_SAAS]
    rule = policy.escalations["demo_pricing_not_contacted"]
    assert rule.trigger.kind == "not_contacted"
    assert rule.trigger.after == D("15m")
    assert rule.trigger.sources == ["demo_request", "pricing_inquiry"]
    assert [step.notify for step in rule.steps] == [["manager"]]
    assert policy.compliance.team == 90
    assert policy.compliance.individual == 85
    kinds = {r.kind: r.to for r in policy.reports.values()}
    assert kinds == {
        "end_of_day_digest": ["rep"],
        "weekly_scorecard": ["manager"],
        "monthly_review": ["rep", "manager"],
    }


@pytest.mark.parametrize(("source", "assign", "first", "attempts", "qual", "handoff"), ENTERPRISE)
def test_enterprise_template(source, assign, first, attempts, qual, handoff):
    policy = load_preset("enterprise")
    tier = policy.sources[source].priority
    assert target(policy, "assignment", source, tier) == D(assign)
    assert target(policy, "first_contact", source, tier) == D(first)
    cadence = policy.stage_sla("cadence", source, tier)
    assert cadence.min_attempts == attempts
    assert cadence.window == D("5bd")  # 1週目
    assert target(policy, "qualification", source, tier) == D(qual)
    assert target(policy, "handoff", source, tier) == D(handoff)


def test_enterprise_lines():
    policy = load_preset("enterprise")
    assert list(policy.sources) == [row[0] for row in ENTERPRISE]
    rule = policy.escalations["named_account_not_contacted"]
    assert (rule.trigger.kind, rule.trigger.after) == ("not_contacted", D("30m"))
    assert rule.trigger.sources == ["named_account_inbound"]
    assert rule.steps[0].notify == ["vp_sales"]
    assert policy.compliance.sources == {"named_account_inbound": 95}
    assert policy.compliance.default_source == 85
    assert {r.kind for r in policy.reports.values()} == {
        "dashboard",
        "one_on_one",
        "quarterly_review",
    }


# 001 「リードタイプ別レスポンス時間コミットメント」: source, priority, assignment, first contact, qualification, handoff
COMMITMENTS = [
    ("demo_request", "hot", "30s", "3m", "1bd", "1bd"),
    ("pricing_page", "hot", "30s", "5m", "1bd", "1bd"),
    ("inbound_call", "hot", "immediate", "immediate", "1bd", "1bd"),
    ("content_download", "warm", "1m", "15m", "3bd", "2bd"),
    ("webinar", "warm", "1m", "15m", "3bd", "2bd"),
    ("newsletter", "cold", "5m", "4h", "5bd", None),  # 引き継ぎ N/A
    ("event", "warm", "1m", "4h", "3bd", "2bd"),  # 同日 is the maximum of the first-contact table
]


@pytest.mark.parametrize(("source", "priority", "assign", "first", "qual", "handoff"), COMMITMENTS)
def test_lead_type_commitments(source, priority, assign, first, qual, handoff):
    policy = load_preset("lead-types")
    assert policy.sources[source].priority == priority
    assert target(policy, "assignment", source, priority) == D(assign)
    assert target(policy, "first_contact", source, priority) == D(first)
    assert target(policy, "qualification", source, priority) == D(qual)
    expected = None if handoff is None else D(handoff)
    assert target(policy, "handoff", source, priority) == expected


# 001 first-contact table: lead type, target, maximum acceptable
FIRST_CONTACT = [
    ("demo_request", "3m", "10m"),
    ("pricing_inquiry", "3m", "10m"),
    ("talk_to_sales", "3m", "10m"),
    ("inbound_call", "immediate", "5m"),
    ("content_download", "15m", "60m"),
    ("webinar", "15m", "60m"),
    ("newsletter", "4h", "24h"),
    ("event", "4h", "same_day"),
]


@pytest.mark.parametrize(("source", "goal", "maximum"), FIRST_CONTACT)
def test_first_contact_table(source, goal, maximum):
    policy = load_preset("lead-types")
    sla = clock(policy, "first_contact", source, policy.sources[source].priority)
    assert (sla.target, sla.max) == (D(goal), D(maximum))


def test_source_groups_and_referral():
    policy = load_preset("lead-types")
    referral = policy.sources["referral"]
    assert referral.priority == "hot"
    assert referral.handling.ja == "手動、高タッチ"
    assert target(policy, "first_contact", "referral", "hot") == D("immediate")
    assert target(policy, "qualification", "referral", "hot") == D("2bd")  # 48時間


# 001 「優先度ティアの定義」: tier, score, assignment, first contact, escalation after, notify
TIERS = [
    ("hot", ">80", "immediate", "3m", "10m", ["rep", "manager"]),
    ("warm", "50-80", "1m", "15m", "60m", ["manager"]),
    ("cold", "<50", "5m", "4h", None, None),
]


@pytest.mark.parametrize(("tier", "score", "assign", "first", "escalate", "notify"), TIERS)
def test_tier_table(tier, score, assign, first, escalate, notify):
    policy = load_preset("base")
    definition = policy.tiers[tier]
    assert definition.score == score
    assert definition.sla.assignment.target == D(assign)
    assert definition.sla.first_contact.target == D(first)
    rules = [
        r
        for r in policy.escalations.values()
        if r.trigger.kind == "not_contacted"
        and r.trigger.tiers == [tier]
        and r.steps[0].action == "notify"
    ]
    if escalate is None:
        assert rules == []  # エスカレーション:なし
    else:
        assert [(r.trigger.after, r.steps[0].notify) for r in rules] == [(D(escalate), notify)]


def test_tier_pools_and_order():
    policy = load_preset("base")
    assert policy.tier_order() == ["hot", "warm", "cold"]
    assert policy.tiers["hot"].pool.ja == "トップパフォーマーのみ"
    assert policy.tiers["warm"].pool.ja == "標準ローテーション"
    assert policy.tiers["cold"].pool.ja == "ジュニア担当者またはSDRチーム"


# 001 「最小コンタクト試行要件」
CADENCES = [
    (
        "hot",
        6,
        "2bd",
        [
            (None, None, ["call"]),
            ("10m", None, ["call"]),
            ("2h", None, ["email"]),
            ("4h", None, ["call"]),
            (None, 2, ["call", "email"]),
            (None, 3, ["call", "email"]),
        ],
    ),
    (
        "warm",
        4,
        "5bd",
        [
            (None, None, ["call"]),
            (None, None, ["email"]),
            (None, 2, ["call"]),
            (None, 3, ["email"]),
            (None, 5, ["call"]),
        ],
    ),
    ("cold", 2, "5bd", [(None, None, ["email"]), (None, 3, ["call", "email"])]),
]


@pytest.mark.parametrize(("tier", "attempts", "window", "steps"), CADENCES)
def test_cadences(tier, attempts, window, steps):
    cadence = load_preset("base").tiers[tier].sla.cadence
    assert cadence.min_attempts == attempts
    assert cadence.window == D(window)
    got = [
        (None if s.after is None else str(s.after), s.day, list(s.channels)) for s in cadence.steps
    ]
    assert got == steps


def test_follow_up_rules():
    follow = load_preset("base").defaults.follow_up
    assert (
        follow["qualified"].every,
        follow["qualified"].every_max,
        follow["qualified"].max_idle,
    ) == (D("1bd"), D("2bd"), D("3bd"))  # 24-48時間ごと、3日以上放置しない
    assert (follow["in_progress"].every, follow["in_progress"].every_max) == (D("3bd"), D("5bd"))
    assert (follow["nurture"].every, follow["nurture"].every_max) == (D("30d"), D("60d"))


# 001 エスカレーショントリガー and 自動SLA違反アラート
ESCALATIONS = [
    ("hot_cadence_exhausted", "cadence_exhausted", None, ["manager"]),
    ("qualified_idle", "idle", "5bd", ["rep", "manager"]),
    ("unassigned", "unassigned", "5m", ["sales_ops"]),
    ("not_handed_off", "not_handed_off", "2bd", ["sdr_manager", "ae_manager"]),
    ("no_activity_reassign", "not_contacted", "15m", ["manager"]),
    ("after_hours_not_worked", "not_contacted", "30m", ["manager"]),
]


@pytest.mark.parametrize(("name", "kind", "after", "notify"), ESCALATIONS)
def test_base_escalations(name, kind, after, notify):
    rule = load_preset("base").escalations[name]
    assert rule.trigger.kind == kind
    assert rule.trigger.after == (None if after is None else D(after))
    assert rule.steps[0].notify == notify


def test_compliance_escalation_and_manual_lines():
    policy = load_preset("base")
    low = policy.escalations["rep_compliance_low"].trigger
    assert (low.threshold, low.period) == (70, D("2w"))
    high = policy.escalations["high_value"].trigger
    assert (high.kind, high.value_above, high.currency) == ("manual", 100000, "USD")
    assert policy.escalations["no_activity_reassign"].steps[0].action == "reassign"
    assert policy.escalations["after_hours_not_worked"].trigger.arrived_after_hours
    assert [s.action for s in policy.escalations["handoff_not_accepted"].steps] == [
        "manager_queue",
        "notify",
    ]


def test_smb_handoff_sla():
    """000: 4-hour contact SLA, required fields, 4-hour escalation; hot 1-4h, outbound 4-8h, MQL 24h."""
    policy = load_preset("smb")
    assert policy.handoff.required_fields == ["budget", "timeline", "next_step"]
    assert policy.defaults.acceptance.target == D("4h")
    rows = {
        "inbound_demo": ("1h", "4h"),
        "outbound_qualified": ("4h", "8h"),
        "marketing_qualified": ("1bd", None),
    }
    for source, (goal, maximum) in rows.items():
        sla = clock(policy, "acceptance", source, policy.sources[source].priority)
        assert sla.target == D(goal)
        assert sla.max == (None if maximum is None else D(maximum))
    escalation = policy.escalations["handoff_not_contacted"]
    assert (escalation.trigger.kind, escalation.trigger.clock) == ("breach", "acceptance")
    assert escalation.steps[0].notify == ["manager"]
    assert policy.escalations["handoff_alert"].steps[0].channels == ["slack"]


@pytest.mark.parametrize("name", ["base", "lead-types", "b2b-saas", "enterprise", "smb"])
def test_preset_defaults(name):
    policy = load_preset(name)
    assert policy.org.timezone == "Asia/Tokyo"
    assert policy.org.currency == "JPY"
    assert policy.org.locale == "ja"
    business = policy.calendars["business"]
    assert business.holidays.countries == ["JP"]
    assert {d: v for d, v in business.weekly.items()} == {
        d: [("09:00", "18:00")] for d in ("mon", "tue", "wed", "thu", "fri")
    }
    assert policy.calendars["always"].always
    assert len(policy.version) == 16
