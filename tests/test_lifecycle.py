"""The lead lifecycle (F7): the transition table, refusals with reasons, nurture, re-evaluation."""

from __future__ import annotations

import textwrap
from datetime import UTC, date, datetime, timedelta
from itertools import product

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadclock.engine.events import STATUSES
from leadclock.policy import PolicyError, load_policy_text, load_preset
from leadclock.scoring import ScoreCard, apply_engagement, score_lead
from leadclock.scoring.lifecycle import (
    EXITS,
    FINAL,
    OPEN,
    PARKED,
    TRANSITIONS,
    IllegalTransition,
    Stage,
    Transition,
    marketing_feedback,
    mql_check,
    on_engagement,
    sql_fields,
    stage_for_status,
    transition,
    transition_table,
    unqualified_check,
)

AT = datetime(2026, 3, 31, 16, 0, tzinfo=UTC)  # 2026-04-01 01:00 in Tokyo
TODAY_TOKYO = date(2026, 4, 1)
BASE = load_preset("base")
DIRECT = load_policy_text("extends: base\nlifecycle: {direct_sql: true}\n", "p.yaml")
# The base preset checks BANT at the handoff only; this one also checks it at the status change.
STRICT = load_policy_text("extends: base\nlifecycle: {sql_fields: null}\n", "p.yaml")
BANT = {"budget": "¥5M", "authority": "部長", "need": "SLA tracking", "timeline": "Q3",
        "next_step": "demo on 4/10"}
ALLOWED = {(r.frm, r.to) for r in transition_table(DIRECT)}


def move(frm, to, policy=BASE, **extra):
    """A move with everything its rule needs, unless `extra` says otherwise."""
    kwargs = {"at": AT, "who": "sato", "why": "because", "policy": policy}
    if to is Stage.SQL:
        kwargs |= {"contacted": True, "fields": BANT}
    kwargs |= extra
    return transition(frm, to, **kwargs)


# --------------------------------------------------------------------------- the table


@pytest.mark.parametrize("rule", TRANSITIONS, ids=lambda r: f"{r.frm}->{r.to}")
def test_every_legal_transition(rule):
    policy = DIRECT if "direct_sql" in rule.needs else BASE
    done = move(rule.frm, rule.to, policy)
    assert isinstance(done, Transition)
    assert (done.frm, done.to, done.at, done.who, done.why) == (rule.frm, rule.to, AT, "sato",
                                                                 "because")
    assert (done.revisit is not None) == (rule.to is Stage.NURTURE)


ILLEGAL = [(a, b) for a, b in product(Stage, Stage) if (a, b) not in ALLOWED]


@pytest.mark.parametrize(("frm", "to"), ILLEGAL, ids=lambda s: str(s))
def test_every_illegal_transition_is_refused_with_from_to_and_why(frm, to):
    with pytest.raises(IllegalTransition) as caught:
        move(frm, to, DIRECT)
    error = caught.value
    assert (error.frm, error.to) == (frm, to)
    assert str(error).startswith(f"cannot move a lead from {frm} to {to}: ")
    assert len(error.reason) > 10
    assert isinstance(error, ValueError)


@pytest.mark.parametrize(
    ("frm", "to", "words"),
    [
        (Stage.MQL, Stage.WON, "won or lost only from opportunity"),
        (Stage.SQL, Stage.LOST, "won or lost only from opportunity"),
        (Stage.MQL, Stage.OPPORTUNITY, "only from an SQL"),
        (Stage.LEAD, Stage.SQL, "lifecycle.direct_sql"),
        (Stage.GARBAGE, Stage.LEAD, "garbage is final"),
        (Stage.WON, Stage.NURTURE, "won is final"),
        (Stage.NURTURE, Stage.SQL, "only an MQL becomes an SQL"),
        (Stage.OPPORTUNITY, Stage.MQL, "sent back by sales"),
        (Stage.LOST, Stage.LEAD, "goes back to lead"),
        (Stage.LOST, Stage.GARBAGE, "a lost deal only goes back to marketing"),
        (Stage.UNQUALIFIED, Stage.NURTURE, r"reopened \(lead\) or thrown away"),
        (Stage.MQL, Stage.MQL, "already in mql"),
    ],
)
def test_refusals_say_why(frm, to, words):
    with pytest.raises(IllegalTransition, match=words):
        move(frm, to)


def test_table_shape():
    # Won and Lost only from Opportunity; Garbage and Won are final; exits from every open stage.
    assert {r.frm for r in TRANSITIONS if r.to in (Stage.WON, Stage.LOST)} == {Stage.OPPORTUNITY}
    assert not [r for r in TRANSITIONS if r.frm in FINAL]
    for frm, to in product(OPEN, EXITS):
        assert (frm, to) in ALLOWED
    for parked in PARKED:
        assert {(parked, Stage.LEAD), (parked, Stage.MQL)} <= ALLOWED
    assert (Stage.LEAD, Stage.SQL) not in {(r.frm, r.to) for r in transition_table(BASE)}
    assert (Stage.LEAD, Stage.SQL) in ALLOWED


def test_unknown_stage():
    with pytest.raises(IllegalTransition, match="unknown stage 'qualified'"):
        transition("lead", "qualified", at=AT, who="x", why="y", policy=BASE)
    assert move("lead", "mql").to is Stage.MQL  # plain strings work


# --------------------------------------------------------------------------- what moves need


def test_sql_needs_contact_and_bant():
    with pytest.raises(IllegalTransition) as caught:
        transition(Stage.MQL, Stage.SQL, at=AT, who="sato", why="call went well", policy=STRICT,
                   fields={"budget": "¥5M", "need": "x"})
    message = str(caught.value)
    assert "not been contacted" in message
    assert "missing authority, timeline, next_step" in message
    with pytest.raises(IllegalTransition, match="missing next_step"):
        move(Stage.MQL, Stage.SQL, policy=STRICT, fields={k: v for k, v in BANT.items() if k != "next_step"})
    assert move(Stage.MQL, Stage.SQL, policy=STRICT).to is Stage.SQL
    # The base preset: contact is enough at the status change (BANT is checked at the handoff).
    assert transition(Stage.MQL, Stage.SQL, at=AT, who="sato", why="call went well", policy=BASE,
                      contacted=True).to is Stage.SQL
    with pytest.raises(IllegalTransition, match="not been contacted"):
        transition(Stage.MQL, Stage.SQL, at=AT, who="sato", why="call went well", policy=BASE)


def test_sql_fields_come_from_the_policy():
    assert sql_fields(STRICT) == BASE.handoff.required_fields
    assert sql_fields(BASE) == []
    p = load_policy_text(
        "extends: base\nlifecycle: {sql_fields: [budget, need], sql_requires_contact: false}\n",
        "p.yaml",
    )
    assert sql_fields(p) == ["budget", "need"]
    done = transition(Stage.MQL, Stage.SQL, at=AT, who="sato", why="BANT", policy=p,
                      fields={"budget": 1, "need": "x"})
    assert done.to is Stage.SQL


def test_unqualified_needs_a_reason_and_everything_says_who():
    with pytest.raises(IllegalTransition, match="give a reason"):
        move(Stage.LEAD, Stage.UNQUALIFIED, why="  ")
    with pytest.raises(IllegalTransition, match="say who"):
        move(Stage.LEAD, Stage.UNQUALIFIED, who="", why="competitor")
    done = move(Stage.LEAD, Stage.UNQUALIFIED, who="system", why="competitor: rival.co.jp")
    assert (done.who, done.why, done.at) == ("system", "competitor: rival.co.jp", AT)


def test_time_must_be_timezone_aware():
    with pytest.raises(ValueError, match="timezone-aware"):
        move(Stage.LEAD, Stage.MQL, at=datetime(2026, 4, 1))


# --------------------------------------------------------------------------- nurture


def test_nurture_revisit_defaults_from_the_policy_in_local_time():
    done = move(Stage.SQL, Stage.NURTURE)
    assert BASE.lifecycle.nurture_revisit is not None
    # 90 days after the Tokyo date of the move (UTC would still say March 31).
    assert done.revisit == TODAY_TOKYO + timedelta(days=90)


@pytest.mark.parametrize("given_revisit", [date(2026, 10, 1), "2026-10-01",
                                           datetime(2026, 10, 1, 3, tzinfo=UTC)])
def test_nurture_revisit_given(given_revisit):
    assert move(Stage.MQL, Stage.NURTURE, revisit=given_revisit).revisit == date(2026, 10, 1)


def test_nurture_revisit_must_be_in_the_future_and_only_for_nurture():
    with pytest.raises(IllegalTransition, match="not after today"):
        move(Stage.MQL, Stage.NURTURE, revisit=TODAY_TOKYO)
    with pytest.raises(IllegalTransition, match="is not a date"):
        move(Stage.MQL, Stage.NURTURE, revisit="next spring")
    with pytest.raises(IllegalTransition, match="only applies to nurture"):
        move(Stage.MQL, Stage.RECYCLED, revisit=date(2026, 10, 1))


def test_nurture_without_a_default_needs_a_date():
    p = load_policy_text("extends: base\nlifecycle: {nurture_revisit: null}\n", "p.yaml")
    assert p.lifecycle.nurture_revisit is None
    with pytest.raises(IllegalTransition, match="nurture needs a revisit date"):
        move(Stage.LEAD, Stage.NURTURE, p)
    assert move(Stage.LEAD, Stage.NURTURE, p, revisit="2026-07-01").revisit == date(2026, 7, 1)


# --------------------------------------------------------------------------- re-evaluation


def card_of(score: int) -> ScoreCard:
    return ScoreCard(score=score)


@pytest.mark.parametrize("parked", PARKED)
def test_parked_lead_that_engages_is_reevaluated_to_lead(parked):
    done = on_engagement(parked, "report_download", at=AT, card=card_of(40), policy=BASE)
    assert done is not None
    assert (done.frm, done.to, done.who) == (parked, Stage.LEAD, "system")
    assert done.why == "engaged again (report_download); not an MQL yet: score 40 < 100"


def test_nurtured_lead_that_now_qualifies_goes_straight_to_mql():
    card = score_lead({"industry": "SaaS", "employees": 5000}, AT, BASE)  # 100
    done = on_engagement(Stage.NURTURE, "report_download", at=AT, card=card, policy=BASE)
    assert done is not None and done.to is Stage.MQL
    assert done.why == "engaged again (report_download); MQL: score 100 ≥ 100"
    trigger = on_engagement(Stage.RECYCLED, "demo_request", at=AT, card=card_of(0), policy=BASE)
    assert trigger is not None and trigger.to is Stage.MQL
    assert "trigger action demo_request" in trigger.why


def test_lead_becomes_mql_when_an_engagement_qualifies_it():
    card = score_lead({"industry": "SaaS", "title": "課長", "employees": 500}, AT, BASE)  # 70
    apply_engagement(card, "report_download", AT, BASE)
    assert on_engagement(Stage.LEAD, "report_download", at=AT, card=card, policy=BASE) is None
    apply_engagement(card, "report_download", AT, BASE)  # 110
    done = on_engagement(Stage.LEAD, "report_download", at=AT, card=card, policy=BASE,
                         who="marketo")
    assert done is not None
    assert (done.to, done.who, done.why) == (Stage.MQL, "marketo",
                                             "MQL: score 110 ≥ 100 (after report_download)")
    # A trigger earlier in the lead's life counts too.
    assert on_engagement(Stage.LEAD, "webinar", at=AT, card=card_of(0), policy=BASE,
                         actions=["contact_form"]) is not None


@pytest.mark.parametrize("stage", [Stage.MQL, Stage.SQL, Stage.OPPORTUNITY, Stage.WON,
                                   Stage.LOST, Stage.UNQUALIFIED, Stage.GARBAGE])
def test_engagement_elsewhere_moves_nothing(stage):
    assert on_engagement(stage, "demo_request", at=AT, card=card_of(500), policy=BASE) is None


def test_unsubscribe_is_not_engagement():
    assert on_engagement(Stage.NURTURE, "unsubscribe", at=AT, card=card_of(500),
                         policy=BASE) is None


def test_reengage_from_is_a_policy_setting():
    p = load_policy_text("extends: base\nlifecycle: {reengage_from: [nurture]}\n", "p.yaml")
    assert on_engagement(Stage.UNREACHABLE, "report_download", at=AT, card=card_of(0),
                         policy=p) is None
    with pytest.raises(IllegalTransition, match=r"unreachable does not come back .*reengage_from"):
        move(Stage.UNREACHABLE, Stage.MQL, p)
    assert on_engagement(Stage.NURTURE, "report_download", at=AT, card=card_of(0),
                         policy=p) is not None


# --------------------------------------------------------------------------- decisions, feedback


def test_mql_check_reasons():
    assert mql_check(card_of(99), [], BASE) is None
    assert mql_check(card_of(100), [], BASE) == "score 100 ≥ 100"
    assert mql_check(card_of(120), ["demo_request"], BASE) == (
        "score 120 ≥ 100; trigger action demo_request"
    )


def test_unqualified_on_arrival_competitor_or_academic():
    assert BASE.lifecycle.unqualified_when == ["competitor", "academic"]
    academic = score_lead({"email": "a@u-tokyo.ac.jp"}, AT, BASE)
    assert unqualified_check(academic, BASE) == "academic: u-tokyo.ac.jp"
    assert unqualified_check(score_lead({"email": "a@gmail.com"}, AT, BASE), BASE) is None
    competitor = score_lead({"email": "a@acme.co.jp", "competitor": True}, AT, BASE)
    reason = unqualified_check(competitor, BASE)
    assert reason == "competitor: flagged on the lead"
    assert move(Stage.LEAD, Stage.UNQUALIFIED, who="system", why=reason).to is Stage.UNQUALIFIED


def test_every_lead_status_maps_to_a_stage():
    assert set(STATUSES) == {"qualified", "disqualified", "nurture", "recycled", "garbage",
                             "unreachable", "in_progress"}
    for status in STATUSES:
        stage_for_status(status)
    assert stage_for_status("disqualified") is Stage.UNQUALIFIED
    assert stage_for_status("in_progress") is None
    with pytest.raises(ValueError, match="unknown status"):
        stage_for_status("won")


def test_status_feedback_to_marketing():
    # 004: qualified, recycle, garbage, could not reach.
    assert move(Stage.MQL, Stage.SQL).feedback == "qualified"
    assert move(Stage.SQL, Stage.RECYCLED).feedback == "recycle"
    assert move(Stage.SQL, Stage.NURTURE).feedback == "recycle"
    assert move(Stage.MQL, Stage.GARBAGE).feedback == "garbage"
    assert move(Stage.MQL, Stage.UNREACHABLE).feedback == "unreachable"
    assert marketing_feedback(Stage.LEAD) is None


# --------------------------------------------------------------------------- policy section


@pytest.mark.parametrize(
    ("text", "path", "words"),
    [
        ("lifecycle: {nurture_revisit: 36h}\n", "lifecycle.nurture_revisit", "whole days"),
        ("lifecycle: {nurture_revisit: 2bd}\n", "lifecycle.nurture_revisit", "whole days"),
        ("lifecycle: {reengage_from: [lost]}\n", "lifecycle.reengage_from.0", "'nurture'"),
        ("lifecycle: {unqualified_when: [not a flag]}\n", "lifecycle.unqualified_when",
         "not a field or flag name"),
        ("lifecycle: {direct_sq: true}\n", "lifecycle.direct_sq", "unknown key"),
    ],
)
def test_bad_lifecycle_policy_names_the_key(text, path, words):
    with pytest.raises(PolicyError) as caught:
        load_policy_text(textwrap.dedent("extends: base\n" + text), "p.yaml")
    (problem,) = caught.value.problems
    assert problem.path == path
    assert words in problem.reason


# --------------------------------------------------------------------------- property


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(list(Stage)), min_size=1, max_size=15))
def test_random_walks_follow_the_table(targets):
    """transition() accepts exactly the table's moves; a final stage is never left."""
    current = Stage.LEAD
    for target in targets:
        try:
            done = move(current, target, DIRECT)
        except IllegalTransition:
            assert (current, target) not in ALLOWED
            continue
        assert (current, target) in ALLOWED
        assert current not in FINAL
        assert done.frm is current
        current = done.to
