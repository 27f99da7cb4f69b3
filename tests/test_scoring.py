"""Lead scoring (F5) and tiers (F6): the 003 example as worked examples, with every reason kept."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadclock.policy import Policy, PolicyError, load_policy_text, load_preset
from leadclock.scoring import (
    ScoreCard,
    apply_decay,
    apply_engagement,
    apply_unsubscribe,
    detect_flags,
    email_domain,
    is_academic,
    is_free_mail,
    mql_check,
    score_lead,
    tier_for,
    update_attributes,
)

AT = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)  # Monday 10:00 in Tokyo
BASE = load_preset("base")
TYPES = load_preset("lead-types")  # base + the 001 lead-source table with priorities

# 003: a SaaS VP at a 1000+ company in a target account, writing from the company's domain.
IDEAL = {
    "industry": "SaaS",
    "employees": 1200,
    "title": "VP of Sales",
    "account": "Tier 1 accounts",
    "email": "taro@acme.co.jp",
}


def policy(text: str):
    return load_policy_text(textwrap.dedent(text), "p.yaml")


def problems_of(text: str) -> list[str]:
    with pytest.raises(PolicyError) as caught:
        policy(text)
    return [str(p) for p in caught.value.problems]


# --------------------------------------------------------------------------- 003 worked examples


def test_ideal_lead_scores_200_with_a_reason_per_attribute():
    card = score_lead(IDEAL, AT, BASE)
    assert card.score == 200
    assert [c.reason for c in card.history] == [
        "+50 industry HIGH: SaaS",
        "+50 employees HIGH: 1200 (>=1000)",
        "+50 title HIGH: VP of Sales (VP)",
        "+50 target_account HIGH: Tier 1 accounts",
    ]
    assert [c.rule for c in card.history] == [
        "icp.industry.high", "icp.employees.high", "icp.title.high", "icp.target_account.high",
    ]
    assert all(c.at == AT for c in card.history)
    assert card.tier_from_score == "hot"
    assert card.flags == {}


def test_free_mail_takes_20_off():
    card = score_lead({**IDEAL, "email": "taro@gmail.com"}, AT, BASE)
    assert card.score == 180
    assert card.history[-1].reason == "-20 free_mail: gmail.com"
    assert card.history[-1].rule == "negative.free_mail"
    assert card.flags == {"free_mail": "gmail.com"}


@pytest.mark.parametrize(
    ("attributes", "points", "reason"),
    [
        ({"industry": "IT Services"}, 10, "+10 industry MID: IT Services"),
        ({"industry": "Manufacturing"}, 5, "+5 industry LOW: Manufacturing"),
        ({"industry": "saas"}, 50, "+50 industry HIGH: saas"),  # case-insensitive
        ({"industry": "ＳａａＳ"}, 50, "+50 industry HIGH: ＳａａＳ"),  # full-width from a form
        ({"industry": "Retail"}, 0, None),
        ({"employees": 1000}, 50, "+50 employees HIGH: 1000 (>=1000)"),
        ({"employees": 999}, 10, "+10 employees MID: 999 (100-999)"),
        ({"employees": 100}, 10, "+10 employees MID: 100 (100-999)"),
        ({"employees": 99}, 5, "+5 employees LOW: 99 (<100)"),
        ({"employees": "2,500"}, 50, "+50 employees HIGH: 2500 (>=1000)"),
        ({"employees": "1,000-4,999"}, 50, "+50 employees HIGH: 1000 (>=1000)"),  # CRM picklist
        ({"employees": "<50"}, 5, "+5 employees LOW: 49 (<100)"),
        ({"employees": "many"}, 0, None),
        ({"title": "営業部長"}, 50, "+50 title HIGH: 営業部長 (部長)"),
        ({"title": "マーケティング課長"}, 10, "+10 title MID: マーケティング課長 (課長)"),
        ({"title": "sales director"}, 50, "+50 title HIGH: sales director (Director)"),
        ({"title": "Sales Manager"}, 10, "+10 title MID: Sales Manager (Manager)"),
        ({"title": "Engineer"}, 0, None),
        ({"company": "Tier 2 accounts"}, 10, "+10 target_account MID: Tier 2 accounts"),
        ({"account": "tier 3 ACCOUNTS"}, 5, "+5 target_account LOW: tier 3 ACCOUNTS"),
    ],
)
def test_each_attribute_level(attributes, points, reason):
    card = score_lead(attributes, AT, BASE)
    assert card.score == points
    assert [c.reason for c in card.history] == ([reason] if reason else [])


def test_highest_level_wins_when_several_match():
    # "Director" (HIGH) and "Manager" (MID) both appear: one change, the higher.
    card = score_lead({"title": "Director, Product Manager"}, AT, BASE)
    assert card.score == 50
    assert len(card.history) == 1


def test_behaviour_points():
    card = score_lead({"industry": "SaaS"}, AT, BASE)
    (download,) = apply_engagement(card, "report_download", AT + timedelta(days=1), BASE)
    assert (download.points, download.reason, download.rule) == (20, "+20 report_download",
                                                                 "behaviour.report_download")
    (assessment,) = apply_engagement(card, "assessment_request", AT + timedelta(days=2), BASE)
    assert (assessment.points, assessment.reason) == (80, "+80 assessment_request")
    assert card.score == 150
    assert apply_engagement(card, "email_open", AT, BASE) == []  # no points in the policy
    assert card.score == 150


def test_decay_10_per_full_30_days_without_engagement():
    card = score_lead(IDEAL, AT, BASE)
    last = AT
    assert apply_decay(card, last, last + timedelta(days=29, hours=23), BASE) == []
    (first,) = apply_decay(card, last, last + timedelta(days=30), BASE)
    assert (first.points, first.at, first.rule) == (-10, last + timedelta(days=30), "decay")
    assert first.reason == "-10 decay: no engagement for 30d"
    second = apply_decay(card, last, last + timedelta(days=65), BASE)
    assert [c.reason for c in second] == ["-10 decay: no engagement for 60d"]
    assert card.score == 180
    # The same (or an earlier) now again changes nothing.
    assert apply_decay(card, last, last + timedelta(days=65), BASE) == []
    assert apply_decay(card, last, last + timedelta(days=40), BASE) == []
    assert card.score == 180


def test_decay_restarts_after_engagement():
    card = score_lead(IDEAL, AT, BASE)
    apply_decay(card, AT, AT + timedelta(days=35), BASE)  # -10
    engaged = AT + timedelta(days=36)
    apply_engagement(card, "report_download", engaged, BASE)  # +20
    assert apply_decay(card, engaged, engaged + timedelta(days=29), BASE) == []
    assert len(apply_decay(card, engaged, engaged + timedelta(days=31), BASE)) == 1
    assert card.score == 200 - 10 + 20 - 10


def test_unsubscribe_takes_50_off():
    card = score_lead(IDEAL, AT, BASE)
    change = apply_unsubscribe(card, AT + timedelta(days=3), BASE)
    assert (change.points, change.reason, change.rule) == (-50, "-50 unsubscribe", "unsubscribe")
    assert card.score == 150
    # An engagement event whose action is unsubscribe does the same.
    (again,) = apply_engagement(card, "unsubscribe", AT + timedelta(days=4), BASE)
    assert again.points == -50
    assert card.score == 100


def test_mql_at_100_or_a_trigger_action():
    card = score_lead({"industry": "SaaS", "employees": 1500}, AT, BASE)  # 100
    assert mql_check(card, [], BASE) == "score 100 ≥ 100"
    low = score_lead({"industry": "SaaS", "title": "課長", "employees": 500}, AT, BASE)  # 70
    assert low.score == 70
    assert mql_check(low, ["report_download"], BASE) is None
    assert mql_check(low, ["demo_request"], BASE) == "trigger action demo_request"
    assert mql_check(low, ["contact_form", "contact_form"], BASE) == "trigger action contact_form"
    apply_engagement(low, "report_download", AT, BASE)  # 90
    assert mql_check(low, [], BASE) is None
    apply_engagement(low, "report_download", AT, BASE)  # 110
    assert mql_check(low, [], BASE) == "score 110 ≥ 100"


def test_every_history_entry_has_a_signed_reason():
    card = score_lead({**IDEAL, "email": "student@u-tokyo.ac.jp", "title": "学生"}, AT, BASE)
    apply_engagement(card, "report_download", AT, BASE)
    apply_decay(card, AT, AT + timedelta(days=61), BASE)
    apply_unsubscribe(card, AT + timedelta(days=62), BASE)
    for change in card.history:
        sign = f"{change.points:+d} "
        assert change.reason.startswith(sign), change
        assert change.rule
    assert card.lines()[0].startswith(AT.isoformat())
    assert {"negative.student", "negative.academic"} <= {c.rule for c in card.history}


def test_negative_flags_from_domain_lists_and_attributes():
    p = policy("""\
        extends: base
        scoring:
          competitor_domains: [rival.co.jp]
          peer_domains: [peer.example.com]
          negative: {competitor: -100, peer_company: -50, government: -30}
    """)
    competitor = score_lead({"email": "a@jp.rival.co.jp"}, AT, p)
    assert [c.reason for c in competitor.history] == ["-100 competitor: jp.rival.co.jp"]
    peer = score_lead({"email": "a@peer.example.com"}, AT, p)
    assert peer.score == -50
    flagged = score_lead({"email": "a@ok.co.jp", "competitor": True, "government": "yes"}, AT, p)
    assert [c.reason for c in flagged.history] == [
        "-100 competitor: flagged on the lead", "-30 government: flagged on the lead",
    ]
    assert score_lead({"email": "a@rival.co.jp.evil.com"}, AT, p).score == 0


def test_student_from_the_title_or_the_lead():
    assert detect_flags({"title": "大学院生"}, BASE) == {"student": "title: 大学院生"}
    assert detect_flags({"title": "Graduate Student"}, BASE) == {
        "student": "title: Graduate Student"
    }
    assert detect_flags({"title": "Student Success Manager"}, BASE) == {}
    assert detect_flags({"student": True}, BASE) == {"student": "flagged on the lead"}
    assert detect_flags({"student": False}, BASE) == {}


def test_update_attributes_adds_only_the_differences():
    card = score_lead(IDEAL, AT, BASE)
    later = AT + timedelta(days=2)
    changes = update_attributes(card, {**IDEAL, "title": "Sales Manager"}, later, BASE)
    assert [(c.points, c.reason) for c in changes] == [
        (10, "+10 title MID: Sales Manager (Manager)"),
        (-50, "-50 title HIGH: no longer applies"),
    ]
    assert card.score == 160
    assert update_attributes(card, {**IDEAL, "title": "Sales Manager"}, later, BASE) == []
    (free,) = update_attributes(
        card, {**IDEAL, "title": "Sales Manager", "email": "t@gmail.com"}, later, BASE
    )
    assert free.reason == "-20 free_mail: gmail.com"
    assert card.flags == {"free_mail": "gmail.com"}
    assert card.score == sum(c.points for c in card.history)


def test_time_must_be_timezone_aware():
    with pytest.raises(ValueError, match="timezone-aware"):
        score_lead(IDEAL, datetime(2026, 1, 5), BASE)


def test_card_round_trips_through_json():
    card = score_lead({**IDEAL, "email": "a@gmail.com"}, AT, BASE)
    apply_engagement(card, "report_download", AT, BASE)
    again = ScoreCard.from_dict(card.to_dict())
    assert again == card


# --------------------------------------------------------------------------- email domains


@pytest.mark.parametrize(
    "email",
    ["taro@gmail.com", "Taro@GMAIL.COM", "hanako@yahoo.co.jp", "x@outlook.jp", "x@icloud.com",
     "taro＠gmail.com", " <x@hotmail.co.jp> ", "gmail.com"],
)
def test_free_mail(email):
    assert is_free_mail(email)


@pytest.mark.parametrize(
    "email", ["taro@acme.co.jp", "x@salesforce.com", "x@mail.acme.com", "", None, "no-at-sign"]
)
def test_not_free_mail(email):
    assert not is_free_mail(email)


def test_free_mail_policy_additions_and_exceptions():
    # Japanese carrier mail is not in the package list; the base preset adds it.
    assert not is_free_mail("x@docomo.ne.jp")
    assert is_free_mail("x@docomo.ne.jp", policy=BASE)
    assert score_lead({"email": "x@ezweb.ne.jp"}, AT, BASE).score == -20
    p = policy("extends: base\nscoring: {not_free_mail: [gmail.com]}\n")
    assert not is_free_mail("x@gmail.com", policy=p)
    assert score_lead({"email": "x@gmail.com"}, AT, p).score == 0


@pytest.mark.parametrize(
    ("email", "academic"),
    [
        ("a@u-tokyo.ac.jp", True), ("a@is.s.u-tokyo.ac.jp", True), ("a@ox.ac.uk", True),
        ("a@stanford.edu", True), ("a@cs.stanford.edu", True), ("a@unsw.edu.au", True),
        ("a@pku.edu.cn", True), ("a@school.ed.jp", True), ("a@acme.co.jp", False),
        ("a@academy.com", False), ("a@edu.example.com", False), ("a@ac.jp", False),
        ("a@keio.jp", False), ("a@gmail.com", False),
    ],
)
def test_academic(email, academic):
    assert is_academic(email) is academic


def test_academic_policy_additions():
    p = policy("extends: base\nscoring: {academic_domains: [keio.jp]}\n")
    assert is_academic("a@sfc.keio.jp", policy=p)
    assert score_lead({"email": "a@keio.jp"}, AT, p).history[0].reason == "-50 academic: keio.jp"


def test_email_domain():
    assert email_domain("Taro.Yamada@Example.CO.JP") == "example.co.jp"
    assert email_domain("taro＠example.jp") == "example.jp"
    assert email_domain("nobody") is None


# --------------------------------------------------------------------------- tiers (F6)


@pytest.mark.parametrize(
    ("score", "tier"), [(81, "hot"), (80, "warm"), (50, "warm"), (49, "cold"), (-20, "cold")]
)
def test_tier_thresholds(score, tier):
    decision = tier_for(score, [], None, BASE)
    assert decision.tier == tier
    assert decision.reason == f"{tier}: score {score} → {tier}"


def test_intent_signal_makes_a_lead_hot_whatever_its_score():
    decision = tier_for(10, ["report_download", "demo_request"], None, BASE)
    assert decision.tier == "hot"
    assert decision.reason == "hot: score 10 → cold; signal demo_request → hot"
    assert tier_for(10, ["report_download"], None, BASE).tier == "cold"


def test_card_gives_its_score():
    card = score_lead(IDEAL, AT, BASE)
    assert tier_for(card, [], None, BASE).tier == card.tier_from_score == "hot"


@pytest.mark.parametrize(
    ("score", "source", "tier"),
    [
        (120, "newsletter", "hot"),  # score hot, source cold: hot
        (10, "webinar", "warm"),  # score cold, source warm: warm
        (10, "demo_request", "hot"),
        (60, "newsletter", "warm"),
        (60, "unknown_source", "warm"),  # unknown source: the score decides
    ],
)
def test_stricter_of_score_tier_and_source_priority_wins(score, source, tier):
    decision = tier_for(score, [], source, TYPES)
    assert decision.tier == tier
    assert TYPES.effective_tier(decision.score_tier, source) == tier


def test_stricter_reason_names_both_sides():
    decision = tier_for(10, [], "webinar", TYPES)
    assert decision.reason == (
        "warm: score 10 → cold; source webinar → warm; the stricter of score and source wins"
    )
    assert (decision.score_tier, decision.source_tier) == ("cold", "warm")


def test_priority_rule_switch():
    by_source = policy("extends: lead-types\nscoring: {priority_rule: source}\n")
    assert tier_for(120, [], "newsletter", by_source).tier == "cold"
    assert tier_for(120, [], None, by_source).tier == "hot"  # no source: the score decides
    by_score = policy("extends: lead-types\nscoring: {priority_rule: score}\n")
    assert tier_for(10, [], "demo_request", by_score).tier == "cold"
    assert tier_for(10, ["demo_request"], "newsletter", by_score).tier == "hot"  # signals count
    assert "priority_rule: score" in tier_for(10, [], "demo_request", by_score).reason


def test_no_tiers_no_tier():
    bare = Policy()  # no tiers, no sources
    decision = tier_for(500, ["demo_request"], "x", bare)
    assert decision.tier is None
    assert decision.reason == "no tier: score 500 → no tier"


# --------------------------------------------------------------------------- policy validation


def test_base_preset_icp_matching_is_explicit():
    icp = BASE.icp
    assert icp["employees"].resolved_match("employees") == "band"
    assert icp["title"].resolved_match("title") == "pattern"
    assert icp["industry"].resolved_match("industry") == "exact"
    assert icp["target_account"].attributes_read("target_account") == ("account", "company")


@pytest.mark.parametrize(
    ("band", "inside", "outside"),
    [
        ("1000人以上", 1000, 999), ("100人-999人", 100, 1000), ("99人以下", 99, 100),
        ("100人未満", 99, 100), ("1000人超", 1001, 1000), ("1,000+", 1000, 999),
        ("＞＝５００", 500, 499), ("10~49", 10, 50), (">1000", 1001, 1000),
    ],
)
def test_band_forms(band, inside, outside):
    p = policy(f"""\
        extends: base
        icp:
          employees: {{high: ["{band}"], mid: [], low: []}}
    """)
    assert score_lead({"employees": inside}, AT, p).score == 50
    assert score_lead({"employees": outside}, AT, p).score == 0


def test_regex_title_patterns():
    p = policy(r"""
        extends: base
        icp:
          title: {high: ["/^(chief|c[etmf]o)\\b/"], mid: [], low: []}
    """)
    assert score_lead({"title": "CTO"}, AT, p).score == 50
    assert score_lead({"title": "Chief Revenue Officer"}, AT, p).score == 50
    assert score_lead({"title": "Deputy CTO"}, AT, p).score == 0


@pytest.mark.parametrize(
    ("text", "path", "words"),
    [
        ("scoring:\n  icp_points: {top: 60}\n", "scoring.icp_points",
         "unknown importance level 'top'"),
        ("icp:\n  industry:\n    highest: [SaaS]\n", "icp.industry",
         "importance levels are high, mid and low"),
        ("scoring:\n  behaviour: {report_download: 20.5}\n",
         "scoring.behaviour.report_download", "valid integer"),
        ("scoring:\n  behaviour: {report_download: twenty}\n",
         "scoring.behaviour.report_download", "valid integer"),
        ("scoring:\n  icp_points: {high: '50'}\n", "scoring.icp_points.high", "valid integer"),
        ("scoring:\n  mql_threshold: 99.5\n", "scoring.mql_threshold", "valid integer"),
        ("scoring:\n  negative: {free_mail: 20}\n", "scoring.negative", "write -20, not 20"),
        ("scoring:\n  unsubscribe: 50\n", "scoring.unsubscribe", "write -50, not 50"),
        ("scoring:\n  decay_after: 3bd\n", "scoring.decay_after", "calendar days"),
        ("scoring:\n  decay_after: 12h\n", "scoring.decay_after", "calendar days"),
        ("scoring:\n  priority_rule: loosest\n", "scoring.priority_rule", "'stricter'"),
        ("scoring:\n  competitor_domains: ['not a domain']\n", "scoring.competitor_domains",
         "not a mail domain"),
        ("icp:\n  employees:\n    high: ['>=abc']\n", "icp.employees.high",
         "not an employee band"),
        ("icp:\n  employees:\n    mid: ['999-100']\n", "icp.employees.mid", "runs backwards"),
        ("icp:\n  employees:\n    mid: ['100-']\n", "icp.employees.mid", "not an employee band"),
        ("icp:\n  size:\n    high: ['>=1000']\n    low: [small]\n", "icp.size",
         "mixes number bands"),
        ("icp:\n  title:\n    high: ['/[unclosed/']\n", "icp.title.high",
         "not a valid regular expression"),
        ("icp:\n  industry:\n    match: fuzzy\n", "icp.industry.match", "'exact'"),
    ],
)
def test_bad_scoring_policy_names_the_key(text, path, words):
    found = problems_of("extends: base\n" + text)
    assert len(found) == 1, found
    assert f": {path}: " in found[0]
    assert words in found[0]
    assert found[0].startswith("p.yaml:")  # with the line


def test_band_like_industry_name_can_be_matched_exactly():
    p = policy("""\
        extends: base
        icp:
          industry: {match: exact, high: ["3M", "100-999"], mid: [], low: []}
    """)
    assert score_lead({"industry": "100-999"}, AT, p).score == 50


# --------------------------------------------------------------------------- properties

ATTRIBUTES = st.fixed_dictionaries(
    {},
    optional={
        "industry": st.sampled_from(["SaaS", "IT Services", "Manufacturing", "Retail", "ｓａａｓ"]),
        "employees": st.one_of(st.integers(-5, 100_000), st.just("1,200"), st.just("lots")),
        "title": st.sampled_from(["VP", "営業部長", "課長", "Staff", "学生", "Engineer", ""]),
        "account": st.sampled_from(["Tier 1 accounts", "Tier 2 accounts", "Other"]),
        "company": st.text(max_size=8),
        "email": st.sampled_from(["a@gmail.com", "a@acme.co.jp", "a@u-tokyo.ac.jp", "bad", ""]),
        "competitor": st.booleans(),
        "student": st.sampled_from([True, False, "yes", "no", 1, 0]),
    },
)
OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("engage"), st.sampled_from(
            ["report_download", "assessment_request", "email_open", "unsubscribe"])),
        st.tuples(st.just("decay"), st.integers(0, 400)),
        st.tuples(st.just("unsubscribe"), st.just(0)),
        st.tuples(st.just("update"), ATTRIBUTES),
    ),
    max_size=12,
)


@settings(max_examples=200, deadline=None)
@given(ATTRIBUTES, OPERATIONS)
def test_score_is_the_sum_of_its_history(attributes, operations):
    card = score_lead(attributes, AT, BASE)
    for kind, arg in operations:
        if kind == "engage":
            apply_engagement(card, arg, AT + timedelta(days=1), BASE)
        elif kind == "decay":
            apply_decay(card, AT, AT + timedelta(days=arg), BASE)
        elif kind == "unsubscribe":
            apply_unsubscribe(card, AT, BASE)
        else:
            update_attributes(card, arg, AT, BASE)
        assert card.score == sum(c.points for c in card.history)
        assert card.tier_from_score == tier_for(card.score, [], None, BASE).tier
        assert all(c.reason.startswith(f"{c.points:+d} ") for c in card.history)


@settings(max_examples=200, deadline=None)
@given(ATTRIBUTES, st.integers(0, 2000), st.integers(0, 2000))
def test_decay_is_idempotent_and_path_independent(attributes, first_day, second_day):
    last = AT + timedelta(hours=7)
    once = score_lead(attributes, AT, BASE)
    stepped = score_lead(attributes, AT, BASE)
    end = last + timedelta(days=max(first_day, second_day))
    apply_decay(once, last, end, BASE)
    apply_decay(stepped, last, last + timedelta(days=first_day), BASE)
    apply_decay(stepped, last, last + timedelta(days=second_day), BASE)
    apply_decay(stepped, last, end, BASE)
    assert apply_decay(stepped, last, end, BASE) == []
    assert stepped.score == once.score
    assert stepped.score == score_lead(attributes, AT, BASE).score - 10 * ((end - last).days // 30)
