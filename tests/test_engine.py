"""Clock rules, with worked examples from the seeds (000, 001)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from leadclock.engine import compile_rules, parse_event
from leadclock.engine.core import advance, apply
from leadclock.engine.replay import continues, run
from leadclock.policy import load_preset

B2B = compile_rules(load_preset("b2b-saas"))
SMB = compile_rules(load_preset("smb"))
JST = "+09:00"
_counter = iter(range(10**9))


def ev(kind: str, at: str, lead: str = "L-1", **fields):
    return parse_event({"id": f"e{next(_counter)}", "type": kind, "at": at + JST, "lead": lead, **fields})


def play(rules, *events, now: str | None = None):
    state, effects = None, []
    for event in events:
        state, caused = apply(state, event, rules)
        effects += caused
    if now is not None:
        effects += advance(state, datetime.fromisoformat(now + JST).astimezone(UTC), rules)
    return state, effects


def clock(state, stage, seq=0):
    return next(c for c in state.clocks if c.stage == stage and c.seq == seq)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text + JST).astimezone(UTC)


# Wed 2026-07-08 is a plain business day in Tokyo (001's scorecard week).
CREATED = ev("lead.created", "2026-07-08T10:00:00", source="demo_request")
ASSIGNED = ev("lead.assigned", "2026-07-08T10:00:20", rep="yamada")


def test_hot_first_contact_five_minutes_met():
    state, _ = play(B2B, CREATED, ASSIGNED,
                    ev("activity", "2026-07-08T10:05:20", rep="yamada", channel="call", outcome="no_answer"))
    first = clock(state, "first_contact")
    assert first.due_at == utc("2026-07-08T10:05:20")
    assert first.outcome == "met"  # at the deadline is still in time
    assert first.business_seconds == 300


def test_hot_first_contact_breached_after_five_minutes():
    state, effects = play(B2B, CREATED, ASSIGNED,
                          ev("activity", "2026-07-08T10:05:21", rep="yamada", channel="call", outcome="no_answer"))
    assert clock(state, "first_contact").outcome == "breached"
    breach = [e for e in effects if e.kind == "clock_breached"]
    assert [(e.stage, e.at) for e in breach] == [("first_contact", utc("2026-07-08T10:05:20"))]
    assert not state.within_sla()


def test_assignment_thirty_seconds():
    state, _ = play(B2B, CREATED, ASSIGNED)
    assignment = clock(state, "assignment")
    assert (assignment.outcome, assignment.business_seconds) == ("met", 20)


def test_inbound_reply_does_not_stop_first_contact():
    state, _ = play(B2B, CREATED, ASSIGNED,
                    ev("activity", "2026-07-08T10:01:00", rep="yamada", channel="email", outcome="replied"),
                    now="2026-07-08T10:06:00")
    assert clock(state, "first_contact").outcome == "breached"


def test_escalation_demo_not_contacted_in_15_minutes():
    _, effects = play(B2B, CREATED, ASSIGNED, now="2026-07-08T10:16:00")
    escalations = [(e.rule, e.recipients, e.at) for e in effects if e.kind == "escalation"]
    assert ("demo_pricing_not_contacted", ("manager",), utc("2026-07-08T10:15:20")) in escalations
    # F17: no activity 15 minutes after assignment of a hot lead asks for the next rep.
    assert any(e.kind == "reassignment_requested" and e.detail["exclude"] == ["yamada"] for e in effects)


def test_contact_in_time_cancels_escalation():
    _, effects = play(B2B, CREATED, ASSIGNED,
                      ev("activity", "2026-07-08T10:03:00", rep="yamada", channel="call", outcome="voicemail"),
                      now="2026-07-08T11:00:00")
    assert not [e for e in effects if e.kind == "escalation"]


def test_after_hours_lead_starts_at_next_opening():
    """F9: a Friday-evening lead counts from Monday 09:00 (001: 翌朝一番のコンタクト)."""
    state, _ = play(
        B2B,
        ev("lead.created", "2026-07-10T20:00:00", source="demo_request"),
        ev("lead.assigned", "2026-07-10T20:00:05", rep="yamada"),
        ev("activity", "2026-07-13T09:04:00", rep="yamada", channel="call", outcome="connected"),
    )
    assert state.arrived_after_hours
    first = clock(state, "first_contact")
    assert first.due_at == utc("2026-07-13T09:05:00")
    assert first.outcome == "met"
    assert first.business_seconds == 240


def test_qualification_within_24_hours():
    """001: hot leads are qualified or disqualified within 24 hours (1 business day) of first contact."""
    contact = ev("activity", "2026-07-08T10:03:00", rep="yamada", channel="call", outcome="connected")
    state, _ = play(B2B, CREATED, ASSIGNED, contact,
                    ev("lead.status", "2026-07-09T10:03:00", status="disqualified", reason="no budget"))
    assert clock(state, "qualification").outcome == "met"
    state, _ = play(B2B, CREATED, ASSIGNED, contact, now="2026-07-09T10:03:01")
    qualification = clock(state, "qualification")
    assert qualification.due_at == utc("2026-07-09T10:03:00")
    assert qualification.outcome == "breached"


def _attempts(times: list[str], outcome: str = "no_answer"):
    return [ev("activity", t, rep="yamada", channel="call", outcome=outcome) for t in times]


SIX = ["2026-07-08T10:02:00", "2026-07-08T10:12:00", "2026-07-08T12:12:00", "2026-07-08T16:12:00",
       "2026-07-09T10:00:00", "2026-07-10T09:30:00"]


def test_cadence_six_attempts_in_48_hours_met():
    state, effects = play(B2B, CREATED, ASSIGNED, *_attempts(SIX))
    cadence = clock(state, "cadence")
    assert (cadence.outcome, cadence.attempts, cadence.required) == ("met", 6, 6)
    assert any(e.kind == "cadence_exhausted" for e in effects)
    # 001: 6 attempts in 48 hours without a connection -> the manager tries next.
    assert any(e.kind == "manager_queue" and e.rule == "hot_cadence_exhausted" for e in effects)


def test_cadence_unfinished_is_a_breach():
    state, effects = play(B2B, CREATED, ASSIGNED, *_attempts(SIX[:5]), now="2026-07-10T10:00:21")
    cadence = clock(state, "cadence")
    assert cadence.due_at == utc("2026-07-10T10:00:20")  # 2 business days
    assert cadence.outcome == "breached"
    assert any(e.kind == "alert" and e.detail["reason"] == "cadence_unfinished" for e in effects)


def test_cadence_ends_when_the_lead_is_reached():
    state, _ = play(B2B, CREATED, ASSIGNED, *_attempts(SIX[:1]), *_attempts(SIX[1:2], "connected"))
    assert clock(state, "cadence").outcome == "met"
    assert "reached" in clock(state, "cadence").reason


SMB_FIELDS = {"budget": "3M JPY", "timeline": "Q3", "next_step": "demo on Friday"}


def _qualified_smb(*extra, now: str | None = None):
    return play(
        SMB,
        ev("lead.created", "2026-07-06T10:00:00", source="outbound_qualified"),
        ev("lead.assigned", "2026-07-06T10:00:01", rep="sdr-sato"),
        ev("activity", "2026-07-06T10:05:00", rep="sdr-sato", channel="call", outcome="connected"),
        ev("lead.status", "2026-07-06T14:00:00", status="qualified"),
        *extra,
        now=now,
    )


def test_smb_handoff_four_hours():
    """000: AE contact within 4 hours of the handoff, escalation to the sales manager at 4 hours."""
    handoff = ev("handoff.requested", "2026-07-06T15:00:00", **{"from": "sdr-sato", "to": "ae-ito", "fields": SMB_FIELDS})
    state, _ = _qualified_smb(handoff, ev("handoff.accepted", "2026-07-07T10:00:00", rep="ae-ito"))
    acceptance = clock(state, "acceptance")
    assert acceptance.due_at == utc("2026-07-07T10:00:00")  # 3 h on Monday + 1 h on Tuesday
    assert acceptance.outcome == "met"
    assert state.owner == "ae-ito"
    state, effects = _qualified_smb(handoff, now="2026-07-07T10:00:01")
    assert clock(state, "acceptance").outcome == "breached"
    escalation = [e for e in effects if e.kind == "escalation"]
    assert [(e.rule, e.recipients, e.at) for e in escalation] == [
        ("handoff_alert", ("rep",), utc("2026-07-06T15:00:00")),
        ("handoff_not_contacted", ("manager",), utc("2026-07-07T10:00:00")),
    ]


def test_first_ae_contact_counts_as_acceptance():
    handoff = ev("handoff.requested", "2026-07-06T15:00:00", **{"from": "sdr-sato", "to": "ae-ito", "fields": SMB_FIELDS})
    state, _ = _qualified_smb(handoff, ev("activity", "2026-07-06T16:00:00", rep="ae-ito", channel="call", outcome="connected"))
    assert clock(state, "acceptance").outcome == "met"


def test_handoff_without_required_fields_is_refused():
    """F14: no handoff without budget, timeline and next step; the SDR's clock keeps running."""
    incomplete = ev("handoff.requested", "2026-07-06T15:00:00", **{"from": "sdr-sato", "to": "ae-ito", "fields": {"budget": "3M JPY"}})
    state, effects = _qualified_smb(incomplete, now="2026-07-07T14:00:01")
    refused = [e for e in effects if e.kind == "handoff_refused"]
    assert [e.detail["missing"] for e in refused] == [["timeline", "next_step"]]
    handoff = clock(state, "handoff")
    assert handoff.stopped_at is None and handoff.outcome == "breached"  # 1bd after qualification
    assert not any(c.stage == "acceptance" for c in state.clocks)


def test_ae_rejection_returns_the_lead():
    handoff = ev("handoff.requested", "2026-07-06T15:00:00", **{"from": "sdr-sato", "to": "ae-ito", "fields": SMB_FIELDS})
    state, effects = _qualified_smb(handoff, ev("handoff.rejected", "2026-07-06T16:00:00", rep="ae-ito", reason="wrong_icp"))
    assert state.rejections == [{"at": utc("2026-07-06T16:00:00").isoformat(), "rep": "ae-ito", "reason": "wrong_icp"}]
    assert any(e.kind == "handoff_rejected" and e.detail["returned_to"] == "sdr-sato" for e in effects)
    assert state.status == "qualified"
    assert clock(state, "handoff", seq=1).stopped_at is None  # a fresh handoff clock for the SDR


def test_reassignment_gives_the_new_owner_a_fresh_clock():
    state, _ = play(B2B, CREATED, ASSIGNED, ev("lead.assigned", "2026-07-08T10:02:00", rep="suzuki"),
                          ev("activity", "2026-07-08T10:06:00", rep="suzuki", channel="call", outcome="connected"))
    assert [(c.owner, c.outcome) for c in state.clocks if c.stage == "first_contact"] == [
        ("yamada", "cancelled"), ("suzuki", "met"),
    ]
    assert state.owners == ["yamada", "suzuki"]


def test_running_clock_keeps_its_policy_version():
    state, _ = play(B2B, CREATED, ASSIGNED)
    other = compile_rules(load_preset("enterprise"))
    state, _ = apply(state, ev("activity", "2026-07-08T10:03:00", rep="yamada", channel="call", outcome="connected"), other)
    assert clock(state, "first_contact").policy_version == B2B.version
    assert clock(state, "qualification").policy_version == other.version


def test_warning_before_deadline():
    """F15: hot tiers warn when half the target is used (base preset: at_fraction 0.5)."""
    rules = compile_rules(load_preset("lead-types"))
    _, effects = play(rules, ev("lead.created", "2026-07-08T10:00:00", source="chat", tier="hot"),
                      ev("lead.assigned", "2026-07-08T10:00:00", rep="yamada"), now="2026-07-08T10:02:00")
    warnings = [e for e in effects if e.kind == "clock_warning"]
    assert [(e.stage, e.at) for e in warnings] == [("first_contact", utc("2026-07-08T10:01:30"))]


def test_maximum_acceptable_is_tracked():
    rules = compile_rules(load_preset("lead-types"))
    state, effects = play(rules, ev("lead.created", "2026-07-08T10:00:00", source="demo_request"),
                          ev("lead.assigned", "2026-07-08T10:00:00", rep="yamada"), now="2026-07-08T10:10:01")
    first = clock(state, "first_contact")
    assert first.max_at == utc("2026-07-08T10:10:00")
    assert first.exceeded_max and first.outcome == "breached"
    assert any(e.kind == "clock_max_exceeded" for e in effects)


# --------------------------------------------------------------------------- shuffled arrival

REPS = ["a", "b", "c"]


@st.composite
def histories(draw):
    events = []
    n = 0
    base = datetime(2026, 7, 6, 0, 0, tzinfo=UTC)
    for lead in range(draw(st.integers(1, 4))):
        lid = f"L{lead}"
        when = [base + timedelta(minutes=draw(st.integers(0, 3000)))]

        def add(kind, lid=lid, when=when, **fields):
            nonlocal n
            n += 1
            events.append({"id": f"{lid}-{n}", "type": kind, "at": when[0].isoformat(), "lead": lid, **fields})

        add("lead.created", source=draw(st.sampled_from(["demo_request", "webinar", "content_download", "mystery"])))
        for _ in range(draw(st.integers(0, 8))):
            when[0] += timedelta(minutes=draw(st.integers(0, 600)))
            kind = draw(st.sampled_from(["assign", "call", "call", "status", "handoff", "accept", "reject"]))
            if kind == "assign":
                add("lead.assigned", rep=draw(st.sampled_from(REPS)))
            elif kind == "call":
                add("activity", rep=draw(st.sampled_from(REPS)), channel="call",
                    outcome=draw(st.sampled_from(["no_answer", "connected", "replied"])))
            elif kind == "status":
                status = draw(st.sampled_from(["qualified", "disqualified", "nurture"]))
                add("lead.status", status=status, reason="fit")
            elif kind == "handoff":
                fields = {f: "x" for f in draw(st.lists(st.sampled_from(["budget", "authority", "need", "timeline", "next_step"]), unique=True))}
                add("handoff.requested", **{"from": "a", "to": "b", "fields": fields})
            elif kind == "accept":
                add("handoff.accepted", rep="b")
            else:
                add("handoff.rejected", rep="b", reason="wrong_icp")
    return events


def _fingerprint(result):
    return (
        sorted((c.key, c.owner, c.started_at, c.due_at, c.stopped_at, c.outcome, c.attempts)
               for lead in result.leads.values() for c in lead.clocks),
        sorted((e.dedupe_key, e.recipients) for e in result.effects),
    )


@settings(max_examples=60, deadline=None)
@given(histories(), st.randoms(use_true_random=False))
def test_shuffled_arrival_gives_the_same_result(events, rnd):
    parsed = [parse_event(e) for e in events]
    in_order = run(parsed, B2B)
    shuffled = parsed[:]
    rnd.shuffle(shuffled)
    duplicated = shuffled + shuffled[: len(shuffled) // 2]  # re-delivered events change nothing
    again = run(duplicated, B2B)
    assert _fingerprint(again) == _fingerprint(in_order)
    assert again.duplicates == len(shuffled) // 2


def test_as_of_leaves_running_clocks_open():
    events = [CREATED, ASSIGNED, ev("activity", "2026-07-08T10:30:00", rep="yamada", channel="call", outcome="connected")]
    early = run(events, B2B, as_of=utc("2026-07-08T10:04:00"))
    first = clock(early.leads["L-1"], "first_contact")
    assert (first.outcome, first.stopped_at) == ("open", None)
    late = run(events, B2B)
    assert clock(late.leads["L-1"], "first_contact").outcome == "breached"


def test_unknown_lead_is_reported_with_its_line():
    stray = parse_event({"id": "x", "type": "lead.assigned", "at": "2026-07-08T10:00:00+09:00", "lead": "L-404", "rep": "a"})
    result = run([(1, CREATED), (2, stray)], B2B)
    assert [(e.line, e.field) for e in result.errors] == [(2, "lead")]
    assert "L-404" not in result.leads


def test_unknown_reps_are_reported_once():
    events = [CREATED, ev("lead.assigned", "2026-07-08T10:00:01", rep="contractor-01"),
              ev("activity", "2026-07-08T10:01:00", rep="contractor-01", channel="call", outcome="connected")]
    result = run(events, B2B, roster={"yamada"})
    assert result.unknown_reps == ["contractor-01"]
    assert sum(e.kind == "unknown_rep" for e in result.effects) == 1


def test_random_order_with_ties_is_deterministic():
    same_time = [ev("lead.created", "2026-07-08T10:00:00", lead=f"T{i}", source="webinar") for i in range(5)]
    a = run(same_time, B2B)
    shuffled = same_time[:]
    random.Random(3).shuffle(shuffled)
    assert _fingerprint(run(shuffled, B2B)) == _fingerprint(a)


def test_second_handoff_supersedes_the_first_acceptance_clock():
    first = ev("handoff.requested", "2026-07-06T15:00:00", **{"from": "sdr-sato", "to": "ae-ito", "fields": SMB_FIELDS})
    second = ev("handoff.requested", "2026-07-06T16:00:00", **{"from": "sdr-sato", "to": "ae-kato", "fields": SMB_FIELDS})
    state, _ = _qualified_smb(first, second, ev("handoff.accepted", "2026-07-06T17:00:00", rep="ae-kato"), now="2026-07-08T10:00:00")
    acceptance = [(c.owner, c.outcome, c.reason) for c in state.clocks if c.stage == "acceptance"]
    assert acceptance == [
        ("ae-ito", "cancelled", "superseded by a handoff to ae-kato"),
        ("ae-kato", "met", "accepted by ae-kato"),
    ]


def test_opportunity_without_a_rep_keeps_the_owner():
    handoff = ev("handoff.requested", "2026-07-06T15:00:00", **{"from": "sdr-sato", "fields": SMB_FIELDS})
    state, _ = _qualified_smb(handoff, ev("opportunity.created", "2026-07-06T16:00:00", amount=1_000_000))
    assert state.owner == "sdr-sato" and state.status == "opportunity"
    assert clock(state, "acceptance").outcome == "met"


def test_engine_read_attributes_are_typed():
    import pytest

    from leadclock.engine.events import EventError

    with pytest.raises(EventError, match="tier: must be a string"):
        ev("lead.updated", "2026-07-08T10:00:00", tier=["hot"])
    with pytest.raises(EventError, match="value: number out of range"):
        ev("lead.created", "2026-07-08T10:00:00", source="webinar", value=10**400)


def test_score_and_tier_at_creation_keep_their_reasons():
    """003: HIGH +50 per ICP attribute; the score decides the tier when stricter than the source's."""
    state, _ = play(B2B, ev("lead.created", "2026-07-08T10:00:00", source="webinar", industry="SaaS",
                            employees=2000, title="VP Sales", email="ken@example.co.jp"))
    card = state.attributes["score_card"]
    assert card["score"] == 150
    assert [h["reason"] for h in card["history"]] == [
        "+50 industry HIGH: SaaS", "+50 employees HIGH: 2000 (>=1000)", "+50 title HIGH: VP Sales (VP)"]
    assert state.tier == "hot"  # a webinar is warm by source; a score of 150 is hot
    assert state.attributes["stage"] == "mql"  # 003: score ≥ 100
    plain, _ = play(B2B, ev("lead.created", "2026-07-08T10:00:00", source="webinar", email="ken@gmail.com"))
    assert plain.tier == "warm" and plain.attributes["score"] == -20  # free mail
    assert plain.attributes["score_card"]["history"][0]["reason"] == "-20 free_mail: gmail.com"


def test_engagement_points_and_re_evaluation_of_nurture():
    created = ev("lead.created", "2026-07-08T10:00:00", source="webinar")
    state, effects = play(
        B2B, created, ev("lead.assigned", "2026-07-08T10:00:10", rep="yamada"),
        ev("activity", "2026-07-08T10:05:00", rep="yamada", channel="call", outcome="connected"),
        ev("lead.status", "2026-07-08T11:00:00", status="nurture", reason="not_ready"),
        ev("engagement", "2026-07-20T11:00:00", action="report_download"),
    )
    assert state.attributes["score"] == 20
    assert [t["to"] for t in state.attributes["transitions"]] == ["mql", "nurture", "lead"]
    nurture = state.attributes["transitions"][1]
    assert (nurture["who"], nurture["why"]) == ("yamada", "not_ready") and nurture["revisit"]
    assert any(e.kind == "alert" and e.detail["reason"] == "re_evaluated" for e in effects)


def test_illegal_lifecycle_move_is_refused_and_reported():
    state, effects = play(B2B, CREATED, ASSIGNED,
                          ev("deal.closed", "2026-07-08T11:00:00", won=True, amount=1_000_000))
    refused = [e for e in effects if e.kind == "alert" and e.detail.get("reason") == "transition_refused"]
    assert len(refused) == 1 and "won or lost only from opportunity" in refused[0].detail["why"]
    assert state.attributes["stage"] == "mql"  # unchanged; the clocks still follow the CRM


# --------------------------------------------------------------------------- continuing a replay


@settings(max_examples=80, deadline=None)
@given(histories(), st.integers(0, 4000), st.sampled_from(REPS), st.booleans())
def test_continuing_with_later_events_equals_replaying_everything(events, minutes, rep, roster):
    """The live path replays a lead, routes it, then continues the same state with the
    assignment instead of replaying the log again (`run(start=...)`); when `continues` says so,
    the states and the union of effects are exactly those of one replay of everything."""
    parsed = [parse_event(e) for e in events]
    now = datetime(2026, 7, 6, tzinfo=UTC) + timedelta(minutes=minutes)
    known = {"a", "b"} if roster else None
    first = run(parsed, B2B, as_of=now, roster=known)
    later = [parse_event({"id": f"zz-{lead}", "type": "lead.assigned", "at": now.isoformat(), "lead": lead,
                          "rep": rep}) for lead in sorted(first.leads)]
    assume(later and continues(parsed, later, now))
    whole = run(parsed + later, B2B, as_of=now, roster=known)
    second = run(later, B2B, as_of=now, roster=known, start=first.leads, reported=first.unknown_reps)
    combined = dedupe(Outcome(first.leads, first.effects + second.effects))
    assert _fingerprint(combined) == _fingerprint(dedupe(whole))
    assert set(first.leads) == set(whole.leads)
    for lead, state in whole.leads.items():
        assert first.leads[lead] == state


def test_continues_refuses_an_event_that_sorts_earlier():
    at = utc("2026-07-08T10:00:00")
    created = ev("lead.created", "2026-07-08T10:00:00", source="webinar")
    later = parse_event({"id": "a", "type": "lead.assigned", "at": at.isoformat(), "lead": "L-1", "rep": "a"})
    assert continues([created], [later], at)  # same instant, but lead.assigned ranks after lead.created
    early = parse_event({"id": "b", "type": "lead.assigned", "at": "2026-07-08T09:00:00+00:00", "lead": "L-1", "rep": "a"})
    assert not continues([created], [early], at)
    assert not continues([created], [later], utc("2026-07-08T09:59:59"))  # not happened yet


class Outcome:  # what _fingerprint reads of a ReplayResult
    def __init__(self, leads, effects):
        self.leads = leads
        self.effects = effects


def dedupe(result):
    # The store keeps one effect per dedupe key; so does the union of the two runs' effects.
    return Outcome(result.leads, list({e.dedupe_key: e for e in result.effects}.values()))
